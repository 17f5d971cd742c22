"""The HTTP core: the one place that sends requests.

A call goes down through small layers, each with one job (the shape of httpx's own
`send` -> `_send_handling_auth` -> `_send_single_request`):

    create / delete / patch / get / get_list    what a caller asks (create: recovery)
    _send_with_retries                          bounded retries; a record of what may have
                                                committed
    _send_authorised                            the bearer token, one renewal on a 401
    _send_single                                pacing (limiter.py: found from the server's
                                                429s), the concurrency bound, logging

Errors are made in failures.py, pagination lives in pages.py, tokens in auth.py, pacing in
limiter.py. Writes through a read-only core are refused by its transport, the one guard.

What is on the wire (paths, bodies, headers) is decided by api.py; this module only knows
HTTP. Credentials never reach a message or a log line: Authorization is redacted in debug
logs, request bodies are never logged, and error text is scrubbed of every secret known.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypedDict, TypeVar

import httpx

from dropstream_sync import __version__
from dropstream_sync.client import api
from dropstream_sync.client.auth import TokenSource
from dropstream_sync.client.failures import (
    READ_METHODS,
    AnswerTooLarge,
    ErrorMap,
    Request,
    Scrubber,
    not_json,
    redirect_may_have_committed,
    unreachable_reason,
)
from dropstream_sync.client.limiter import Clock, Pacer, Timing
from dropstream_sync.client.pages import Pager, first_leaf, gather_all
from dropstream_sync.client.settings import ClientSettings, Limits
from dropstream_sync.errors import ApiError

__all__ = [
    "HttpCore",
    "ReadOnlyTransport",
    "ReadOnlyViolation",
    "Wiring",
    "first_leaf",
    "gather_all",
]

log = logging.getLogger("dropstream_sync.client")

T = TypeVar("T")

# Failures where the request certainly never reached the server: safe to send again.
# A \\uD800-\\uDFFF escape: JSON's syntax allows one alone, but it is no character, and a
# name holding it cannot be written out (UTF-8 refuses it) by any output of the tool.
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")

_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Transport failures worth another try; others (a malformed URL, our own protocol misuse)
# would fail the same way again.
_RETRYABLE: Final = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


class ReadOnlyViolation(RuntimeError):
    """A write was attempted through a read-only client: a bug in the caller, never a user error."""


class ReadOnlyTransport(httpx.AsyncBaseTransport):
    """Passes reads (and the token request) to `inner`; refuses anything else before it is sent.

    This is what makes `plan`, `show` and `import` unable to write: the refusal sits in the
    transport, below every method of the client.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, token_path: str) -> None:
        self._inner = inner
        self._token_path = token_path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        allowed = request.method in READ_METHODS or (
            request.method == "POST" and request.url.path == self._token_path
        )
        if not allowed:
            raise ReadOnlyViolation(f"read-only client refused {request.method} {request.url.path}")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True, slots=True)
class Exchange:
    """What one logical call came to after its retries.

    `response` is the final answer, or None when a recovery read found what a lost attempt
    did; `may_have_committed` says an attempt whose answer was lost may have taken effect.
    """

    response: httpx.Response | None
    may_have_committed: bool = False


@dataclass(frozen=True, slots=True)
class _Tried:
    """One attempt that did not end the call: what failed, and what that means."""

    cause: httpx.Response | httpx.TransportError
    uncertain: bool = False  # it may have taken effect
    wait: float | None = None  # what the server asked us to wait
    unreachable: bool = False  # no server there; waiting will not help
    retryable: bool = True


class _Budget:
    """The attempts and time one logical call may spend, and the waits between attempts."""

    def __init__(self, limits: Limits, clock: Clock, rng: random.Random) -> None:
        self._limits = limits
        self._clock = clock
        self._rng = rng
        self._started = clock()
        self.attempts = 0
        self._unreachable = 0

    def delay(self, tried: _Tried) -> float:
        self.attempts += 1
        self._unreachable += tried.unreachable
        base = self._limits.backoff_base_seconds
        if tried.wait is not None:
            return tried.wait + self._rng.uniform(0, base)
        # An unreachable server gets one quick second try (a restart, a flapping resolver).
        doubling = 1 if tried.unreachable else self.attempts
        cap = min(self._limits.backoff_max_seconds, base * 2 ** (doubling - 1))
        return self._rng.uniform(0, cap)

    def allows(self, delay: float) -> bool:
        return (
            self.attempts < self._limits.max_attempts
            and self._unreachable < 2
            and self._clock() + delay <= self._started + self._limits.max_retry_seconds
        )

    def outlasts(self, wait: float) -> bool:
        """Whether a wait alone goes past the time left."""
        return self._clock() + wait > self._started + self._limits.max_retry_seconds

    def note(self) -> str:
        spent = self._clock() - self._started
        return f"gave up after {self.attempts} attempt(s) in {spent:.1f} s"


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        if name.lower() in ("authorization", "proxy-authorization"):
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} ***".strip()
        elif name.lower() in ("cookie", "set-cookie"):
            out[name] = "***"
        else:
            out[name] = value
    return out


class Wiring(TypedDict, total=False):
    """What a client is built on besides its settings (each has a default)."""

    transport: httpx.AsyncBaseTransport | None
    timing: Timing | None
    rng: random.Random | None


class HttpCore:
    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timing: Timing | None = None,
        rng: random.Random | None = None,
        read_only: bool = True,
    ) -> None:
        self.api_url = settings.api_url.rstrip("/")
        self.read_only = read_only
        self._limits = limits = settings.limits
        self._timing = timing or Timing()
        self._rng = rng or random.Random()
        inner = transport if transport is not None else httpx.AsyncHTTPTransport()
        if read_only:
            token_path = httpx.URL(self.api_url).path.rstrip("/") + api.TOKEN_PATH
            inner = ReadOnlyTransport(inner, token_path)
        self._http = httpx.AsyncClient(
            base_url=self.api_url + "/",
            transport=inner,
            timeout=httpx.Timeout(limits.timeout_seconds, connect=limits.connect_timeout_seconds),
            # A redirect is not part of the API; following one could carry the token elsewhere.
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"dropstream-sync/{__version__}"},
        )
        self._pacer = Pacer(limits.rate_limit_rps, limits.burst, limits.learn_rate, self._timing)
        log.debug(
            "pacing: %s",
            "off"
            if limits.rate_limit_rps is None
            else f"at most {limits.rate_limit_rps:g} requests/s, burst {limits.burst}",
        )
        self._slots = asyncio.Semaphore(limits.max_concurrency)
        scrub = Scrubber()
        self._tokens = TokenSource(settings.credentials, self._timing, scrub, self._fetch_token)
        self.errors = ErrorMap(self.api_url, settings.credentials, scrub)
        self._pager = Pager(
            self.api_url, self.get, self._items, self._malformed_item, limits.page_concurrency
        )
        self.requests_sent = 0
        # The server's clock as of its latest answer (None until one carried a Date).
        self.server_time: datetime | None = None

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"<HttpCore {self.api_url} {mode}>"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- what callers ask -----------------------------------------------------------------

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        request = Request("GET", path, params=params)
        return self._checked(request, await self._send_with_retries(request))

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json("GET", path, await self.get(path, params))

    async def get_list(
        self, path: str, params: Mapping[str, Any] | None, parse: Callable[[Mapping[str, Any]], T]
    ) -> list[T]:
        """Every item of a list endpoint, each as `parse` makes it (see pages.py)."""
        items = await self._pager.read_all(path, params, parse)
        assert items is not None
        return items

    async def get_list_within(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        parse: Callable[[Mapping[str, Any]], T],
        *,
        max_pages: int,
    ) -> list[T] | None:
        """Every item, if the list takes at most `max_pages` pages; else None (having read
        no more than the first page, when the server tells the total)."""
        return await self._pager.read_all(path, params, parse, max_pages=max_pages)

    async def patch(self, path: str, body: Mapping[str, Any]) -> None:
        request = Request("PATCH", path, json=body)
        self._checked(request, await self._send_with_retries(request))

    async def delete(self, path: str) -> bool:
        """True if this call removed it; False if a retry found it already gone (404/409
        after an attempt whose outcome was unknown: that attempt did the work)."""
        request = Request("DELETE", path)
        exchange = await self._send_with_retries(request)
        response = exchange.response
        if (
            exchange.may_have_committed
            and response is not None
            and (response.status_code in api.DELETE_ALREADY_DONE_STATUSES)
        ):
            log.info("DELETE %s: already done by an earlier attempt", path)
            return False
        self._checked(request, exchange)
        return True

    async def create(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        parse: Callable[[Any], T],
        find: Callable[[], Awaitable[T | None]],
        on_existing: Callable[[], None] | None = None,
        on_found: Callable[[], None] | None = None,
    ) -> T:
        """POST, never blindly twice: after an unknown outcome `find` reads whether the first
        POST took effect; if it did, its result is returned and nothing is posted again.
        A 409 is answered the same way: when `find` shows the object that conflicts is the
        one asked for (a concurrent apply, or an earlier run), that object is the result,
        and `on_existing` is told, unless an attempt of this call may have made it.
        `on_found` is told when the result is an object a read found after an attempt
        whose answer was lost: this call made it, or a concurrent one did (the API has no
        idempotency key to tell), so a record must not count it as surely this call's."""
        request = Request("POST", path, json=body)
        found: list[T] = []

        async def took_effect() -> bool:
            existing = await find()
            if existing is not None:
                found.append(existing)
            return existing is not None

        def found_after_lost_answer() -> T:
            # This call made it, or a concurrent one did: the caller is told (on_found).
            if on_found is not None:
                on_found()
            return found[0]

        exchange = await self._send_with_retries(request, recover=took_effect)
        if exchange.response is None:
            log.info("POST %s: the answer was lost, but a read found what it created", path)
            return found_after_lost_answer()
        if exchange.response.status_code == 409 and await took_effect():
            log.info("POST %s: 409, and what conflicts is what was asked for", path)
            if exchange.may_have_committed:
                return found_after_lost_answer()
            if on_existing is not None:
                on_existing()
            return found[0]
        if redirect_may_have_committed(request, exchange.response.status_code):
            # A redirect is never followed, and may come after the POST was done (a 303
            # is how a server says it was): the read tells, as after a lost answer.
            if await self._recovered(request, took_effect):
                return found_after_lost_answer()
            # The read showed nothing was made: a plain failure.
            raise self.errors.for_response(request, exchange.response)
        response = self._checked(request, exchange)
        try:
            return parse(self._json("POST", path, response))
        except (ApiError, KeyError, TypeError, ValueError) as exc:
            garbled = self.errors.malformed("POST", path, response.status_code, exc)
        # A success status says the POST took effect, but its body does not say what it
        # made: a read finds it (and its real id), as after a lost answer. Never a plain
        # failure: the object exists, and "failed" would tell the user nothing was done.
        try:
            if await took_effect():
                log.info("POST %s: unreadable answer; a read found what it created", path)
                return found[0]
            outcome = "a read did not find what it created"
        except ApiError as exc:
            outcome = f"the read that would find what it created failed too ({exc})"
        raise ApiError(
            f"{garbled.api_message}: the server answered {response.status_code} (done), but "
            f"{outcome}; it may have taken effect: run again to converge",
            method=request.method,
            path=request.shown,
            status=response.status_code,
            may_have_committed=True,
        )

    # -- one logical call, with its retries -----------------------------------------------

    async def _send_with_retries(
        self, request: Request, recover: Callable[[], Awaitable[bool]] | None = None
    ) -> Exchange:
        """Send until an answer is final or the budget is spent. After an attempt that may
        have taken effect, `recover` (if given) reads whether it did before sending again."""
        budget = _Budget(self._limits, self._timing.clock, self._rng)
        uncertain = False
        while True:
            try:
                tried = await self._attempt(request)
            except ApiError as exc:
                if not (uncertain and request.writes) or exc.may_have_committed:
                    raise
                # Not an answer to this call (the token could not be renewed): whatever an
                # earlier attempt may have done still stands. A copy: one failed renewal is
                # raised to every call waiting on it.
                lost = copy.copy(exc)
                lost.may_have_committed = True
                raise lost from None
            if isinstance(tried, httpx.Response):
                return Exchange(tried, uncertain)
            uncertain = uncertain or tried.uncertain
            delay = budget.delay(tried)
            if not tried.retryable or not budget.allows(delay):
                note = budget.note() if tried.retryable else ""
                asked = tried.wait is not None and budget.outlasts(tried.wait)
                if asked:
                    # Not our pace: the server asked for a wait past the retry budget.
                    note = (
                        f"the server asked to wait {tried.wait:.0f} s (Retry-After), longer "
                        f"than this client retries for ({self._limits.max_retry_seconds:g} s); "
                        "try again later"
                    )
                raise self.errors.failure(
                    request,
                    tried.cause,
                    note=note,
                    may_have_committed=uncertain and request.writes,
                    rate_hint=not asked,
                )
            failed = self.errors.failure(request, tried.cause)
            log.info(
                "%s %s: %s%s; retrying in %.2f s (attempt %d of %d)",
                request.method,
                request.path,
                failed.api_message,
                failed.what_to_try,
                delay,
                budget.attempts + 1,
                self._limits.max_attempts,
            )
            await self._timing.sleep(delay)
            if tried.uncertain and recover is not None:
                if await self._recovered(request, recover):
                    return Exchange(None, may_have_committed=True)
                uncertain = False  # the read showed the lost attempt did nothing

    async def _attempt(self, request: Request) -> httpx.Response | _Tried:
        """One attempt: a final answer, or what failed and whether it may have committed."""
        try:
            response = await self._send_authorised(request)
        except AnswerTooLarge as exc:
            # The server answered (a write may have been done); the same again is no use.
            return _Tried(exc, uncertain=True, retryable=False)
        except _RETRYABLE as exc:
            unreachable = unreachable_reason(exc) is not None
            return _Tried(exc, uncertain=not isinstance(exc, _NOT_SENT), unreachable=unreachable)
        except httpx.TransportError as exc:
            return _Tried(exc, retryable=False)
        status = response.status_code
        if not api.retryable_status(status):
            return response
        if status != api.RATE_LIMITED_STATUS:
            return _Tried(response, uncertain=True)
        # Waited by this request alone: the pacer has already slowed every other one down.
        wait = api.retry_after_seconds(response.headers.get(api.RETRY_AFTER_HEADER))
        return _Tried(response, uncertain=not api.POST_429_IS_UNCOMMITTED, wait=wait)

    async def _recovered(
        self, request: Request, took_effect: Callable[[], Awaitable[bool]]
    ) -> bool:
        try:
            if await took_effect():
                return True
        except ApiError as exc:
            raise ApiError(
                "the answer was lost, and the read that would tell whether it took effect "
                f"failed too ({exc}); run again to converge",
                method=request.method,
                path=request.shown,
                may_have_committed=True,
            ) from None
        log.info(
            "%s %s: the lost attempt created nothing; sending it again",
            request.method,
            request.path,
        )
        return False

    # -- authentication -------------------------------------------------------------------

    async def _send_authorised(self, request: Request) -> httpx.Response:
        """With the login for the token request, else the bearer token, renewed once when
        the API refuses it."""
        if request.basic:
            return await self._send_single(request, self._tokens.basic_header())
        token = await self._tokens.bearer()
        response = await self._send_single(request, f"Bearer {token}")
        if response.status_code != api.TOKEN_REJECTED_STATUS or not self._tokens.renewable:
            return response
        log.debug(
            "%s %s -> 401: getting a new token and trying once more", request.method, request.path
        )
        await self._tokens.forget(token)
        return await self._send_single(request, f"Bearer {await self._tokens.bearer()}")

    async def _fetch_token(self) -> tuple[str, float]:
        request = Request("POST", api.TOKEN_PATH, json=api.TOKEN_REQUEST_BODY, basic=True)
        response = self._checked(request, await self._send_with_retries(request))
        try:
            return api.parse_token(response.json())
        except ValueError as exc:
            raise self.errors.malformed("POST", request.path, response.status_code, exc) from None

    # -- one request on the wire ----------------------------------------------------------

    async def _send_single(self, request: Request, authorization: str) -> httpx.Response:
        path = request.path
        outgoing = self._http.build_request(
            request.method,
            path if path.startswith(("http://", "https://")) else path.lstrip("/"),
            params=dict(request.params) if request.params else None,
            json=dict(request.json) if request.json is not None else None,
            headers={"Authorization": authorization},
        )
        async with self._slots:
            # Paced inside the slot: a request sends when its token is due, not when a
            # slot frees, so tokens saved while waiting for a slot cannot leave as a burst.
            sent_in = await self._pacer.wait()
            began = time.perf_counter()
            self.requests_sent += 1
            try:
                # httpx's read timeout is per chunk: a server trickling a byte now and then
                # would hold the call forever. The whole answer gets the same bound.
                async with asyncio.timeout(self._limits.timeout_seconds):
                    response = await self._read(await self._http.send(outgoing, stream=True))
            except TimeoutError:
                log.debug("%s %s -> no whole answer in time", request.method, outgoing.url)
                raise httpx.ReadTimeout(
                    f"no whole answer within {self._limits.timeout_seconds:g} s", request=outgoing
                ) from None
            except httpx.TransportError as exc:
                log.debug(
                    "%s %s -> %s after %.1f ms",
                    request.method,
                    outgoing.url,
                    type(exc).__name__,
                    (time.perf_counter() - began) * 1000,
                )
                raise
        if response.status_code == 429:
            self._pacer.refused(sent_in)
        else:
            self._pacer.accepted()
            self._pacer.learn(api.rate_limit_hint(response.headers))
        # `Date` is the server's clock, which its timestamps are on.
        self.server_time = api.http_date(response.headers.get(api.DATE_HEADER)) or self.server_time
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %d (%.1f ms) request headers: %s",
                request.method,
                outgoing.url,
                response.status_code,
                (time.perf_counter() - began) * 1000,
                redact_headers(outgoing.headers.items()),
            )
        return response

    async def _read(self, streamed: httpx.Response) -> httpx.Response:
        """`streamed` with its body read, up to `Limits.max_answer_bytes` (decoded): a
        server answering without end would otherwise fill the memory before any check."""
        limit = self._limits.max_answer_bytes
        if _bounded_by_length(streamed.headers, limit):
            # The usual answer: its Content-Length (which httpx holds the body to) is within
            # the limit and nothing decompresses it, so it is read as httpx reads one.
            # Rebuilding the answer as below costs 16 µs a call: 2 ms of a 10,000-store read.
            try:
                await streamed.aread()
            finally:
                await streamed.aclose()
            # httpx's stream wrapper points back at its response, a cycle only the
            # collector frees, which keeps the body until a collection (none runs while a
            # large read pauses it): a plain stream frees it with the response.
            streamed.stream = httpx.ByteStream(streamed.content)
            return streamed
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in streamed.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise AnswerTooLarge(
                        f"an answer over {limit:,} bytes, not read further",
                        request=streamed.request,
                    )
                chunks.append(chunk)
        finally:
            await streamed.aclose()
            # httpx's stream wrapper points back at its response, a cycle only the
            # collector frees, which keeps the response until a collection (none runs
            # while a large read pauses it): cut here.
            streamed.stream = httpx.ByteStream(b"")
        # A plain response on the decoded body.
        return httpx.Response(
            streamed.status_code,
            headers=[
                (k, v)
                for k, v in streamed.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length")
            ],
            content=b"".join(chunks),
            request=streamed.request,
            extensions=streamed.extensions,
        )

    # -- answers --------------------------------------------------------------------------

    def _checked(self, request: Request, exchange: Exchange) -> httpx.Response:
        response = exchange.response
        assert response is not None
        if response.is_success:
            return response
        raise self.errors.for_response(
            request,
            response,
            may_have_committed=(exchange.may_have_committed and request.writes)
            or redirect_may_have_committed(request, response.status_code),
        )

    def _json(self, method: str, path: str, response: httpx.Response) -> Any:
        try:
            data = response.json()
        except ValueError:
            # What came instead says more than the decoder's "Expecting value: line 1
            # column 1": a proxy's HTML page, a login form, nothing at all.
            raise self.errors.malformed(
                method, path, response.status_code, ValueError(not_json(response))
            ) from None
        # Refused here, once, rather than as a traceback of whichever output writes the
        # name first (plan --format json, report, --out). An emoji's escaped surrogate pair
        # is text: the exact check runs only when an escape is there at all. An answer with
        # no backslash, the usual one, is told by one memchr, not a scan of the pattern
        # (about fifty times the cost: 2 ms of a 10,000-store read).
        content = response.content
        if b"\\" in content and _SURROGATE_ESCAPE.search(content):
            try:
                json.dumps(data, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = exc.object[max(0, exc.start - 20) : exc.end + 20]
                raise self.errors.malformed(
                    method,
                    path,
                    response.status_code,
                    ValueError(
                        "a text holds a lone UTF-16 surrogate, which is no character: " + ascii(bad)
                    ),
                ) from None
        return data

    def _items(self, path: str, response: httpx.Response) -> list[Mapping[str, Any]]:
        data = self._json("GET", path, response)
        # A JSON list of objects decodes to a list of dicts: checked in one pass of C.
        if type(data) is list and (not data or set(map(type, data)) == {dict}):
            return data
        if not isinstance(data, list) or not all(isinstance(i, Mapping) for i in data):
            raise self.errors.malformed(
                "GET",
                path,
                response.status_code,
                ValueError("a list endpoint answered something else"),
            )
        return list(data)

    def _malformed_item(self, path: str, exc: Exception) -> ApiError:
        return self.errors.malformed("GET", path, None, exc)


def _bounded_by_length(headers: httpx.Headers, limit: int) -> bool:
    """Whether an answer's body is known to be at most `limit` bytes once read: a
    Content-Length within it and no Content-Encoding (which could expand it)."""
    length = headers.get("content-length")
    return (
        length is not None
        and length.isdigit()
        and int(length) <= limit
        and "content-encoding" not in headers
    )
