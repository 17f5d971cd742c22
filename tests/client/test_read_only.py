"""plan, show and import cannot write: the read-only client has no way to."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dropstream_sync.client import ReadClient, ReadOnlyViolation, WriteClient
from dropstream_sync.client.http import HttpCore, ReadOnlyTransport
from tests.client.client_fakes import BASE, FakeDropStream, settings

WRITES = ["create_customer", "create_store", "update_store", "create_authorization_request",
          "cancel_authorization_request", "create_connection", "update_connection"]


@pytest.mark.parametrize("name", WRITES)
def test_the_read_client_has_no_write_methods(name: str) -> None:
    assert not hasattr(ReadClient, name)
    assert hasattr(WriteClient, name)


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_a_read_only_core_refuses_writes_before_sending(
    fake: FakeDropStream, method: str
) -> None:
    core = HttpCore(settings(), transport=fake.transport(), read_only=True)

    async def attempt() -> None:
        if method == "POST":
            await core.create("/stores", {"name": "x"}, parse=str, find=_nothing)
        elif method == "PATCH":
            await core.patch("/stores/1", {"name": "x"})
        else:
            await core.delete("/stores/1")

    with pytest.raises(ReadOnlyViolation, match=f"refused {method} /stores"):
        asyncio.run(attempt())
    assert [r.method for r in fake.log] == ["POST"]  # the token request only
    assert fake.log[0].url.path == "/auth/token"


async def _nothing() -> None:
    return None


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_the_read_only_transport_refuses_writes_even_from_a_raw_httpx_client(
    fake: FakeDropStream, method: str
) -> None:
    async def attempt() -> None:
        transport = ReadOnlyTransport(fake.transport(), "/auth/token")
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as raw:
            await raw.request(method, "/stores/1", json={})

    with pytest.raises(ReadOnlyViolation):
        asyncio.run(attempt())
    assert fake.log == []


def test_the_read_only_transport_lets_reads_and_the_token_through(fake: FakeDropStream) -> None:
    async def attempt() -> tuple[int, int]:
        transport = ReadOnlyTransport(fake.transport(), "/auth/token")
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as raw:
            token = await raw.post("/auth/token", json={})
            listing = await raw.get("/customers")
            return token.status_code, listing.status_code

    assert asyncio.run(attempt()) == (401, 401)  # reached the server (no credentials sent)
    assert len(fake.log) == 2
