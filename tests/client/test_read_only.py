"""plan, show and import cannot write: the read-only client has no way to."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dropstream_sync.client import ReadClient, ReadOnlyViolation, WriteClient
from dropstream_sync.client.http import HttpCore, ReadOnlyTransport
from tests.client.on_sandbox import URL, Box

WRITES = [
    "create_customer",
    "create_store",
    "update_store",
    "create_authorization_request",
    "cancel_authorization_request",
    "create_connection",
    "update_connection",
]


@pytest.mark.parametrize("name", WRITES)
def test_the_read_client_has_no_write_methods(name: str) -> None:
    assert not hasattr(ReadClient, name)
    assert hasattr(WriteClient, name)


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_a_read_only_core_refuses_writes_before_sending(box: Box, method: str) -> None:
    core = HttpCore(box.settings(), transport=box.wire, read_only=True)

    async def attempt() -> None:
        if method == "POST":
            await core.create("/stores", {"name": "x"}, parse=str, find=_nothing)
        elif method == "PATCH":
            await core.patch("/stores/1", {"name": "x"})
        else:
            await core.delete("/stores/1")

    with pytest.raises(ReadOnlyViolation, match=f"refused {method} /stores"):
        asyncio.run(attempt())
    assert box.served() == {"POST /auth/token": 1}  # the token request only


async def _nothing() -> None:
    return None


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_the_read_only_transport_refuses_writes_even_from_a_raw_httpx_client(
    box: Box, method: str
) -> None:
    async def attempt() -> None:
        transport = ReadOnlyTransport(box.wire, "/auth/token")
        async with httpx.AsyncClient(transport=transport, base_url=URL) as raw:
            await raw.request(method, "/stores/1", json={})

    with pytest.raises(ReadOnlyViolation):
        asyncio.run(attempt())
    assert box.wire.log == []
    assert box.served() == {}


def test_the_read_only_transport_lets_reads_and_the_token_through(box: Box) -> None:
    async def attempt() -> tuple[int, int]:
        transport = ReadOnlyTransport(box.wire, "/auth/token")
        async with httpx.AsyncClient(transport=transport, base_url=URL) as raw:
            token = await raw.post("/auth/token", json={})
            listing = await raw.get("/customers")
            return token.status_code, listing.status_code

    assert asyncio.run(attempt()) == (401, 401)  # reached the server (no credentials sent)
    assert box.served() == {"POST /auth/token": 1, "GET /customers": 1}
