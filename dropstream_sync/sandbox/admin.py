"""A client for the sandbox's control surface (`/_sandbox/`, behind the admin key).

The `sandbox` commands drive a served sandbox with it, and the demo drives the in-process one
(`AdminClient.inprocess`) the way merchants and Seller Central would. Like the rest of the
sandbox it imports nothing of the tool: its failures are `AdminError`, which callers map.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx

from . import inprocess_transport

if TYPE_CHECKING:
    from .app import SandboxApp

ADMIN_HEADER = "X-Sandbox-Admin"
INPROCESS_URL = "http://sandbox.local"


class AdminError(Exception):
    """A control request that could not be made or that the sandbox refused."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def find_served(state_dir: str | Path) -> tuple[str, str]:
    """The URL and admin key of the sandbox served on `state_dir` (its `sandbox.json`)."""
    info_file = Path(state_dir) / "sandbox.json"
    try:
        info = json.loads(info_file.read_text())
        return str(info["url"]), str(info["admin_key"])
    except (OSError, ValueError, KeyError, TypeError):
        raise AdminError(
            f"no running sandbox found ({info_file} missing): start one with "
            "`dropstream-sync sandbox serve`, or give --url and --admin-key"
        ) from None


class AdminClient:
    """`async with AdminClient(url, key) as admin: await admin.outbox()`."""

    def __init__(
        self,
        url: str,
        admin_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.url,
            transport=transport,
            timeout=timeout,
            headers={ADMIN_HEADER: admin_key},
        )

    @classmethod
    def inprocess(cls, app: SandboxApp) -> AdminClient:
        return cls(INPROCESS_URL, app.sandbox_info.admin_key, transport=inprocess_transport(app))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the controls --------------------------------------------------------------------

    async def outbox(self) -> list[dict[str, Any]]:
        """The invitation emails sent, oldest first."""
        mails: list[dict[str, Any]] = await self._call("GET", "/_sandbox/outbox")
        return mails

    async def complete(self, request_id: int, selling_partner_id: str | None = None) -> str:
        """Approve an authorization request, as the merchant in Seller Central; returns the
        selling partner id it was approved with (generated unless given or kept)."""
        body = {"selling_partner_id": selling_partner_id} if selling_partner_id else {}
        done: dict[str, Any] = await self._call(
            "POST", f"/_sandbox/authorization_requests/{request_id}/complete", body
        )
        return str(done["selling_partner_id"])

    async def revoke(self, store_id: int) -> None:
        """Revoke a store's Amazon authorization."""
        await self._call("POST", f"/_sandbox/stores/{store_id}/revoke")

    async def clock(self, advance_seconds: float = 0) -> dict[str, Any]:
        """Move the clock forward (0: leave it) and return the sandbox's time, `{"now": ...}`."""
        now: dict[str, Any] = await self._call(
            "POST", "/_sandbox/clock", {"advance_seconds": advance_seconds}
        )
        return now

    async def seed(self, document: dict[str, Any]) -> dict[str, int]:
        """Load objects into the login's account (`POST /_sandbox/seed`); the counts."""
        counts: dict[str, int] = await self._call("POST", "/_sandbox/seed", document)
        return counts

    async def reset(self) -> None:
        """Empty every account."""
        await self._call("POST", "/_sandbox/reset")

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise AdminError(f"cannot reach the sandbox at {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise AdminError(
                f"{method} {path} -> {response.status_code}: {_message(response)}",
                response.status_code,
            )
        return response.json() if response.content else None


def _message(response: httpx.Response) -> str:
    if response.status_code == 403:
        # The only refusal of the control surface: the key. A key was always sent, so
        # "needs X-Sandbox-Admin" would send a person looking for a missing header.
        return "the sandbox refused the admin key (wrong key, or another sandbox's)"
    try:
        body = response.json()
    except ValueError:
        return response.text
    return str(body.get("error", response.text)) if isinstance(body, dict) else response.text
