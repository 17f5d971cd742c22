"""The client against the bundled sandbox in this process, with faults on: every object
asked for exists exactly once afterwards."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dropstream_sync.client import ReadClient, Timing, WriteClient
from dropstream_sync.client.http import HttpCore
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import ApiError
from tests.client.on_sandbox import URL, US, Box


class Sandbox(Box):
    """A Box whose control calls go on through the faults the sandbox itself injects."""

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """A control call, repeated through injected faults; after a failed attempt a 4xx
        means that attempt already did it."""
        failed = False
        async with httpx.AsyncClient(transport=self.transport(), base_url=URL) as raw:
            for _ in range(50):
                try:
                    response = await raw.request(
                        method, path, json=body, headers={"X-Sandbox-Admin": self.info.admin_key}
                    )
                except httpx.TransportError:
                    failed = True
                    continue
                if failed and 400 <= response.status_code < 500:
                    return None
                if response.status_code >= 500:
                    failed = True
                else:
                    response.raise_for_status()
                    return response.json() if response.content else None
        raise AssertionError(f"{method} {path} kept failing")


def _instant() -> Timing:
    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    return Timing(sleep=no_wait)


def test_a_fresh_sandbox_reads_as_an_empty_account(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)

    async def read() -> Any:
        async with ReadClient(box.settings(), transport=box.transport()) as client:
            return await client.read_live()

    state = asyncio.run(read())
    assert state.customers == () and state.stores == ()


def test_read_only_client_is_refused_by_its_transport_not_the_sandbox(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    core = HttpCore(box.settings(), transport=box.transport(), read_only=True)

    async def sneak() -> None:
        await core.patch("/customers/1", {"company_name": "X"})

    with pytest.raises(RuntimeError, match="read-only"):
        asyncio.run(sneak())
    requests = asyncio.run(box.admin("GET", "/_sandbox/stats"))["requests"]
    assert not any(route.startswith("PATCH") for route in requests)


def test_under_faults_every_object_is_created_exactly_once(tmp_path: Path) -> None:
    n = 12
    box = Sandbox(tmp_path, fault_rate=0.3, fault_after_commit=0.5, fault_seed=4)

    async def scenario() -> Any:
        async with WriteClient(
            box.settings(max_attempts=30, max_retry_seconds=600),
            transport=box.transport(),
            timing=_instant(),
            rng=random.Random(1),
        ) as client:
            customers = await asyncio.gather(
                *(client.create_customer(f"Merchant {i}") for i in range(n))
            )
            stores = await asyncio.gather(
                *(
                    client.create_store(cid, f"Store {i}", US, StoreSettings(fulfillment_latency=2))
                    for i, cid in enumerate(customers)
                )
            )
            invites = await asyncio.gather(
                *(
                    client.create_authorization_request(sid, f"ops{i}@merchant.example")
                    for i, sid in enumerate(stores)
                )
            )
            for invite in invites:
                await box.admin(
                    "POST",
                    f"/_sandbox/authorization_requests/{invite.id}/complete",
                    {"selling_partner_id": f"A{invite.store_id}"},
                )
            warehouses = await client.list_warehouses()
            default = {w.customer_id: w.id for w in sorted(warehouses, key=lambda w: -w.id)}
            connections = await asyncio.gather(
                *(
                    client.create_connection(cid, sid, default[cid], f"Store {i}")
                    for i, (cid, sid) in enumerate(zip(customers, stores, strict=True))
                )
            )
            now = datetime(2026, 11, 26, 17, tzinfo=UTC)
            await asyncio.gather(
                *(client.update_connection(c, enabled_at=now) for c in connections)
            )
            await asyncio.gather(*(client.update_store(s, enabled_at=now) for s in stores))
            return await client.read_live(), client.requests_sent

    state, sent = asyncio.run(scenario())

    assert sorted(c.company_name for c in state.customers) == sorted(
        f"Merchant {i}" for i in range(n)
    )
    assert len(state.stores) == n and len({s.name for s in state.stores}) == n
    assert all(s.enabled and s.authorization.status == "authorized" for s in state.stores)
    assert all(s.fulfillment_latency == 2 for s in state.stores)
    assert len(state.connections) == n and all(c.enabled for c in state.connections)
    assert state.authorization_requests == ()  # all completed
    assert sent > 6 * n  # the faults did make the client retry


@pytest.mark.slow
def test_many_objects_under_heavy_faults_exist_exactly_once(tmp_path: Path) -> None:
    n = 150
    box = Sandbox(tmp_path, fault_rate=0.3, fault_after_commit=0.5, fault_seed=11)

    async def scenario() -> Any:
        async with WriteClient(
            box.settings(max_attempts=40, max_retry_seconds=600),
            transport=box.transport(),
            timing=_instant(),
        ) as client:
            customers = await asyncio.gather(*(client.create_customer(f"M{i}") for i in range(n)))
            await asyncio.gather(
                *(client.create_store(cid, "US", US, StoreSettings()) for cid in customers)
            )
            return await client.read_live()

    state = asyncio.run(scenario())
    assert len(state.customers) == n == len({c.company_name for c in state.customers})
    assert len(state.stores) == n == len({s.customer_id for s in state.stores})


@pytest.mark.slow
def test_a_client_paced_at_the_accounts_rate_meets_no_429s(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, rate_limit_rps=50, burst=10)

    async def scenario() -> None:
        async with WriteClient(
            box.settings(rate_limit_rps=50, burst=10), transport=box.transport()
        ) as client:
            cid = await client.create_customer("Acme")
            await asyncio.gather(
                *(client.create_store(cid, f"S{i}", US, StoreSettings()) for i in range(100))
            )

    asyncio.run(scenario())
    assert asyncio.run(box.admin("GET", "/_sandbox/stats"))["rate_limited"] == 0


@pytest.mark.slow
def test_an_unpaced_client_honours_429s_and_still_finishes(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, rate_limit_rps=50, burst=10)

    async def scenario() -> int:
        async with WriteClient(box.settings(), transport=box.transport()) as client:
            cid = await client.create_customer("Acme")
            await asyncio.gather(
                *(client.create_store(cid, f"S{i}", US, StoreSettings()) for i in range(40))
            )
            return len(await client.list_stores())

    assert asyncio.run(scenario()) == 40
    assert asyncio.run(box.admin("GET", "/_sandbox/stats"))["rate_limited"] > 0


async def _authorized_store(client: WriteClient, box: Sandbox) -> int:
    cid = await client.create_customer("Acme")
    sid = await client.create_store(cid, "Acme US", US, StoreSettings())
    first = await client.create_authorization_request(sid, "ops@acme.example")
    await box.admin(
        "POST",
        f"/_sandbox/authorization_requests/{first.id}/complete",
        {"selling_partner_id": "A1ACME"},
    )
    return sid


def test_a_request_on_an_authorized_store_renews_it_for_the_same_seller(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)

    async def scenario() -> tuple[Any, Any, Any]:
        async with WriteClient(box.settings(), transport=box.transport()) as client:
            sid = await _authorized_store(client, box)
            before = (await client.get_store(sid)).authorization
            await box.admin("POST", "/_sandbox/clock", {"advance_seconds": 340 * 86400})
            renewal = await client.create_authorization_request(sid, "ops@acme.example")
            during = (await client.get_store(sid)).authorization
            await box.admin("POST", f"/_sandbox/authorization_requests/{renewal.id}/complete", {})
            return before, during, (await client.get_store(sid)).authorization

    before, during, after = asyncio.run(scenario())
    assert during == before  # still authorized while the merchant has not answered
    assert after.status == "authorized" and after.selling_partner_id == "A1ACME"
    assert after.expires_at - before.expires_at >= timedelta(days=340)


def test_a_service_that_refuses_renewals_answers_with_its_own_reason(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, renewals=False)

    async def scenario() -> None:
        async with WriteClient(box.settings(), transport=box.transport()) as client:
            sid = await _authorized_store(client, box)
            await client.create_authorization_request(sid, "ops@acme.example")

    with pytest.raises(ApiError, match="already authorized") as caught:
        asyncio.run(scenario())
    assert caught.value.status == 422


def test_the_client_keeps_the_apis_clock_from_its_date_header(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    asyncio.run(box.admin("POST", "/_sandbox/clock", {"advance_seconds": 100 * 86400}))

    async def read() -> Any:
        async with ReadClient(box.settings(), transport=box.transport()) as client:
            assert client.server_time is None
            await client.list_stores()
            return client.server_time

    seen = asyncio.run(read())
    expected = datetime.now(UTC) + timedelta(days=100)
    assert abs((seen - expected).total_seconds()) < 60
