"""The whole lifecycle over a real loopback server, through the CLI as a user runs it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.harness import Account

pytestmark = pytest.mark.e2e

EMAIL = "ops@acme.example"


def config(
    *stores: dict[str, Any], email: str | None = EMAIL, prune: bool = False, **top: Any
) -> dict[str, Any]:
    merchant: dict[str, Any] = {"name": "Acme", "stores": list(stores)}
    if email:
        merchant["email"] = email
    return {"version": 1, "prune": prune, **top, "merchants": [merchant]}


US = {"name": "Acme US", "marketplace": "US"}
CA = {"name": "Acme CA", "marketplace": "CA"}


def kinds(plan: dict[str, Any]) -> list[str]:
    return sorted(c["kind"] for c in plan["changes"])


def approve_all(account: Account) -> None:
    for mail in account.outbox():
        request = account.api("GET", f"/authorization_requests/{mail['authorization_request_id']}")
        if request["status"] == "pending":
            account.control(
                "POST", f"/_sandbox/authorization_requests/{request['id']}/complete", {}
            )


def converge(account: Account, path: str) -> None:
    """apply, approve every invite, apply again: the stores end authorized and connected."""
    account.cli("apply", path, "--auto-approve", check=True)
    approve_all(account)
    account.cli("apply", path, "--auto-approve", check=True)


def test_full_lifecycle_from_empty_account_to_no_changes(account: Account) -> None:
    path = str(account.write_config(config(US, CA)))

    planned = account.cli("plan", path, "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr
    assert "Acme US" in planned.stdout

    account.cli("apply", path, "--auto-approve", check=True)
    assert len(account.outbox_for(EMAIL)) == 2

    approve_all(account)
    applied = account.cli("apply", path, "--auto-approve", check=True)
    assert "create_connection" in applied.stdout

    final = account.cli("plan", path, "--detailed-exitcode")
    assert final.returncode == 0, final.stdout
    connections = account.api("GET", "/connections")
    assert len(connections) == 2
    assert all(c["enabled_at"] for c in connections)


def test_expired_invite_is_sent_again(account: Account) -> None:
    path = str(account.write_config(config(US)))
    account.cli("apply", path, "--auto-approve", check=True)
    assert len(account.outbox_for(EMAIL)) == 1

    account.control("POST", "/_sandbox/clock", {"advance_seconds": 8 * 86400})
    plan = account.plan_json(path)
    # The sandbox reports the lapsed request `expired`: a reinvite that says so, and that
    # cancels nothing (the request is not pending).
    assert kinds(plan) == ["reinvite"]
    detail = plan["changes"][0]["detail"]
    assert detail["reason"].startswith("the invitation expired on ")
    assert detail["cancel_request_id"] is None

    account.cli("apply", path, "--auto-approve", check=True)
    assert len(account.outbox_for(EMAIL)) == 2
    assert account.plan_json(path)["changes"] == []  # the new request is pending


def test_revoked_authorization_is_reinvited(account: Account) -> None:
    path = str(account.write_config(config(US)))
    converge(account, path)
    store = account.api("GET", "/stores")[0]
    account.control("POST", f"/_sandbox/stores/{store['id']}/revoke")

    plan = account.plan_json(path)
    assert "invite" in kinds(plan)
    account.cli("apply", path, "--auto-approve", check=True)
    assert len(account.outbox_for(EMAIL)) == 2


def test_changed_email_cancels_the_old_request_and_invites_the_new_address(
    account: Account,
) -> None:
    account.write_config(config(US))
    account.cli("apply", "stores.yaml", "--auto-approve", check=True)
    old = account.api("GET", "/authorization_requests", params={"status": "pending"})
    assert [r["email"] for r in old] == [EMAIL]

    account.write_config(config(US, email="new@acme.example"))
    assert kinds(account.plan_json("stores.yaml")) == ["reinvite"]
    account.cli("apply", "stores.yaml", "--auto-approve", check=True)

    assert account.api("GET", f"/authorization_requests/{old[0]['id']}")["status"] == "canceled"
    assert len(account.outbox_for("new@acme.example")) == 1


def test_prune_disables_an_unlisted_store_and_cancels_its_request(account: Account) -> None:
    account.write_config(config(US, CA, prune=True))
    converge(account, "stores.yaml")
    # A second unlisted store waits for its merchant: prune cancels that request.
    account.write_config(config(US, CA, {"name": "Acme MX", "marketplace": "MX"}, prune=True))
    account.cli("apply", "stores.yaml", "--auto-approve", check=True)

    account.write_config(config(US, prune=True))
    plan = account.plan_json("stores.yaml")
    assert kinds(plan) == ["cancel_invite", "disable", "disable"] or kinds(plan) == [
        "cancel_invite",
        "disable",
    ]
    account.cli("apply", "stores.yaml", "--auto-approve", "--force", check=True)
    stores = {s["name"]: s for s in account.api("GET", "/stores")}
    assert stores["Acme CA"]["enabled_at"] is None
    assert stores["Acme US"]["enabled_at"] is not None
    assert account.api("GET", "/authorization_requests", params={"status": "pending"}) == []


def test_prune_false_leaves_an_unlisted_store_alone(account: Account) -> None:
    account.write_config(config(US, CA))
    converge(account, "stores.yaml")
    account.write_config(config(US))
    result = account.cli("plan", "stores.yaml", "--detailed-exitcode")
    assert result.returncode == 0, result.stdout


def test_enabled_false_disables_store_and_connection(account: Account) -> None:
    account.write_config(config(US))
    converge(account, "stores.yaml")
    account.write_config(config({**US, "enabled": False}))
    assert kinds(account.plan_json("stores.yaml")) == ["disable"]
    account.cli("apply", "stores.yaml", "--auto-approve", check=True)
    assert account.api("GET", "/stores")[0]["enabled_at"] is None
    assert account.api("GET", "/connections")[0]["enabled_at"] is None


def test_rename_with_pinned_id_is_an_update(account: Account) -> None:
    account.write_config(config(US))
    converge(account, "stores.yaml")
    store_id = account.api("GET", "/stores")[0]["id"]
    account.write_config(config({"name": "Acme USA", "id": store_id, "marketplace": "US"}))
    plan = account.plan_json("stores.yaml")
    assert kinds(plan) == ["update_connection", "update_store"]
    account.cli("apply", "stores.yaml", "--auto-approve", check=True)
    assert [s["name"] for s in account.api("GET", "/stores")] == ["Acme USA"]
    assert [c["name"] for c in account.api("GET", "/connections")] == ["Acme USA"]


def test_stale_saved_plan_is_refused(account: Account) -> None:
    account.write_config(config(US))
    converge(account, "stores.yaml")
    account.write_config(config({**US, "fulfillment_latency": 3}))
    account.cli("plan", "stores.yaml", "--out", "plan.json", check=True)
    store_id = account.api("GET", "/stores")[0]["id"]
    account.api("PATCH", f"/stores/{store_id}", {"name": "Renamed in the UI"})

    refused = account.cli("apply", "plan.json")
    assert refused.returncode == 1
    assert "plan is stale" in refused.stderr
    assert f"store/{store_id}" in refused.stderr or "store" in refused.stderr


def test_a_plan_made_stale_by_an_approval_says_what_left_and_what_to_run(
    account: Account,
) -> None:
    # The common case: the plan was saved while a merchant's invite was pending, and the
    # merchant approved it before the apply. It was "gone: authorization_request/N" (it is
    # not gone: it left the pending list) and "Run plan again", with no command to copy.
    path = str(account.write_config(config(US)))
    account.cli("apply", path, "--auto-approve", check=True)
    account.cli("plan", path, "--out", "plan.json", check=True)
    (mail,) = account.outbox_for(EMAIL)
    approve_all(account)

    refused = account.cli("apply", "plan.json")

    assert refused.returncode == 1
    request = f"authorization_request/{mail['authorization_request_id']}"
    assert f"no longer listed: {request}" in refused.stderr, refused.stderr
    assert "gone:" not in refused.stderr
    assert "Make the plan again with `dropstream-sync plan PATH... --out FILE`" in refused.stderr


def test_blocked_plan_is_refused_then_forced(account: Account) -> None:
    account.write_config(config({**US, "protect": True}))
    converge(account, "stores.yaml")
    account.write_config(config({**US, "protect": True, "enabled": False}))
    account.cli("plan", "stores.yaml", "--out", "plan.json", check=True)
    assert json.loads((account.workdir / "plan.json").read_text())["summary"]["blocked"]

    refused = account.cli("apply", "plan.json")
    assert refused.returncode == 1
    assert "blocked" in refused.stderr
    assert account.api("GET", "/stores")[0]["enabled_at"] is not None

    account.cli("apply", "plan.json", "--force", check=True)
    assert account.api("GET", "/stores")[0]["enabled_at"] is None


def test_apply_without_terminal_needs_auto_approve(account: Account) -> None:
    account.write_config(config(US))
    refused = account.cli("apply", "stores.yaml")
    assert refused.returncode == 1
    assert "--auto-approve" in refused.stderr
    assert account.api("GET", "/customers") == []


def test_import_then_plan_has_no_changes(account: Account) -> None:
    account.write_config(config(US, {**CA, "fulfillment_latency": 4, "enabled": False}))
    converge(account, "stores.yaml")
    account.cli("import", "--output", "imported.yaml", check=True)
    account.cli("validate", "imported.yaml", check=True)
    result = account.cli("plan", "imported.yaml", "--detailed-exitcode")
    assert result.returncode == 0, result.stdout
    assert "note:" not in account.cli("import", "--output", "again.yaml", check=True).stderr


def test_audit_log_has_one_line_per_change_without_secrets(account: Account) -> None:
    account.write_config(config(US, CA))
    account.cli("apply", "stores.yaml", "--auto-approve", "--audit-log", "audit.jsonl", check=True)
    lines = (account.workdir / "audit.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted(r["kind"] for r in records) == [
        "create_merchant",
        "create_store",
        "create_store",
        "invite",
        "invite",
    ]
    assert all(r["outcome"] == "ok" and r["config_digest"] for r in records)
    assert account.password not in "".join(lines)


def test_authorization_nearing_expiry_is_renewed_without_dropping_the_connection(
    account: Account,
) -> None:
    path = str(account.write_config(config(US, reauthorize_days=30)))
    converge(account, path)
    before = account.api("GET", "/stores")[0]["adapter"]["authorization"]

    account.control("POST", "/_sandbox/clock", {"advance_seconds": 340 * 86400})
    planned = account.plan_json(path)
    assert kinds(planned) == ["reinvite"]
    assert planned["changes"][0]["detail"]["reason"].startswith("the authorization expires")

    account.cli("apply", path, "--auto-approve", check=True)
    assert len(account.outbox_for(EMAIL)) == 2
    # The merchant has not answered yet: the store still takes orders.
    assert all(c["enabled_at"] for c in account.api("GET", "/connections"))
    assert kinds(account.plan_json(path)) == []

    approve_all(account)
    after = account.api("GET", "/stores")[0]["adapter"]["authorization"]
    assert after["status"] == "authorized"
    assert after["selling_partner_id"] == before["selling_partner_id"]
    assert after["expires_at"] > before["expires_at"]
    final = account.cli("plan", path, "--detailed-exitcode")
    assert final.returncode == 0, final.stdout


def test_apply_stamps_enabled_at_on_the_apis_clock(account: Account) -> None:
    account.control("POST", "/_sandbox/clock", {"advance_seconds": 100 * 86400})
    path = str(account.write_config(config(US)))
    converge(account, path)
    enabled = account.api("GET", "/connections")[0]["enabled_at"]
    ahead = datetime.now(UTC) + timedelta(days=99)
    assert enabled > ahead.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_import_notes_the_invites_its_email_would_send(account: Account) -> None:
    account.write_config(config(US))
    converge(account, "stores.yaml")
    account.control("POST", "/_sandbox/clock", {"advance_seconds": 340 * 86400})
    # A second store waits for the merchant: its invite is where import finds the email.
    account.write_config(config(US, CA, reauthorize_days=0))
    account.cli("apply", "stores.yaml", "--auto-approve", check=True)

    imported = account.cli("import", "--output", "imported.yaml", check=True)
    assert "email: ops@acme.example" in (account.workdir / "imported.yaml").read_text()
    assert "note: a plan of this file now has 1 change(s) (1 reinvite)" in imported.stderr
    assert "reinvite Acme / Acme US: the authorization expires" in imported.stderr
    assert kinds(account.plan_json("imported.yaml")) == ["reinvite"]


def test_import_of_an_account_the_config_cannot_express_still_writes_it(
    account: Account,
) -> None:
    # DropStream lets two customers share a company name; a config names merchants by it.
    for market in ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"):
        customer = account.api("POST", "/customers", {"company_name": "Acme"})
        account.api(
            "POST",
            "/stores",
            {
                "customer_id": customer["id"],
                "name": "Acme shop",
                "platform": "amazon",
                "adapter": {"marketplace_id": market},
            },
        )

    imported = account.cli("import", "--output", "imported.yaml")
    assert imported.returncode == 0, imported.stderr
    assert (account.workdir / "imported.yaml").read_text().count("- name: Acme\n") == 2
    assert "note: a plan of this file stops with an error" in imported.stderr
    # Positions name the file the user got, not the scratch copy that was planned.
    assert "\n  imported.yaml:" in imported.stderr and "/imported.yaml" not in imported.stderr
