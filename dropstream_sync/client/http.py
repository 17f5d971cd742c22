"""The HTTP core: the one place that sends requests.

It owns authentication (Basic -> bearer at /auth/token, one renewal on a 401), pacing
(a token bucket and a concurrency bound shared by every call), retries (exponential
back-off with full jitter, `Retry-After` honoured, bounded attempts and total time),
recovery of POSTs whose outcome is unknown (read first, post again only if nothing was
created), pagination, and the mapping of error answers to the package's exception tree.

What is on the wire (paths, bodies, headers) is decided by api.py; this module only knows
HTTP. Credentials never reach a message or a log line: Authorization is redacted in debug
logs, request bodies are never logged, and error text is scrubbed of every secret known.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar, cast

import httpx

from dropstream_sync import __version__
from dropstream_sync.client import api
from dropstream_sync.client.limiter import Timing, TokenBucket
from dropstream_sync.client.settings import (
    CREDENTIALS_HINT,
    ENV_TOKEN,
    BasicCredentials,
    ClientSettings,
    Secret,
    TokenCredentials,
)
from dropstream_sync.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    RateLimitedError,
    TransportError,
)

log = logging.getLogger("dropstream_sync.client")

T = TypeVar("T")

READ_METHODS: Final = frozenset({"GET", "HEAD"})
# Failures where the request certainly never reached the server: safe to send again.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Transport failures worth another try; others (a malformed URL, our own protocol misuse)
# would fail the same way again.
_RETRYABLE: Final = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
_MAX_PAGES: Final = 1_000_000


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
            raise ReadOnlyViolation(
                f"read-only client refused {request.method} {request.url.path}"
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one logical call came to after its retries.

    `response` is the final answer (None when `recovered` holds what a recovery read found);
    `after_unknown` says an earlier attempt may already have taken effect.
    """

    response: httpx.Response | None
    recovered: object | None = None
    after_unknown: bool = False


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


async def gather_all(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; on the first failure cancel the rest and raise that failure as is."""
    tasks: list[asyncio.Task[T]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as failed:
        raise first_leaf(failed) from None
    return [t.result() for t in tasks]


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


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
        self._credentials = settings.credentials
        self._limits = settings.limits
        self._timing = timing or Timing()
        self._rng = rng or random.Random()
        base = httpx.URL(self.api_url)
        self._origin = (base.scheme, base.host, base.port)
        self._base_path = base.path.rstrip("/")
        token_path = self._base_path + api.TOKEN_PATH
        inner = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._http = httpx.AsyncClient(
            base_url=self.api_url + "/",
            transport=ReadOnlyTransport(inner, token_path) if read_only else inner,
            timeout=httpx.Timeout(
                self._limits.timeout_seconds, connect=self._limits.connect_timeout_seconds
            ),
            # A redirect is not part of the API; following one could carry the token elsewhere.
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"dropstream-sync/{__version__}"},
        )
        limits = self._limits
        self._bucket = (
            TokenBucket(limits.rate_limit_rps, limits.burst, self._timing)
            if limits.rate_limit_rps is not None
            else None
        )
        self._slots = asyncio.Semaphore(limits.max_concurrency)
        self._token_lock = asyncio.Lock()
        self._token: Secret | None = None
        self._token_renew_at = 0.0
        self._cooldown_until = 0.0
        self._secrets: set[str] = set()
        if isinstance(self._credentials, BasicCredentials):
            self._remember(self._credentials.password.reveal())
        else:
            self._remember(self._credentials.token.reveal())
        self.requests_sent = 0
        # The server's clock as of its latest answer (None until one carried a Date).
        self.server_time: datetime | None = None

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"<HttpCore {self.api_url} {mode}>"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- public calls ---------------------------------------------------------------------

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        outcome = await self._exchange("GET", path, params=params)
        return self._check("GET", path, outcome)

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json("GET", path, await self.get(path, params))

    async def patch(self, path: str, body: Mapping[str, Any]) -> None:
        self._writable("PATCH", path)
        outcome = await self._exchange("PATCH", path, json=body)
        self._check("PATCH", path, outcome)

    async def delete(self, path: str) -> bool:
        """True if this call removed it; False if a retry found it already gone (404/409
        after an attempt whose outcome was unknown: that attempt did the work)."""
        self._writable("DELETE", path)
        outcome = await self._exchange("DELETE", path)
        response = outcome.response
        if (
            response is not None
            and outcome.after_unknown
            and response.status_code in (404, 409)
        ):
            log.info("DELETE %s: already done by an earlier attempt", path)
            return False
        self._check("DELETE", path, outcome)
        return True

    async def create(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        parse: Callable[[Any], T],
        find: Callable[[], Awaitable[T | None]],
    ) -> T:
        """POST, never blindly twice: after an unknown outcome `find` reads whether the first
        POST took effect; if it did, its result is returned and nothing is posted again.
        A 409 is answered the same way: when `find` shows the object that conflicts is the
        one asked for (a concurrent apply, or an earlier run), that object is the result."""
        self._writable("POST", path)
        outcome = await self._exchange("POST", path, json=body, recover=find)
        if outcome.recovered is not None:
            log.info("POST %s: the answer was lost, but a read found what it created", path)
            return cast(T, outcome.recovered)
        try:
            response = self._check("POST", path, outcome)
        except ConflictError:
            existing = await find()
            if existing is None:
                raise
            log.info("POST %s: 409, and what conflicts is what was asked for", path)
            return existing
        data = self._json("POST", path, response)
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._malformed("POST", path, response.status_code, exc) from None

    async def get_list(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> list[Mapping[str, Any]]:
        """Every item of a list endpoint, in one paginated read.

        Pages are asked `per_page=100`. When the first page tells the total, the remaining
        pages are fetched concurrently (bounded); otherwise `Link rel="next"` is followed;
        with neither, the first page is the whole list.
        """
        query = {**(params or {}), api.PER_PAGE_PARAM: api.PER_PAGE, api.PAGE_PARAM: 1}
        first = await self.get(path, query)
        items = self._items(path, first)
        link = api.next_link(first.headers)
        total = api.total_count(first.headers)
        if total is not None and items and len(items) < total:
            pages = api.page_count(total, len(items))
            gate = asyncio.Semaphore(self._limits.page_concurrency)

            async def page(number: int) -> httpx.Response:
                async with gate:
                    return await self.get(path, {**query, api.PAGE_PARAM: number})

            rest = await gather_all(page(n) for n in range(2, pages + 1))
            for response in rest:
                items.extend(self._items(path, response))
            if rest:
                # Rows added while reading push the list past the total: keep following.
                link = api.next_link(rest[-1].headers)
        seen: set[str] = set()
        while link is not None:
            url = self._same_origin(path, link)
            if url in seen or len(seen) > _MAX_PAGES:
                raise ApiError(
                    "the next-page links go round in a circle", method="GET", path=path
                )
            seen.add(url)
            response = await self.get(url)
            items.extend(self._items(path, response))
            link = api.next_link(response.headers)
        return api.dedupe_by_id(items)

    # -- authentication -------------------------------------------------------------------

    async def _bearer(self) -> str:
        if isinstance(self._credentials, TokenCredentials):
            return self._credentials.token.reveal()
        async with self._token_lock:
            if self._token is None or self._timing.clock() >= self._token_renew_at:
                await self._fetch_token(self._credentials)
            assert self._token is not None
            return self._token.reveal()

    async def _fetch_token(self, credentials: BasicCredentials) -> None:
        path = api.TOKEN_PATH
        outcome = await self._exchange(
            "POST", path, json=api.TOKEN_REQUEST_BODY, basic=credentials
        )
        response = self._check("POST", path, outcome)
        try:
            token, lifetime = api.parse_token(response.json())
        except ValueError as exc:
            raise self._malformed("POST", path, response.status_code, exc) from None
        self._remember(token)
        self._token = Secret(token)
        margin = min(api.TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 2)
        self._token_renew_at = self._timing.clock() + lifetime - margin
        log.debug("got a bearer token valid for %.0f s", lifetime)

    async def _forget_token(self, used: str) -> None:
        async with self._token_lock:
            # Another call may have renewed it already; only drop the one that was refused.
            if self._token is not None and self._token.reveal() == used:
                self._token = None

    def _remember(self, secret: str) -> None:
        if secret:
            self._secrets.add(secret)

    # -- one logical call, with its retries -----------------------------------------------

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        recover: Callable[[], Awaitable[object | None]] | None = None,
        basic: BasicCredentials | None = None,
    ) -> Outcome:
        if self.read_only and method not in READ_METHODS and path != api.TOKEN_PATH:
            raise ReadOnlyViolation(f"read-only client refused {method} {path}")
        limits = self._limits
        clock = self._timing.clock
        started = clock()
        deadline = started + limits.max_retry_seconds
        attempts = 0
        renewed = False
        after_unknown = False
        check_first = False
        while True:
            if check_first and recover is not None:
                found = await recover()
                if found is not None:
                    return Outcome(None, recovered=found, after_unknown=True)
                log.info("%s %s: the lost attempt created nothing; sending it again", method, path)
                check_first = False
            attempts += 1
            token = None if basic is not None else await self._bearer()
            failure: ApiError
            try:
                response = await self._send(method, path, params, json, token, basic)
            except _RETRYABLE as exc:
                if not isinstance(exc, _NOT_SENT):
                    after_unknown = True
                    check_first = method == "POST"
                failure = self._transport_error(method, path, exc)
                delay = self._backoff(attempts)
            except httpx.TransportError as exc:
                raise self._transport_error(method, path, exc) from None
            else:
                status = response.status_code
                # `Date` is the server's clock, which its timestamps are on.
                self.server_time = api.http_date(response.headers.get("date")) or \
                    self.server_time
                if status == 401 and token is not None and not renewed and self._can_renew():
                    renewed = True
                    log.debug("%s %s -> 401: getting a new token and trying once more",
                              method, path)
                    await self._forget_token(token)
                    continue
                if not api.retryable_status(status):
                    return Outcome(response, after_unknown=after_unknown)
                failure = self._status_error(method, path, response)
                if status == 429:
                    if not api.POST_429_IS_UNCOMMITTED:
                        after_unknown = True
                        check_first = method == "POST"
                    wait = api.retry_after_seconds(response.headers.get("retry-after"))
                    if wait is not None:
                        self._cool_down(wait)
                        delay = wait + self._rng.uniform(0, limits.backoff_base_seconds)
                    else:
                        delay = self._backoff(attempts)
                else:
                    after_unknown = True
                    check_first = method == "POST"
                    delay = self._backoff(attempts)
            spent = clock() - started
            if attempts >= limits.max_attempts or clock() + delay > deadline:
                raise self._gave_up(failure, attempts, spent)
            log.info(
                "%s %s: %s; retrying in %.2f s (attempt %d of %d)",
                method, path, failure.api_message, delay, attempts + 1, limits.max_attempts,
            )
            await self._timing.sleep(delay)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Mapping[str, Any] | None,
        token: str | None,
        basic: BasicCredentials | None,
    ) -> httpx.Response:
        await self._pace()
        headers: dict[str, str] = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif basic is not None:
            pair = f"{basic.username}:{basic.password.reveal()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        request = self._http.build_request(
            method, self._url(path), params=dict(params) if params else None,
            json=dict(json) if json is not None else None, headers=headers,
        )
        async with self._slots:
            began = time.perf_counter()
            self.requests_sent += 1
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                log.debug("%s %s -> %s after %.1f ms", method, request.url, type(exc).__name__,
                          (time.perf_counter() - began) * 1000)
                raise
        self._learn_rate(response)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %d (%.1f ms) request headers: %s", method, request.url,
                      response.status_code, (time.perf_counter() - began) * 1000,
                      redact_headers(request.headers.items()))
        return response

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return path.lstrip("/")

    async def _pace(self) -> None:
        wait = self._cooldown_until - self._timing.clock()
        if wait > 0:
            await self._timing.sleep(wait)
        if self._bucket is not None:
            await self._bucket.acquire()

    def _learn_rate(self, response: httpx.Response) -> None:
        if self._bucket is None or not self._limits.learn_rate:
            return
        rate = api.rate_limit_hint(response.headers)
        if rate is not None and rate != self._bucket.rate:
            log.debug("pacing at the server's rate: %.3g requests/s", rate)
            self._bucket.set_rate(rate)

    def _cool_down(self, seconds: float) -> None:
        # The server's bucket is per login, so every call of this client waits, not only the
        # one that was refused.
        self._cooldown_until = max(self._cooldown_until, self._timing.clock() + seconds)
        if self._bucket is not None:
            self._bucket.drain()

    def _backoff(self, attempts: int) -> float:
        limits = self._limits
        cap = min(limits.backoff_max_seconds, limits.backoff_base_seconds * 2 ** (attempts - 1))
        return self._rng.uniform(0, cap)

    def _can_renew(self) -> bool:
        return api.REFRESH_ON_401 and isinstance(self._credentials, BasicCredentials)

    def _writable(self, method: str, path: str) -> None:
        if self.read_only:
            raise ReadOnlyViolation(f"read-only client refused {method} {path}")

    def _same_origin(self, path: str, link: str) -> str:
        url = httpx.URL(self.api_url + "/").join(link)
        if (url.scheme, url.host, url.port) != self._origin:
            # Following it would send the bearer token to another server.
            raise ApiError(
                f"the next-page link points outside {self.api_url}", method="GET", path=path
            )
        return str(url)

    # -- answers -> models or errors ------------------------------------------------------

    def _check(self, method: str, path: str, outcome: Outcome) -> httpx.Response:
        response = outcome.response
        assert response is not None
        if response.is_success:
            return response
        raise self._status_error(method, path, response)

    def _json(self, method: str, path: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise self._malformed(method, path, response.status_code, exc) from None

    def _items(self, path: str, response: httpx.Response) -> list[Mapping[str, Any]]:
        data = self._json("GET", path, response)
        if not isinstance(data, list) or not all(isinstance(i, Mapping) for i in data):
            raise self._malformed("GET", path, response.status_code,
                                  ValueError("a list endpoint answered something else"))
        return list(data)

    def _status_error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        sentence, details = api.error_sentence(body, response.reason_phrase or f"HTTP {status}")
        cls = api.error_class(status)
        if cls is AuthenticationError:
            sentence = f"{sentence} ({self._auth_hint(path, status)})"
        return cls(
            self._scrub(sentence),
            method=method,
            path=_display(path),
            status=status,
            details={k: [self._scrub(r) for r in v] for k, v in details.items()},
        )

    def _auth_hint(self, path: str, status: int) -> str:
        if status == 403:
            return "this login may not do that"
        if isinstance(self._credentials, TokenCredentials):
            return f"the token in {ENV_TOKEN} was refused; it may have expired"
        if path == api.TOKEN_PATH:
            return f"check the login: {CREDENTIALS_HINT}"
        return "a freshly issued token was refused too"

    def _transport_error(self, method: str, path: str, exc: httpx.TransportError) -> ApiError:
        reason = str(exc) or type(exc).__name__
        if str(exc) and type(exc).__name__ not in reason:
            reason = f"{type(exc).__name__}: {reason}"
        return TransportError(self._scrub(f"no answer ({reason})"), method=method,
                              path=_display(path))

    def _gave_up(self, failure: ApiError, attempts: int, spent: float) -> ApiError:
        note = f"gave up after {attempts} attempt(s) in {spent:.1f} s"
        cls = type(failure)
        if isinstance(failure, RateLimitedError):
            note += "; the account allows fewer requests per second than this client sends"
        return cls(
            f"{failure.api_message} ({note})",
            method=failure.method, path=failure.path, status=failure.status,
            details=failure.details,
        )

    def _malformed(self, method: str, path: str, status: int, exc: Exception) -> ApiError:
        return ApiError(self._scrub(f"unexpected answer: {exc}"), method=method,
                        path=_display(path), status=status)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _display(path: str) -> str:
    """The path of a request for messages (no scheme, host or query)."""
    if path.startswith(("http://", "https://")):
        return httpx.URL(path).path
    return path.split("?", 1)[0]
