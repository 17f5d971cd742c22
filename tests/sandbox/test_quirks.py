"""The quirk modes' surface: set and read over `/_sandbox/quirks`, refused when unknown, given
to `sandbox serve --quirk`, and gone again when cleared. What each mode is for is tested
where it matters, in tests/doctor/ (doctor, the plan's partial-read guard, the degradation
without an invite endpoint)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dropstream_sync.cli import cli
from dropstream_sync.cli.sandbox import QUIRK_HELP
from dropstream_sync.sandbox.quirks import QUIRKS
from tests.sandbox.conftest import Live
from tests.sandbox.test_contract import amazon_store


def test_quirks_are_set_read_back_in_order_and_cleared(live: Live) -> None:
    assert live.admin("GET", "/_sandbox/quirks").json() == {"quirks": []}
    set_ = live.admin(
        "POST", "/_sandbox/quirks", {"quirks": ["no-expires-in", "cap:7", "no-link", "cap:100"]}
    )
    assert set_.status_code == 200
    assert set_.json() == {"quirks": ["no-link", "cap:100", "no-expires-in"]}  # a later cap wins
    assert live.admin("GET", "/_sandbox/quirks").json() == set_.json()
    with live.client() as c:
        for i in range(120):
            c.post("/customers", json={"company_name": f"C{i}"})
        capped = c.get("/customers", params={"per_page": 10, "page": 3})
        assert len(capped.json()) == 100 and capped.json()[0]["company_name"] == "C0"
        assert "Link" not in capped.headers and "X-Total-Count" not in capped.headers
    assert live.admin("POST", "/_sandbox/quirks", {"quirks": []}).json() == {"quirks": []}
    with live.client() as c:
        page = c.get("/customers", params={"per_page": 10, "page": 3})
        assert page.json()[0]["company_name"] == "C20"
        assert page.headers["X-Total-Count"] == "120" and 'rel="next"' in page.headers["Link"]


def test_envelope_adapter_keys_and_a_missing_invite_endpoint(live: Live) -> None:
    live.admin(
        "POST",
        "/_sandbox/quirks",
        {"quirks": ["envelope", "adapter-keys", "no-authorization-requests"]},
    )
    with live.client() as c:
        customer = c.post("/customers", json={"company_name": "Acme"}).json()["id"]
        store = c.post("/stores", json=amazon_store(customer, "Acme US")).json()["id"]
        body = c.get("/stores", params={"per_page": 1}).json()
        assert body["total_count"] == 1 and body["total_pages"] == 1
        adapter = body["data"][0]["adapter"]
        assert "marketplace_id" not in adapter and adapter["marketplace"]
        assert "fulfillment_channel" not in adapter and "channel" in adapter
        assert "marketplace_id" not in c.get(f"/stores/{store}").json()["adapter"]
        missing = c.post(
            f"/stores/{store}/authorization_requests", json={"email": "ops@acme.example"}
        )
        assert missing.status_code == 404 and "No such endpoint" in missing.json()["error"]
        assert c.get("/authorization_requests").status_code == 404
    assert live.admin("GET", "/_sandbox/outbox").json() == []  # nothing was sent


@pytest.mark.parametrize(
    "body", [{"quirks": ["no-such"]}, {"quirks": ["cap:0"]}, {"quirks": "no-link"}, {}]
)
def test_an_unknown_quirk_is_refused_with_the_list_of_known_ones(live: Live, body: object) -> None:
    answer = live.admin("POST", "/_sandbox/quirks", body)
    assert answer.status_code == 422
    assert "quirks" in answer.json()["details"]
    if body and isinstance(body["quirks"], list):  # type: ignore[index]
        assert "no-authorization-requests" in answer.json()["error"]
    assert live.admin("GET", "/_sandbox/quirks").json() == {"quirks": []}


def test_serve_refuses_an_unknown_quirk_before_serving() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "serve", "--quirk", "cap:lots"])
    assert result.exit_code == 2
    assert "Unknown quirk 'cap:lots'" in result.output and "ignore-per-page" in result.output


def test_the_serve_help_names_every_quirk() -> None:
    listed = QUIRK_HELP.split("(repeatable): ", 1)[1].split(".", 1)[0]
    assert [name.strip() for name in listed.split(",")] == list(QUIRKS)
