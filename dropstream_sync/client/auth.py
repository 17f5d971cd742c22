"""Authentication: the login exchanged for a bearer token at /auth/token, renewed before it
ends and once more when the API refuses it; or a ready token, which cannot be renewed."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable

from dropstream_sync.client import api
from dropstream_sync.client.failures import Scrubber
from dropstream_sync.client.limiter import Timing
from dropstream_sync.client.settings import BasicCredentials, Credentials, Secret

log = logging.getLogger("dropstream_sync.client")

# Gets a new token: (access_token, lifetime in seconds).
FetchToken = Callable[[], Awaitable[tuple[str, float]]]


class TokenSource:
    def __init__(
        self, credentials: Credentials, timing: Timing, scrub: Scrubber, fetch: FetchToken
    ) -> None:
        self._credentials = credentials
        self._timing = timing
        self._scrub = scrub
        self._fetch = fetch
        self._lock = asyncio.Lock()
        self._token: Secret | None = None
        self._renew_at = 0.0
        if isinstance(credentials, BasicCredentials):
            scrub.remember_login(credentials.username, credentials.password.reveal())
        else:
            scrub.remember(credentials.token.reveal())

    @property
    def renewable(self) -> bool:
        return api.REFRESH_ON_401 and isinstance(self._credentials, BasicCredentials)

    def basic_header(self) -> str:
        creds = self._credentials
        assert isinstance(creds, BasicCredentials)
        pair = f"{creds.username}:{creds.password.reveal()}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    async def bearer(self) -> str:
        if not isinstance(self._credentials, BasicCredentials):
            return self._credentials.token.reveal()
        async with self._lock:
            if self._token is None or self._timing.clock() >= self._renew_at:
                token, lifetime = await self._fetch()
                self._scrub.remember(token)
                self._token = Secret(token)
                margin = min(api.TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 2)
                self._renew_at = self._timing.clock() + lifetime - margin
                log.debug("got a bearer token valid for %.0f s", lifetime)
            return self._token.reveal()

    async def forget(self, used: str) -> None:
        async with self._lock:
            # Another call may have renewed it already; only drop the one that was refused.
            if self._token is not None and self._token.reveal() == used:
                self._token = None
