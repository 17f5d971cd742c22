"""Raw answers for `doctor`: what the API said, headers and body, without raising.

The doctor checks the API against the model (docs/api-model.md), so it needs what the
clients deliberately hide: status, headers and the body as sent. Everything still goes
through the client's read-only core (the same transport guard, token handling, retries
and scrubbing); this module only keeps failures as values instead of raising them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dropstream_sync.client import api
from dropstream_sync.client.clients import ReadClient
from dropstream_sync.client.failures import Request, not_json
from dropstream_sync.client.settings import BasicCredentials
from dropstream_sync.errors import ApiError


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's outcome: `status` None means no HTTP answer came (see `error`)."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    error: ApiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Probe:
    """Sends single requests through a ReadClient's core and keeps what came back."""

    def __init__(self, client: ReadClient) -> None:
        self._core = client._core  # same package: the probe is part of the client
        self.uses_login = isinstance(client._credentials, BasicCredentials)

    async def token(self) -> Answer:
        """The login's token request, as sent by the client (only with a login)."""
        return await self._send(
            Request("POST", api.TOKEN_PATH, json=api.TOKEN_REQUEST_BODY, basic=True)
        )

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        return await self._send(Request("GET", path, params=params))

    async def _send(self, request: Request) -> Answer:
        try:
            exchange = await self._core._send_with_retries(request)
        except ApiError as exc:
            return Answer(None, error=exc)
        response = exchange.response
        assert response is not None  # no recovery read is given, so an answer is final
        headers = response.headers  # case-insensitive, as api.py reads headers
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        error = None if response.is_success else self._core.errors.for_response(request, response)
        if error is None and request.method == "GET" and response.content and body is None:
            error = self._core.errors.malformed(
                "GET", request.path, response.status_code, ValueError(not_json(response))
            )
        return Answer(response.status_code, headers, body, error)
