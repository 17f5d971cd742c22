"""The sandbox keeps the API contract of shared/spec/dropstream-api.md, over a real socket."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import httpx

from dropstream_sync.sandbox import create_app, inprocess_transport
from dropstream_sync.sandbox.openapi import document_text
from tests.sandbox.conftest import Live

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
ROOT = Path(__file__).resolve().parents[2]


def amazon_store(customer_id: int, name: str = "Acme US", **adapter: object) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "name": name,
        "platform": "amazon",
        "adapter": {"marketplace_id": US, **adapter},
    }


def setup_store(c: httpx.Client) -> tuple[int, int]:
    customer = c.post("/customers", json={"company_name": "Acme"}).json()["id"]
    store = c.post("/stores", json=amazon_store(customer)).json()["id"]
    return customer, store


def authorize(live: Live, c: httpx.Client, store: int) -> int:
    request = c.post(
        f"/stores/{store}/authorization_requests", json={"email": "ops@acme.example"}
    ).json()
    assert (
        live.admin(
            "POST", f"/_sandbox/authorization_requests/{request['id']}/complete", {}
        ).status_code
        == 200
    )
    return int(request["id"])


def test_token_is_required_and_signed(live: Live) -> None:
    no_token = httpx.get(live.url + "/customers")
    assert no_token.status_code == 401
    assert no_token.headers["WWW-Authenticate"] == "Bearer"
    assert "error" in no_token.json()
    forged = live.token()[:-4] + "AAAA"
    assert (
        httpx.get(
            live.url + "/customers", headers={"Authorization": f"Bearer {forged}"}
        ).status_code
        == 401
    )
    wrong = httpx.post(live.url + "/auth/token", auth=("demo", "nope"), json={})
    assert wrong.status_code == 401
    body = httpx.post(
        live.url + "/auth/token",
        auth=(live.app.sandbox_info.username, live.app.sandbox_info.password),
        json={"grant_type": "client_credentials"},
    ).json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600


def test_token_expires_with_the_sandbox_clock(live: Live) -> None:
    with live.client() as c:
        assert c.get("/customers").status_code == 200
        live.admin("POST", "/_sandbox/clock", {"advance_seconds": 3601})
        assert c.get("/customers").status_code == 401


def test_customer_crud_and_validation(live: Live) -> None:
    with live.client() as c:
        created = c.post("/customers", json={"company_name": "Acme"})
        assert created.status_code == 201 and set(created.json()) == {"id"}
        cid = created.json()["id"]
        assert c.get(f"/customers/{cid}").json()["company_name"] == "Acme"
        assert c.patch(f"/customers/{cid}", json={"city": "Oslo"}).status_code == 204
        assert c.get(f"/customers/{cid}").json()["city"] == "Oslo"
        missing = c.post("/customers", json={})
        assert missing.status_code == 422 and "company_name" in missing.json()["details"]
        assert (
            c.post(
                "/customers", content=b"{not json", headers={"Content-Type": "application/json"}
            ).status_code
            == 400
        )
        assert c.get("/customers/999999").status_code == 404
        warehouses = c.get("/warehouses").json()
        assert [w["description"] for w in warehouses] == ["Acme Warehouse"]


def test_store_adapter_validation_and_merge(live: Live) -> None:
    with live.client() as c:
        customer, store = setup_store(c)
        body = c.get(f"/stores/{store}").json()
        assert body["enabled_at"] is None
        assert body["adapter"]["authorization"]["status"] == "missing"
        assert body["adapter"]["fulfillment_channel"] == "MFN"
        bad = c.post(
            "/stores", json=amazon_store(customer, marketplace_id="XX", fulfillment_latency=31)
        )
        assert bad.status_code == 422
        assert (
            c.patch(f"/stores/{store}", json={"adapter": {"marketplace_id": CA}}).status_code == 422
        )
        assert (
            c.patch(f"/stores/{store}", json={"adapter": {"authorization": {}}}).status_code == 422
        )
        assert (
            c.patch(f"/stores/{store}", json={"adapter": {"fulfillment_latency": 3}}).status_code
            == 204
        )
        adapter = c.get(f"/stores/{store}").json()["adapter"]
        assert adapter["fulfillment_latency"] == 3 and adapter["fulfillment_channel"] == "MFN"


def test_connection_needs_authorization_is_unique_and_starts_disabled(live: Live) -> None:
    with live.client() as c:
        customer, store = setup_store(c)
        body = {"name": "Acme US", "customer_id": customer, "store_id": store}
        assert c.post("/connections", json=body).status_code == 422
        authorize(live, c, store)
        created = c.post("/connections", json=body)
        assert created.status_code == 201
        assert c.post("/connections", json=body).status_code == 409
        connection = c.get(f"/connections/{created.json()['id']}").json()
        assert connection["enabled_at"] is None
        assert {ch["type"] for ch in connection["channels"]} == {
            "sales_order",
            "sales_order_return",
            "shipment",
        }
        channel = connection["channels"][0]["id"]
        assert (
            c.patch(
                f"/connections/{connection['id']}/channels/{channel}",
                json={"enabled_at": "2026-11-26T17:00:00Z"},
            ).status_code
            == 204
        )


def test_authorization_request_lifecycle(live: Live) -> None:
    with live.client() as c:
        _, store = setup_store(c)
        path = f"/stores/{store}/authorization_requests"
        assert c.post(path, json={"email": "not-an-email"}).status_code == 422
        first = c.post(path, json={"email": "ops@acme.example"})
        assert first.status_code == 201 and first.json()["status"] == "pending"
        assert c.post(path, json={"email": "ops@acme.example"}).status_code == 409
        rid = first.json()["id"]
        assert c.delete(f"/authorization_requests/{rid}").status_code == 204
        assert c.delete(f"/authorization_requests/{rid}").status_code == 409
        second = c.post(path, json={"email": "ops@acme.example"}).json()
        live.admin("POST", "/_sandbox/clock", {"advance_seconds": 8 * 86400})
        fresh = live.client()
        assert fresh.get(f"/authorization_requests/{second['id']}").json()["status"] == "expired"
        assert fresh.get("/authorization_requests", params={"status": "pending"}).json() == []
        third = fresh.post(path, json={"email": "ops@acme.example"}).json()
        live.admin("POST", f"/_sandbox/authorization_requests/{third['id']}/complete", {})
        auth = fresh.get(f"/stores/{store}").json()["adapter"]["authorization"]
        assert auth["status"] == "authorized" and auth["selling_partner_id"]
        # On an authorized store a request is a renewal; the store stays authorized meanwhile.
        renewal = fresh.post(path, json={"email": "ops@acme.example"})
        assert renewal.status_code == 201 and renewal.json()["status"] == "pending"
        assert fresh.get(f"/stores/{store}").json()["adapter"]["authorization"] == auth
        assert fresh.delete(f"/authorization_requests/{renewal.json()['id']}").status_code == 204
        live.admin("POST", f"/_sandbox/stores/{store}/revoke")
        auth = fresh.get(f"/stores/{store}").json()["adapter"]["authorization"]
        assert auth["status"] == "revoked"


def test_merchant_link_is_single_use(live: Live) -> None:
    with live.client() as c:
        _, store = setup_store(c)
        c.post(f"/stores/{store}/authorization_requests", json={"email": "ops@acme.example"})
        link = live.admin("GET", "/_sandbox/outbox").json()[0]["link"]
        token = link.rsplit("/", 1)[1]
        assert len(token) >= 22
        page = httpx.get(f"{live.url}/authorize/{token}")
        assert page.status_code == 200 and "Approve" in page.text and "Acme US" in page.text
        assert (
            httpx.post(f"{live.url}/authorize/{token}", data={"action": "approve"}).status_code
            == 200
        )
        assert (
            httpx.post(f"{live.url}/authorize/{token}", data={"action": "approve"}).status_code
            == 410
        )
        assert (
            c.get(f"/stores/{store}").json()["adapter"]["authorization"]["status"] == "authorized"
        )


def test_lists_paginate_with_link_and_total(live: Live) -> None:
    customers = [{"id": i, "company_name": f"C{i:03d}"} for i in range(1, 231)]
    seeded = live.admin("POST", "/_sandbox/seed", {"customers": customers}).json()
    assert seeded["customers"] == 230
    with live.client() as c:
        names: list[str] = []
        url: str | None = "/customers?per_page=100"
        pages = 0
        while url:
            page = c.get(url)
            assert page.headers["X-Total-Count"] == "230"
            names += [x["company_name"] for x in page.json()]
            url = page.links.get("next", {}).get("url")
            pages += 1
        assert pages == 3 and names == sorted(names) and len(set(names)) == 230
        assert c.get("/customers", params={"per_page": 101}).status_code == 422
        assert len(c.get("/customers", params={"page": 3, "per_page": 100}).json()) == 30
        assert "next" not in c.get("/customers", params={"page": 3, "per_page": 100}).links


def test_another_accounts_object_is_a_404(live: Live) -> None:
    live.admin("POST", "/_sandbox/users", {"username": "other", "password": "pw-other"})
    with live.client() as mine, live.client(live.token("other", "pw-other")) as theirs:
        customer, store = setup_store(mine)
        assert theirs.get(f"/customers/{customer}").status_code == 404
        assert theirs.get(f"/stores/{store}").status_code == 404
        assert theirs.patch(f"/stores/{store}", json={"name": "x"}).status_code == 404
        assert theirs.get("/stores").json() == []


def test_rate_limit_answers_429_with_retry_after(live: Live) -> None:
    live.admin("POST", "/_sandbox/rate_limit", {"rps": 1, "burst": 2})
    with live.client() as c:
        statuses = [c.get("/customers") for _ in range(4)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and int(limited[0].headers["Retry-After"]) >= 1
    assert live.admin("GET", "/_sandbox/stats").json()["rate_limited"] == len(limited)


def test_faults_before_commit_leave_nothing_behind(live: Live) -> None:
    live.admin("POST", "/_sandbox/faults", {"rate": 1, "after_commit_share": 0, "seed": 3})
    with live.client() as c:
        for _ in range(5):
            with contextlib.suppress(httpx.TransportError):
                assert c.post("/customers", json={"company_name": "X"}).status_code >= 500
        live.admin("POST", "/_sandbox/faults", {"rate": 0})
        assert c.get("/customers").json() == []
    assert live.admin("GET", "/_sandbox/stats").json()["faults"] == 5


def test_faults_after_commit_keep_the_write(live: Live) -> None:
    live.admin("POST", "/_sandbox/faults", {"rate": 1, "after_commit_share": 1, "seed": 4})
    with live.client() as c:
        outcomes: set[object] = set()
        for _ in range(16):
            try:
                outcomes.add(c.post("/customers", json={"company_name": "X"}).status_code)
            except httpx.RemoteProtocolError:
                outcomes.add("dropped")
        live.admin("POST", "/_sandbox/faults", {"rate": 0})
        assert len(c.get("/customers").json()) == 16
    assert outcomes <= {500, 502, 503, "dropped"} and "dropped" in outcomes


def test_dropped_connection_in_process_is_a_transport_error(tmp_path: Path) -> None:
    import asyncio

    app = create_app(tmp_path, fault_rate=1, fault_after_commit=1, fault_seed=0)
    app.faults.seed = 0

    async def go() -> set[str]:
        seen = set()
        async with httpx.AsyncClient(
            transport=inprocess_transport(app), base_url="http://sandbox.local"
        ) as h:
            token = (
                await h.post(
                    "/auth/token",
                    json={},
                    auth=(app.sandbox_info.username, app.sandbox_info.password),
                )
            ).json()["access_token"]
            for _ in range(12):
                try:
                    r = await h.get("/customers", headers={"Authorization": f"Bearer {token}"})
                    seen.add(str(r.status_code))
                except httpx.RemoteProtocolError:
                    seen.add("dropped")
        return seen

    assert "dropped" in asyncio.run(go())


def test_state_survives_a_restart_and_is_shared_between_apps(tmp_path: Path) -> None:
    import asyncio

    async def count(app: object, add: bool) -> int:
        async with httpx.AsyncClient(
            transport=inprocess_transport(app),  # type: ignore[arg-type]
            base_url="http://sandbox.local",
        ) as h:
            info = app.sandbox_info  # type: ignore[attr-defined]
            token = (
                await h.post("/auth/token", json={}, auth=(info.username, info.password))
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            if add:
                await h.post("/customers", json={"company_name": "Kept"}, headers=headers)
            return len((await h.get("/customers", headers=headers)).json())

    first, second = create_app(tmp_path), create_app(tmp_path)
    assert asyncio.run(count(first, True)) == 1
    assert asyncio.run(count(second, True)) == 2
    assert asyncio.run(count(create_app(tmp_path), False)) == 2


def test_control_surface_needs_the_admin_key(live: Live) -> None:
    assert httpx.get(live.url + "/_sandbox/stats").status_code == 403
    assert (
        httpx.post(live.url + "/_sandbox/reset", headers={"X-Sandbox-Admin": "wrong"}).status_code
        == 403
    )


def test_stats_count_by_route_template_and_reset_empties(live: Live) -> None:
    with live.client() as c:
        _, store = setup_store(c)
        c.get(f"/stores/{store}")
    stats = live.admin("GET", "/_sandbox/stats").json()
    assert stats["requests"]["GET /stores/{id}"] == 1
    assert stats["requests"]["POST /stores"] == 1
    assert live.admin("POST", "/_sandbox/reset").status_code == 204
    with live.client() as c:
        assert c.get("/customers").json() == []


def test_committed_openapi_document_is_current() -> None:
    committed = (ROOT / "schemas" / "sandbox.openapi.json").read_text()
    assert committed == document_text(), (
        "regenerate: python -m dropstream_sync.sandbox.openapi > schemas/sandbox.openapi.json"
    )


def test_every_route_is_documented_and_every_documented_path_exists() -> None:
    from dropstream_sync.sandbox.api import API_ROUTES
    from dropstream_sync.sandbox.context import Op
    from dropstream_sync.sandbox.control import CONTROL_ROUTES, ControlOp

    doc = json.loads(document_text())
    ops: list[Op | ControlOp] = [*API_ROUTES, *CONTROL_ROUTES]
    served = {(op.method.lower(), op.template) for op in ops} | {
        ("post", "/auth/token"),
        ("get", "/authorize/{token}"),
        ("post", "/authorize/{token}"),
        ("get", "/openapi.json"),
    }
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == served
