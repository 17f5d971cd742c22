"""More of the API contract over a real socket: warehouses, filters, channels, expiries,
the merchant's Deny, per-login rate limits, latency, a dropped connection on the wire, seed."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.conftest import Live
from tests.sandbox.test_contract import CA, US, amazon_store, authorize, setup_store


def test_new_customer_gets_a_default_warehouse_that_connections_use(live: Live) -> None:
    with live.client() as c:
        customer, store = setup_store(c)
        (default,) = c.get("/warehouses", params={"customer_id": customer}).json()
        assert default["description"] == "Acme Warehouse" and default["platform"] == "dropstream"
        second = c.post("/warehouses", json={"customer_id": customer, "description": "Second"})
        assert second.status_code == 201
        assert c.get(f"/warehouses/{second.json()['id']}").json()["description"] == "Second"
        assert (
            c.patch(
                f"/warehouses/{second.json()['id']}", json={"description": "Overflow"}
            ).status_code
            == 204
        )
        authorize(live, c, store)
        created = c.post(
            "/connections", json={"name": "Acme US", "customer_id": customer, "store_id": store}
        ).json()
        assert c.get(f"/connections/{created['id']}").json()["warehouse_id"] == default["id"]
        explicit = c.post(
            "/connections",
            json={
                "name": "Acme US",
                "customer_id": customer,
                "store_id": store,
                "warehouse_id": second.json()["id"],
            },
        )
        assert explicit.status_code == 201  # another warehouse is another natural key
        assert (
            c.post("/warehouses", json={"customer_id": 999_999, "description": "x"}).status_code
            == 422
        )


def test_list_filters_select_by_customer_platform_store_and_status(live: Live) -> None:
    with live.client() as c:
        first, store_a = setup_store(c)
        second = c.post("/customers", json={"company_name": "Beta"}).json()["id"]
        store_b = c.post("/stores", json=amazon_store(second, "Beta CA", marketplace_id=CA)).json()[
            "id"
        ]
        c.post(
            "/stores",
            json={"customer_id": second, "name": "Web", "platform": "shopify", "adapter": {}},
        )
        assert [s["id"] for s in c.get("/stores", params={"customer_id": first}).json()] == [
            store_a
        ]
        assert len(c.get("/stores", params={"customer_id": second}).json()) == 2
        assert [s["platform"] for s in c.get("/stores", params={"platform": "amazon"}).json()] == [
            "amazon",
            "amazon",
        ]
        c.post(f"/stores/{store_b}/authorization_requests", json={"email": "b@beta.example"})
        by_store = c.get("/authorization_requests", params={"store_id": store_b}).json()
        assert [r["store_id"] for r in by_store] == [store_b]
        assert c.get("/authorization_requests", params={"store_id": store_a}).json() == []
        assert c.get("/authorization_requests", params={"status": "bogus"}).status_code == 422
        authorize(live, c, store_a)
        c.post("/connections", json={"name": "Acme US", "customer_id": first, "store_id": store_a})
        assert len(c.get("/connections", params={"store_id": store_a}).json()) == 1
        assert c.get("/connections", params={"customer_id": second}).json() == []


def test_default_page_is_25_and_bad_paging_is_422(live: Live) -> None:
    live.admin(
        "POST",
        "/_sandbox/seed",
        {"customers": [{"id": i, "company_name": f"C{i}"} for i in range(30)]},
    )
    with live.client() as c:
        first = c.get("/customers")
        assert len(first.json()) == 25 and first.headers["X-Total-Count"] == "30"
        following = c.get(first.links["next"]["url"])
        assert len(following.json()) == 5 and "next" not in following.links
        for bad in ({"per_page": 0}, {"page": 0}, {"page": "x"}):
            answer = c.get("/customers", params=bad)
            assert answer.status_code == 422 and answer.json()["details"]


def test_connection_and_channel_updates(live: Live) -> None:
    with live.client() as c:
        customer, store = setup_store(c)
        authorize(live, c, store)
        cid = c.post(
            "/connections", json={"name": "Old", "customer_id": customer, "store_id": store}
        ).json()["id"]
        assert (
            c.patch(
                f"/connections/{cid}", json={"name": "New", "enabled_at": "2026-11-26T17:00:00Z"}
            ).status_code
            == 204
        )
        connection = c.get(f"/connections/{cid}").json()
        assert connection["name"] == "New" and connection["enabled_at"] == "2026-11-26T17:00:00Z"
        assert c.patch(f"/connections/{cid}", json={"store_id": 1}).status_code == 422
        assert c.patch(f"/connections/{cid}", json={"enabled_at": "soon"}).status_code == 422
        channels = c.get(f"/connections/{cid}/channels")
        assert [ch["enabled_at"] for ch in channels.json()] == [None, None, None]
        assert (
            c.patch(f"/connections/{cid}/channels/999999", json={"enabled_at": None}).status_code
            == 404
        )
        assert c.get("/connections/999999/channels").status_code == 404


def test_connection_refuses_another_customers_store(live: Live) -> None:
    with live.client() as c:
        _, store = setup_store(c)
        authorize(live, c, store)
        other = c.post("/customers", json={"company_name": "Other"}).json()["id"]
        answer = c.post("/connections", json={"name": "x", "customer_id": other, "store_id": store})
        assert answer.status_code == 422 and "store_id" in answer.json()["details"]


def test_store_is_created_disabled_and_enables_by_timestamp(live: Live) -> None:
    with live.client() as c:
        _, store = setup_store(c)
        assert (
            c.patch(
                f"/stores/{store}", json={"enabled_at": "2026-11-26T18:00:00+01:00"}
            ).status_code
            == 204
        )
        assert c.get(f"/stores/{store}").json()["enabled_at"] == "2026-11-26T17:00:00Z"
        assert c.patch(f"/stores/{store}", json={"enabled_at": None}).status_code == 204
        assert c.get(f"/stores/{store}").json()["enabled_at"] is None
        same = c.patch(f"/stores/{store}", json={"adapter": {"marketplace_id": US}})
        assert same.status_code == 204  # repeating the marketplace is not a change


def test_authorization_expires_365_days_after_approval(live: Live) -> None:
    with live.client() as c:
        _, store = setup_store(c)
        authorize(live, c, store)
        auth = c.get(f"/stores/{store}").json()["adapter"]["authorization"]
        assert auth["expires_at"] > auth["authorized_at"]
        live.admin("POST", "/_sandbox/clock", {"advance_seconds": 364 * 86400})
    with live.client() as c:
        assert (
            c.get(f"/stores/{store}").json()["adapter"]["authorization"]["status"] == "authorized"
        )
        live.admin("POST", "/_sandbox/clock", {"advance_seconds": 2 * 86400})
    with live.client() as c:
        assert c.get(f"/stores/{store}").json()["adapter"]["authorization"]["status"] == "expired"
        again = c.post(f"/stores/{store}/authorization_requests", json={"email": "a@b.example"})
        assert again.status_code == 201


def test_merchant_can_deny_and_an_expired_link_is_gone(live: Live) -> None:
    with live.client() as c:
        _, store = setup_store(c)
        denied = c.post(
            f"/stores/{store}/authorization_requests", json={"email": "a@b.example"}
        ).json()
        token = live.admin("GET", "/_sandbox/outbox").json()[-1]["link"].rsplit("/", 1)[1]
        assert (
            httpx.post(f"{live.url}/authorize/{token}", data={"action": "deny"}).status_code == 200
        )
        assert c.get(f"/authorization_requests/{denied['id']}").json()["status"] == "canceled"
        c.post(f"/stores/{store}/authorization_requests", json={"email": "a@b.example"})
        token = live.admin("GET", "/_sandbox/outbox").json()[-1]["link"].rsplit("/", 1)[1]
        live.admin("POST", "/_sandbox/clock", {"advance_seconds": 7 * 86400 + 1})
        assert httpx.get(f"{live.url}/authorize/{token}").status_code == 410
        assert httpx.get(f"{live.url}/authorize/not-a-token").status_code == 410


def test_rate_limit_is_per_login(live: Live) -> None:
    live.admin("POST", "/_sandbox/users", {"username": "b", "password": "pw-b"})
    live.admin("POST", "/_sandbox/rate_limit", {"rps": 0.5, "burst": 1})
    with live.client() as a, live.client(live.token("b", "pw-b")) as b:
        assert a.get("/customers").status_code == 200
        assert a.get("/customers").status_code == 429
        assert b.get("/customers").status_code == 200
    live.admin("POST", "/_sandbox/rate_limit", {"rps": 0})
    with live.client() as a:
        assert all(a.get("/customers").status_code == 200 for _ in range(5))


def test_latency_is_added_to_api_requests(live: Live) -> None:
    live.admin("POST", "/_sandbox/faults", {"rate": 0, "latency_ms": 150})
    with live.client() as c:
        started = time.monotonic()
        c.get("/customers")
        assert time.monotonic() - started >= 0.15


def test_a_dropped_connection_on_the_wire_is_a_transport_error(live: Live) -> None:
    live.admin("POST", "/_sandbox/faults", {"rate": 1, "after_commit_share": 0, "seed": 0})
    seen: set[object] = set()
    with live.client() as c:
        for _ in range(16):
            try:
                seen.add(c.get("/customers").status_code)
            except httpx.TransportError as exc:
                seen.add(type(exc).__name__)
    assert seen & {"RemoteProtocolError", "ReadError"}, seen
    assert seen - {"RemoteProtocolError", "ReadError"} <= {500, 502, 503}


def test_control_inputs_are_validated(live: Live) -> None:
    for path, body in (
        ("/_sandbox/faults", {"rate": 2}),
        ("/_sandbox/faults", {"rate": "x"}),
        ("/_sandbox/rate_limit", {"rps": -1}),
        ("/_sandbox/clock", {"advance_seconds": "7d"}),
        ("/_sandbox/users", {"username": ""}),
        ("/_sandbox/seed", {"stores": [{"customer_id": 42, "name": "x"}]}),
    ):
        answer = live.admin("POST", path, body)
        assert answer.status_code == 422, (path, body, answer.text)
        assert answer.json()["error"]
    assert (
        live.admin("POST", "/_sandbox/users", {"username": "demo", "password": "x"}).status_code
        == 409
    )


def test_a_store_seeded_with_part_of_an_adapter_takes_a_patch(live: Live) -> None:
    # The seed keeps the adapter it is given; a PATCH to a setting it lacks answered 500
    # "Internal sandbox error (KeyError)", a server failure no real API was seen to give.
    live.admin(
        "POST",
        "/_sandbox/seed",
        {
            "customers": [{"id": 10, "company_name": "Seeded"}],
            "stores": [
                {
                    "id": 20,
                    "customer_id": 10,
                    "name": "Seeded US",
                    "platform": "amazon",
                    "adapter": {"marketplace_id": US},
                }
            ],
        },
    )
    with live.client() as c:
        (store,) = c.get("/stores").json()
        path = f"/stores/{store['id']}"
        answer = c.patch(path, json={"adapter": {"fulfillment_latency": 2}})
        assert answer.status_code == 204, answer.text
        adapter = c.get(path).json()["adapter"]
        assert adapter["fulfillment_latency"] == 2 and adapter["marketplace_id"] == US


@pytest.mark.parametrize("with_warehouses", [True, False])
def test_seed_ties_references_and_gives_customers_a_warehouse(
    live: Live, with_warehouses: bool
) -> None:
    doc: dict[str, object] = {
        "customers": [{"id": 10, "company_name": "Seeded"}],
        "stores": [
            {
                "id": 20,
                "customer_id": 10,
                "name": "Seeded US",
                "platform": "amazon",
                "adapter": {"marketplace_id": US, "authorization": {"status": "authorized"}},
            }
        ],
        "authorization_requests": [
            {"id": 30, "store_id": 20, "email": "a@b.example", "expires_at": "2999-01-01T00:00:00Z"}
        ],
    }
    if with_warehouses:
        doc["warehouses"] = [{"id": 40, "customer_id": 10, "description": "Main"}]
    counts = live.admin("POST", "/_sandbox/seed", doc).json()
    assert counts["customers"] == 1 and counts["stores"] == 1
    with live.client() as c:
        (warehouse,) = c.get("/warehouses").json()
        assert warehouse["description"] == ("Main" if with_warehouses else "Seeded Warehouse")
        (store,) = c.get("/stores").json()
        (request,) = c.get("/authorization_requests").json()
        assert request["store_id"] == store["id"] and request["status"] == "pending"


def test_a_request_seeded_as_expired_is_listed_by_the_expired_filter(live: Live) -> None:
    # The plan reads lapsed invitations with ?status=expired; a request seeded as expired
    # read "expired" by id and in the whole list, yet that filter left it out (the store
    # was planned a first `invite` instead of a `reinvite`).
    live.admin(
        "POST",
        "/_sandbox/seed",
        {
            "customers": [{"id": 10, "company_name": "Seeded"}],
            "stores": [
                {
                    "id": 20,
                    "customer_id": 10,
                    "name": "Seeded US",
                    "platform": "amazon",
                    "adapter": {"marketplace_id": US},
                }
            ],
            "authorization_requests": [
                {
                    "id": 30,
                    "store_id": 20,
                    "email": "a@b.example",
                    "status": "expired",
                    "created_at": "2026-10-01T00:00:00Z",
                    "expires_at": "2026-10-08T00:00:00Z",
                }
            ],
        },
    )
    with live.client() as c:
        (request,) = c.get("/authorization_requests").json()
        assert request["status"] == "expired"
        expired = c.get("/authorization_requests", params={"status": "expired"}).json()
        assert [r["id"] for r in expired] == [request["id"]]
        assert c.get("/authorization_requests", params={"status": "pending"}).json() == []
