"""Answers and failures -> the package's exceptions: the one place the client makes errors.

Every message is built here from the request (method, path), the status and the API's own
sentence, and scrubbed of every secret the client knows in every form it is sent in
(password, token, and the base64 of `user:password` that a Basic header carries), so a
server that echoes credentials back cannot get them printed.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from dropstream_sync.client import api
from dropstream_sync.client.settings import (
    CREDENTIALS_HINT,
    ENV_TOKEN,
    ENV_USERNAME,
    BasicCredentials,
    Credentials,
    TokenCredentials,
    is_loopback,
)
from dropstream_sync.errors import ApiError, AuthenticationError, RateLimitedError, TransportError

READ_METHODS: Final = frozenset({"GET", "HEAD"})
# Redirects that say the request was not processed and is to be repeated elsewhere (RFC
# 9110 15.4.8, 15.4.9). Any other 3xx to a write may come after it was done: a 303 is the
# standard answer to a POST that was.
NOT_PROCESSED_REDIRECTS: Final = frozenset({307, 308})


@dataclass(frozen=True, slots=True)
class Request:
    """One logical call, before auth: what every attempt of it sends."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Mapping[str, Any] | None = None
    # The token request: sent with the login, never with a bearer token.
    basic: bool = False

    @property
    def writes(self) -> bool:
        """Whether the call can change the account (the token request cannot)."""
        return self.method not in READ_METHODS and not self.basic

    @property
    def shown(self) -> str:
        """The path for messages (no scheme, host or query)."""
        if self.path.startswith(("http://", "https://")):
            return httpx.URL(self.path).path
        return self.path.split("?", 1)[0]


def redirect_may_have_committed(request: Request, status: int) -> bool:
    """Whether a write answered with this redirect (never followed) may have taken effect."""
    return request.writes and 300 <= status < 400 and status not in NOT_PROCESSED_REDIRECTS


class AnswerTooLarge(httpx.TransportError):
    """An answer longer than any the API gives (`Limits.max_answer_bytes`): not read on."""


# A secret shorter than this is masked only where it stands as a whole token, not inside a
# word: a password of "x" made "sandbox" into "sandbo***" in every message. A word of the
# tool's own text that holds a short secret's letters says nothing of it; where a server
# echoes the secret it stands apart (quoted, after `=` or `:`, between spaces). A longer
# secret is masked wherever it occurs, inside a word too: there it is no coincidence.
WHOLE_TOKEN_BELOW: Final = 8


def _pattern(secret: str) -> re.Pattern[str]:
    """Where `secret` is masked: anywhere when long, else not touching a word character on
    a side where the secret itself ends in one (a secret "-x" is masked in "a-x" too)."""
    escaped = re.escape(secret)
    if len(secret) >= WHOLE_TOKEN_BELOW:
        return re.compile(escaped)
    before = r"(?<!\w)" if re.match(r"\w", secret[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
    return re.compile(before + escaped + after)


class Scrubber:
    """Replaces every known secret, in each form it travels in, by *** (a short one only as
    a whole token: WHOLE_TOKEN_BELOW)."""

    def __init__(self) -> None:
        self._secrets: dict[str, re.Pattern[str]] = {}

    def remember(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets[secret] = _pattern(secret)

    def remember_login(self, username: str, password: str) -> None:
        self.remember(password)
        pair = f"{username}:{password}".encode()
        for encoded in (base64.b64encode(pair), base64.urlsafe_b64encode(pair)):
            text = encoded.decode("ascii")
            self.remember(text)
            # Without its padding too: a server may trim it, or cut the value after it.
            self.remember(text.rstrip("="))

    def __call__(self, text: str) -> str:
        # Longest first, so that a secret inside another is not left half-replaced.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = self._secrets[secret].sub("***", text)
        return text


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def unreachable_reason(exc: httpx.TransportError) -> str | None:
    """What makes the server unreachable in a way waiting will not fix, or None.

    A refused connection, a name that does not resolve and a failed TLS handshake answer the
    same way on every try; retrying them as if transient only keeps a user waiting.
    """
    if not isinstance(exc, httpx.ConnectError):
        return None
    for cause in _cause_chain(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused: nothing listens there"
        if isinstance(cause, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(cause, ssl.SSLError):
            reason = f"the TLS handshake failed ({cause.reason or cause})"
            if cause.reason == "WRONG_VERSION_NUMBER":
                reason += "; the server may speak plain HTTP"
            return reason
    return None


class ErrorMap:
    """Builds every ApiError the client raises."""

    def __init__(self, api_url: str, credentials: Credentials, scrub: Scrubber) -> None:
        self._api_url = api_url
        self._credentials = credentials
        self._scrub = scrub

    def failure(
        self,
        request: Request,
        cause: httpx.Response | httpx.TransportError,
        *,
        note: str = "",
        may_have_committed: bool = False,
        rate_hint: bool = True,
    ) -> ApiError:
        if isinstance(cause, httpx.Response):
            return self.for_response(
                request,
                cause,
                note=note,
                may_have_committed=may_have_committed,
                rate_hint=rate_hint,
            )
        return self._for_transport(request, cause, note, may_have_committed)

    def for_response(
        self,
        request: Request,
        response: httpx.Response,
        *,
        note: str = "",
        may_have_committed: bool = False,
        rate_hint: bool = True,
    ) -> ApiError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        sentence, details = api.error_sentence(body, response.reason_phrase or f"HTTP {status}")
        if 300 <= status < 400:
            # Not followed (http.py): a redirect could carry the bearer token to another host.
            target = response.headers.get("Location") or "nowhere given"
            sentence = (
                f"redirected to {target}, not followed (the API does not redirect, and "
                "following could send the token elsewhere); check the API URL"
            )
        cls = api.error_class(status)
        if cls is AuthenticationError:
            sentence = f"{sentence} ({self._auth_hint(request, status)})"
        what_to_try = ""
        if status in _NOT_THIS_API and _always_there(request):
            # The token request and the documented lists exist on every DropStream: a 404
            # there is the URL (a `/api` or `/v1` pasted after the host), not the account;
            # a 405 or 501 (the method unknown) is a web server that is not DropStream's API.
            # (Never retried, so no note follows it: the advice ends the sentence.)
            what_to_try = (
                f" (check the API URL: it is the API's base, such as "
                f"{api.DEFAULT_API_URL}; `dropstream-sync doctor --api-url {self._api_url}` "
                "shows what answers there)"
            )
        if cls is RateLimitedError and note and rate_hint:
            note += "; the account allows fewer requests per second than this client sends"
        return cls(
            self._scrub(_noted(sentence, note)),
            method=request.method,
            path=request.shown,
            status=status,
            details={k: [self._scrub(r) for r in v] for k, v in details.items()},
            may_have_committed=may_have_committed,
            what_to_try=self._scrub(what_to_try),
        )

    def _for_transport(
        self, request: Request, exc: httpx.TransportError, note: str, may_have_committed: bool
    ) -> ApiError:
        reason = str(exc) or type(exc).__name__
        if str(exc) and type(exc).__name__ not in reason:
            reason = f"{type(exc).__name__}: {reason}"
        unreachable = unreachable_reason(exc)
        if isinstance(exc, AnswerTooLarge):
            text = f"unexpected answer: {exc}"
        elif unreachable is None:
            text = f"no answer ({reason})"
        else:
            text = f"cannot reach {self._api_url}: {unreachable}"
        what_to_try = self._what_to_try() if unreachable is not None else ""
        return TransportError(
            self._scrub(_noted(text, note)),
            method=request.method,
            path=request.shown,
            may_have_committed=may_have_committed,
            what_to_try=self._scrub(what_to_try),
        )

    def malformed(self, method: str, path: str, status: int | None, exc: Exception) -> ApiError:
        return ApiError(
            self._scrub(f"unexpected answer: {exc}"),
            method=method,
            path=Request(method, path).shown,
            status=status,
        )

    def _what_to_try(self) -> str:
        """The advice an unreachable URL gets (ApiError.what_to_try: doctor, which is that
        advice, leaves it out of its own report)."""
        hint = (
            f". Check the URL, or run `dropstream-sync doctor --api-url {self._api_url}` to "
            "see what answers there"
        )
        host = httpx.URL(self._api_url).host
        if is_loopback(host):
            hint += "; for a local sandbox, start one with `dropstream-sync sandbox serve`"
        return hint

    def _auth_hint(self, request: Request, status: int) -> str:
        if status == 403:
            return "this login may not do that"
        if isinstance(self._credentials, TokenCredentials):
            return f"the token in {ENV_TOKEN} was refused; it may have expired"
        if request.basic and isinstance(self._credentials, BasicCredentials):
            return _login_hint(self._credentials)
        if request.basic:
            return f"check the login: {CREDENTIALS_HINT}"
        assert isinstance(self._credentials, BasicCredentials)
        return "a freshly issued token was refused too"


# The lists DropStream documents [doc]; /authorization_requests is [assumed] and may be
# missing (client/clients.py reads on without it).
_DOCUMENTED_LISTS: Final = frozenset({api.CUSTOMERS, api.WAREHOUSES, api.STORES, api.CONNECTIONS})


_NOT_THIS_API: Final = frozenset({404, 405, 501})


def _always_there(request: Request) -> bool:
    if request.basic:
        return True
    return request.method == "GET" and request.shown in _DOCUMENTED_LISTS


def _login_hint(login: BasicCredentials) -> str:
    """Names the variables that were read (not the list of every one that could be), and
    the space or line break a pasted secret brings along, which is sent as part of it."""
    hint = f"check the login in {ENV_USERNAME} and {login.source}"
    password = login.password.reveal()
    if password != password.strip():
        end = "starts" if password[:1].isspace() else "ends"
        hint += (
            f": the password {end} with a space or line break, which is sent with it; remove "
            "it unless it belongs to the password"
        )
    return hint


def _noted(text: str, note: str) -> str:
    return f"{text} ({note})" if note else text


def not_json(response: httpx.Response) -> str:
    """What a body that should have been JSON was, in a few words."""
    kind = response.headers.get("Content-Type") or "no Content-Type"
    if not response.content.strip():
        return f"an empty body ({kind}) where JSON was expected"
    start = " ".join(response.content[:80].decode("utf-8", "replace").split())
    return f"the body is not JSON ({kind}): {start[:60]!r}"
