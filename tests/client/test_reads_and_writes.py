"""What the planner and the applier get from the client on a healthy API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from dropstream_sync import live
from dropstream_sync.client import ReadClient, WriteClient
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import ApiValidationError, NotFoundError
from tests.client.client_fakes import FakeDropStream


def test_read_live_returns_models_of_every_list(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    acme = fake.add_customer("Acme Outdoors")
    store = fake.add_store(acme, "Acme US", authorized=True)
    fake.add_store(acme, "Acme Shopify", platform="shopify")

    state = asyncio.run(make_reader().read_live())

    assert [c.company_name for c in state.customers] == ["Acme Outdoors"]
    assert [w.description for w in state.warehouses] == ["Acme Outdoors Warehouse"]
    assert [s.id for s in state.stores] == [store]  # Amazon stores only
    s = state.stores[0]
    assert s.marketplace_id == "ATVPDKIKX0DER"
    assert s.import_order_statuses == ("Unshipped", "PartiallyShipped")
    assert s.authorization.status == "authorized"
    assert s.authorization.expires_at == datetime(2027, 11, 26, 17, tzinfo=UTC)
    assert s.enabled_at is None


def test_read_live_makes_one_request_per_list_plus_the_token(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    for i in range(30):
        cid = fake.add_customer(f"Merchant {i}")
        fake.add_store(cid, f"Store {i}")

    asyncio.run(make_reader().read_live())

    assert len(fake.calls("POST", "/auth/token")) == 1
    paths = sorted(r.url.path for r in fake.calls("GET"))
    assert paths == ["/authorization_requests", "/connections", "/customers", "/stores",
                     "/warehouses"]
    for r in fake.calls("GET"):
        assert r.url.params["per_page"] == "100"
    assert fake.calls("GET", "/stores")[0].url.params["platform"] == "amazon"
    assert fake.calls("GET", "/authorization_requests")[0].url.params["status"] == "pending"


def test_read_live_keeps_only_the_named_merchants(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    acme = fake.add_customer("Acme")
    other = fake.add_customer("Other")
    fake.add_store(acme, "Acme US")
    fake.add_store(other, "Other US")

    state = asyncio.run(make_reader().read_live({"Acme"}))

    assert [c.id for c in state.customers] == [acme]
    assert {s.customer_id for s in state.stores} == {acme}
    assert {w.customer_id for w in state.warehouses} == {acme}
    assert len(fake.calls("GET")) == 5


def test_write_client_creates_and_updates_everything_an_apply_needs(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    async def scenario() -> live.LiveState:
        async with make_writer() as client:
            cid = await client.create_customer("Acme")
            sid = await client.create_store(
                cid, "Acme US", "ATVPDKIKX0DER",
                StoreSettings(fulfillment_latency=2, import_order_statuses=frozenset({"Pending"})),
            )
            request = await client.create_authorization_request(sid, "ops@acme.example")
            assert request.status == "pending" and request.store_id == sid
            await client.cancel_authorization_request(request.id)
            warehouse = (await client.list_warehouses())[0]
            conn = await client.create_connection(cid, sid, warehouse.id, "Acme US")
            now = datetime(2026, 11, 26, 18, tzinfo=UTC)
            await client.update_store(sid, name="Acme USA",
                                      settings_patch={"fulfillment_latency": 3},
                                      enabled_at=now)
            await client.update_connection(conn, name="Acme USA", enabled_at=now)
            return await client.read_live()

    state = asyncio.run(scenario())
    store = state.stores[0]
    assert store.name == "Acme USA"
    assert store.fulfillment_latency == 3
    assert store.import_order_statuses == ("Pending",)
    assert store.enabled
    assert state.connections[0].name == "Acme USA" and state.connections[0].enabled
    assert state.authorization_requests == ()
    patch = fake.calls("PATCH", r"/stores/\d+")[0]
    assert b'"enabled_at":"2026-11-26T18:00:00Z"' in patch.content.replace(b" ", b"")


def test_update_without_enabled_at_leaves_it_alone_and_none_disables(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")
    fake.stores[sid]["enabled_at"] = "2026-01-01T00:00:00Z"

    async def scenario() -> None:
        async with make_writer() as client:
            await client.update_store(sid, name="Renamed")
            assert (await client.get_store(sid)).enabled
            await client.update_store(sid, enabled_at=None)
            assert not (await client.get_store(sid)).enabled

    asyncio.run(scenario())


def test_a_missing_object_is_not_found_with_method_path_and_status(
    make_reader: Callable[..., ReadClient]
) -> None:
    with pytest.raises(NotFoundError) as caught:
        asyncio.run(make_reader().get_store(999))
    assert str(caught.value) == "GET /stores/999 -> 404: not found"


def test_a_validation_answer_carries_the_api_details(
    make_writer: Callable[..., WriteClient]
) -> None:
    with pytest.raises(ApiValidationError) as caught:
        asyncio.run(make_writer().create_store(424242, "X", "ATVPDKIKX0DER", StoreSettings()))
    assert caught.value.details == {"customer_id": ["does not exist"]}
    assert str(caught.value) == "POST /stores -> 422: invalid store (customer_id: does not exist)"
