"""An in-process sandbox account loaded with `POST /_sandbox/seed`, for tests of what the
outputs make of the values a live account holds (names, emails, seller ids)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from dropstream_sync import sandbox

US: str = "ATVPDKIKX0DER"
JP: str = "A1VC38T7YXB528"


def seed(state: Path, document: dict[str, Any]) -> dict[str, int]:
    """Load `document` into the main login's account of the sandbox kept in `state`, the
    folder a command's `--sandbox STATE` then opens; the counts the sandbox answers."""
    app = sandbox.create_app(state)

    async def post() -> dict[str, int]:
        async with httpx.AsyncClient(
            transport=sandbox.inprocess_transport(app), base_url="http://sandbox.local"
        ) as raw:
            answer = await raw.post(
                "/_sandbox/seed",
                json=document,
                headers={"X-Sandbox-Admin": app.sandbox_info.admin_key},
            )
            answer.raise_for_status()
            counts: dict[str, int] = answer.json()
            return counts

    return asyncio.run(post())


def advance_clock(state: Path, seconds: float) -> None:
    """Move the clock of the sandbox kept in `state` forward (`POST /_sandbox/clock`)."""
    app = sandbox.create_app(state)

    async def post() -> None:
        async with httpx.AsyncClient(
            transport=sandbox.inprocess_transport(app), base_url="http://sandbox.local"
        ) as raw:
            answer = await raw.post(
                "/_sandbox/clock",
                json={"advance_seconds": seconds},
                headers={"X-Sandbox-Admin": app.sandbox_info.admin_key},
            )
            answer.raise_for_status()

    asyncio.run(post())
