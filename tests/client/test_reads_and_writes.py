"""What the planner and the applier get from the client on a healthy API (the sandbox)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from dropstream_sync import live
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import ApiError, ApiValidationError, NotFoundError
from tests.client.on_sandbox import US, Altered, Box, answer

LISTS = [
    "GET /authorization_requests",
    "GET /connections",
    "GET /customers",
    "GET /stores",
    "GET /warehouses",
]


def _store(ident: int, customer: int, name: str, **fields: Any) -> dict[str, Any]:
    adapter = {
        "marketplace_id": US,
        "fulfillment_channel": "MFN",
        "import_order_statuses": ["Unshipped", "PartiallyShipped"],
        "fulfillment_latency": None,
        "fulfillment_channel_code": "DEFAULT",
    }
    return {
        "id": ident,
        "customer_id": customer,
        "name": name,
        "adapter": {**adapter, **fields.pop("adapter", {})},
        **fields,
    }


def test_read_live_returns_models_of_every_list(box: Box) -> None:
    box.seed(
        {
            "customers": [{"id": 1, "company_name": "Acme Outdoors"}],
            "stores": [
                _store(
                    1,
                    1,
                    "Acme US",
                    adapter={
                        "authorization": {
                            "status": "authorized",
                            "selling_partner_id": "A1SELLER",
                            "authorized_at": "2026-11-26T17:00:00Z",
                            "expires_at": "2027-11-26T17:00:00Z",
                        }
                    },
                ),
                {"id": 2, "customer_id": 1, "name": "Acme Shopify", "platform": "shopify"},
            ],
        }
    )

    state = asyncio.run(box.reader().read_live())

    assert [c.company_name for c in state.customers] == ["Acme Outdoors"]
    assert [w.description for w in state.warehouses] == ["Acme Outdoors Warehouse"]
    assert [s.name for s in state.stores] == ["Acme US"]  # Amazon stores only
    s = state.stores[0]
    assert s.marketplace_id == "ATVPDKIKX0DER"
    assert s.import_order_statuses == ("Unshipped", "PartiallyShipped")
    assert s.authorization.status == "authorized"
    assert s.authorization.expires_at == datetime(2027, 11, 26, 17, tzinfo=UTC)
    assert s.enabled_at is None


def test_read_live_makes_one_request_per_list_plus_the_token(box: Box) -> None:
    box.seed(
        {
            "customers": [{"id": i, "company_name": f"Merchant {i}"} for i in range(30)],
            "stores": [_store(i, i, f"Store {i}") for i in range(30)],
        }
    )

    state = asyncio.run(box.reader().read_live())

    assert len(state.stores) == 30
    # The authorization requests are two lists: the pending ones and the expired ones.
    assert box.served() == {
        "POST /auth/token": 1,
        **dict.fromkeys(LISTS, 1),
        "GET /authorization_requests": 2,
    }
    for r in box.wire.calls("GET"):
        assert r.url.params["per_page"] == "100"
    assert box.wire.calls("GET", "/stores")[0].url.params["platform"] == "amazon"
    assert sorted(
        r.url.params["status"] for r in box.wire.calls("GET", "/authorization_requests")
    ) == ["expired", "pending"]


def test_read_live_keeps_only_the_named_merchants(box: Box) -> None:
    box.seed(
        {
            "customers": [{"id": 1, "company_name": "Acme"}, {"id": 2, "company_name": "Other"}],
            "stores": [_store(1, 1, "Acme US"), _store(2, 2, "Other US")],
        }
    )

    state = asyncio.run(box.reader().read_live({"Acme"}))

    assert [c.company_name for c in state.customers] == ["Acme"]
    acme = state.customers[0].id
    assert {s.customer_id for s in state.stores} == {acme}
    assert {w.customer_id for w in state.warehouses} == {acme}
    # Five lists, the authorization requests read twice (pending, expired).
    assert sum(n for route, n in box.served().items() if route.startswith("GET ")) == 6


def test_write_client_creates_and_updates_everything_an_apply_needs(box: Box) -> None:
    async def scenario() -> live.LiveState:
        async with box.writer() as client:
            cid = await client.create_customer("Acme")
            sid = await client.create_store(
                cid,
                "Acme US",
                "ATVPDKIKX0DER",
                StoreSettings(fulfillment_latency=2, import_order_statuses=frozenset({"Pending"})),
            )
            request = await client.create_authorization_request(sid, "ops@acme.example")
            assert request.status == "pending" and request.store_id == sid
            await client.cancel_authorization_request(request.id)
            # A connection needs an authorized store: the merchant approves a second invite.
            again = await client.create_authorization_request(sid, "ops@acme.example")
            await box.admin("POST", f"/_sandbox/authorization_requests/{again.id}/complete", {})
            warehouse = (await client.list_warehouses())[0]
            conn = await client.create_connection(cid, sid, warehouse.id, "Acme US")
            now = datetime(2026, 11, 26, 18, tzinfo=UTC)
            await client.update_store(
                sid, name="Acme USA", settings_patch={"fulfillment_latency": 3}, enabled_at=now
            )
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
    patch = box.wire.calls("PATCH", r"/stores/\d+")[0]
    assert b'"enabled_at":"2026-11-26T18:00:00Z"' in patch.content.replace(b" ", b"")


def test_update_without_enabled_at_leaves_it_alone_and_none_disables(box: Box) -> None:
    box.seed(
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [_store(1, 1, "Acme US", enabled_at="2026-01-01T00:00:00Z")],
        }
    )
    sid = asyncio.run(box.observer().list_stores())[0].id

    async def scenario() -> None:
        async with box.writer() as client:
            await client.update_store(sid, name="Renamed")
            assert (await client.get_store(sid)).enabled
            await client.update_store(sid, enabled_at=None)
            assert not (await client.get_store(sid)).enabled

    asyncio.run(scenario())


def test_a_missing_object_is_not_found_with_method_path_and_status(box: Box) -> None:
    with pytest.raises(NotFoundError) as caught:
        asyncio.run(box.reader().get_store(999))
    assert str(caught.value) == "GET /stores/999 -> 404: Store 999 was not found."


def test_a_validation_answer_carries_the_api_details(box: Box) -> None:
    with pytest.raises(ApiValidationError) as caught:
        asyncio.run(box.writer().create_store(424242, "X", "ATVPDKIKX0DER", StoreSettings()))
    assert caught.value.details == {"customer_id": ["is not a customer of this account"]}
    assert str(caught.value) == (
        "POST /stores -> 422: Validation failed: customer_id is not a customer of this "
        "account. (customer_id: is not a customer of this account)"
    )


def test_a_store_field_of_the_wrong_type_reads_as_unknown(box: Box) -> None:
    box.seed({"customers": [{"id": 1, "company_name": "Acme Outdoors"}]})
    wrong = {
        "id": 9,
        "customer_id": 1,
        "name": "Acme US",
        "platform": "amazon",
        "enabled_at": None,
        "adapter": {
            "marketplace_id": 1,
            "fulfillment_channel": ["MFN"],
            "import_order_statuses": "Unshipped",
            "fulfillment_latency": True,
            "fulfillment_channel_code": 3,
            "authorization": "authorized",
        },
    }

    async def with_a_wrong_store(
        request: httpx.Request, response: httpx.Response
    ) -> httpx.Response:
        if request.url.path != "/stores":
            return response
        return answer(response, body=[wrong], headers={"X-Total-Count": "1"})

    state = asyncio.run(box.reader(Altered(box.wire, with_a_wrong_store)).read_live())

    assert state.stores == (
        live.Store(
            id=9,
            customer_id=1,
            name="Acme US",
            marketplace_id=None,
            fulfillment_channel=None,
            import_order_statuses=(),
            fulfillment_latency=None,
            fulfillment_channel_code=None,
            # "authorized" where the object should be: not read as "missing" (an invite).
            authorization=live.Authorization(status=live.AUTH_UNREADABLE),
            # Read as null and the default, the plan would "update" what DropStream holds.
            unread_settings=StoreSettings.names(),
        ),
    )


def test_a_read_leaves_no_answer_for_the_collector_to_free(box: Box) -> None:
    # The sync façade reads with the collector paused; an answer kept alive by a reference
    # cycle would hold its body until a collection, so a large read would hold them all.
    box.seed({"customers": [{"id": i, "company_name": f"M{i}"} for i in range(1, 251)]})
    answers: list[weakref.ref[httpx.Response]] = []

    async def keep_track(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        answers.append(weakref.ref(response))
        return response

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        state = asyncio.run(box.reader(Altered(box.wire, keep_track)).read_live())
        alive = [ref for ref in answers if ref() is not None]
    finally:
        if was_enabled:
            gc.enable()

    assert len(state.customers) == 250
    assert len(answers) >= 3 + 5  # the token, three pages of customers, the other lists
    assert alive == []


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/customers", "company_name", None),
        ("/stores", "name", None),
        ("/stores", "name", 42),
        ("/stores", "platform", None),
    ],
)
def test_an_object_without_the_name_it_is_matched_by_is_refused_not_read_as_blank(
    box: Box, path: str, field: str, value: object
) -> None:
    """Read as "", such an object would match no desired one, and the plan would create it
    again: a second customer, or a second store (billed), with its invitation email."""
    box.seed(
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "adapter": {"marketplace_id": "ATVPDKIKX0DER"},
                }
            ],
        }
    )

    async def blank(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != path:
            return response
        rows = [{**row, field: value} for row in response.json()]
        return answer(response, body=rows)

    with pytest.raises(ApiError) as caught:
        asyncio.run(box.reader(Altered(box.wire, blank)).read_live())

    missing = "missing" if value is None else "not a string"
    assert str(caught.value) == f"GET {path}: unexpected answer: {field} is {missing}"
