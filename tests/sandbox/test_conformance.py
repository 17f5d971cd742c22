"""The sandbox answers what its own OpenAPI document says (issue 14.7)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.sandbox.conftest import Live

ROOT = Path(__file__).resolve().parents[2]


def test_years_below_1000_are_written_with_four_digits(live: Live) -> None:
    with live.client() as c:
        customer = c.post("/customers", json={"company_name": "Acme"}).json()["id"]
        store = c.post(
            "/stores",
            json={
                "customer_id": customer,
                "name": "Acme US",
                "platform": "amazon",
                "adapter": {"marketplace_id": "ATVPDKIKX0DER"},
            },
        ).json()
        assert (
            c.patch(
                f"/stores/{store['id']}", json={"enabled_at": "0482-06-30T02:21:22+00:00"}
            ).status_code
            == 204
        )
        assert c.get(f"/stores/{store['id']}").json()["enabled_at"] == "0482-06-30T02:21:22Z"


def test_an_empty_status_filter_is_refused_like_any_bad_value(live: Live) -> None:
    with live.client() as c:
        answer = c.get("/authorization_requests", params={"status": ""})
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("Validation failed: status must be one of")
    assert "status" in answer.json()["details"]


def test_a_patch_without_a_body_is_refused(live: Live) -> None:
    with live.client() as c:
        c.post("/customers", json={"company_name": "Acme"})
        answer = c.patch("/customers/1")
        assert answer.status_code == 422
        assert answer.json()["error"] == "The request body must be a JSON object."
        assert c.get("/customers/1").json()["company_name"] == "Acme"


def test_a_method_not_allowed_names_the_allowed_ones(live: Live) -> None:
    with live.client() as c:
        answer = c.delete("/customers/1")
        assert answer.status_code == 405
        assert answer.headers["Allow"] == "GET, HEAD, PATCH"
        assert answer.json()["error"] == "DELETE is not allowed on /customers/1."
    stats = httpx.put(
        live.url + "/_sandbox/stats", headers={"X-Sandbox-Admin": live.app.sandbox_info.admin_key}
    )
    assert stats.status_code == 405 and stats.headers["Allow"] == "GET, HEAD"


def test_the_document_is_served_and_is_the_committed_one(live: Live) -> None:
    served = httpx.get(live.url + "/openapi.json")
    assert served.status_code == 200
    committed = json.loads((ROOT / "schemas" / "sandbox.openapi.json").read_text())
    assert served.json() == committed
    seed = committed["paths"]["/_sandbox/seed"]["post"]
    assert "requestBody" in seed and {"200", "403", "422"} <= set(seed["responses"])
