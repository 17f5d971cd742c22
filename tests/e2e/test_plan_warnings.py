"""Warnings that guard against quiet double billing and foreign accounts, through the CLI
against a served sandbox (issues 15.4, 15.5, 14.8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Account, Server, new_account

pytestmark = pytest.mark.e2e

EMAIL = "ops@acme.example"


def config(*stores: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "version": 1,
        **top,
        "merchants": [{"name": "Acme", "email": EMAIL, "stores": list(stores)}],
    }


def test_a_store_renamed_in_the_ui_is_not_silently_created_again(account: Account) -> None:
    path = str(account.write_config(config({"name": "Acme US", "marketplace": "US"})))
    account.cli("apply", path, "--auto-approve", check=True)
    [live] = account.api("GET", "/stores")
    account.api("PATCH", f"/stores/{live['id']}", {"name": "Acme USA"})  # by hand, in the UI

    planned = account.cli("plan", path)
    assert planned.returncode == 0, planned.stderr
    assert f"live Amazon store {live['id']} ('Acme USA')" in planned.stderr
    assert f"pin it with `id: {live['id']}`" in planned.stderr
    assert "live Amazon store" not in planned.stdout  # said once, on stderr

    pinned = str(
        account.write_config(config({"name": "Acme US", "marketplace": "US", "id": live["id"]}))
    )
    plan = account.plan_json(pinned)
    assert [c["kind"] for c in plan["changes"]] == ["update_store"]
    assert not any("would be created" in w for w in plan["warnings"])


def test_a_config_that_names_its_account_runs_only_against_it(
    account: Account, server: Server, tmp_path: Path
) -> None:
    other = new_account(server, tmp_path, "other")  # a second login (POST /_sandbox/users)
    us = {"name": "Acme US", "marketplace": "US"}
    path = str(account.write_config(config(us, account=account.username)))

    assert account.cli("plan", path).returncode == 0
    for command in (("plan", path), ("apply", path, "--auto-approve")):
        refused = other.cli(*command)
        assert refused.returncode == 1, refused.stdout
        assert f"belongs to account '{account.username}'" in refused.stderr
        assert f"as account '{other.username}'" in refused.stderr
        assert "stores.yaml:2:" in refused.stderr  # where `account:` is written
    assert other.api("GET", "/customers") == []  # nothing was created in the other account

    # Without `account:` nothing changes: any account may plan the file.
    anyone = str(account.write_config(config(us), name="anyone.yaml"))
    assert other.cli("plan", anyone).returncode == 0


def test_the_files_of_one_config_must_name_the_same_account(account: Account) -> None:
    (account.workdir / "conf").mkdir()
    account.write_config(
        {"version": 1, "account": account.username, "merchants": []}, name="conf/a.yaml"
    )
    account.write_config(
        config({"name": "Acme US", "marketplace": "US"}, account="someone"), name="conf/b.yaml"
    )
    result = account.cli("plan", "conf")
    assert result.returncode == 1
    assert (
        f"account 'someone' differs from account '{account.username}' named at conf/a.yaml:2:10"
    ) in result.stderr
    # One file naming it is enough for the whole config.
    account.write_config(config({"name": "Acme US", "marketplace": "US"}), name="conf/b.yaml")
    assert account.cli("plan", "conf").returncode == 0


def test_an_authorization_by_another_seller_holds_back_its_connection(account: Account) -> None:
    stores = ({"name": "Acme US", "marketplace": "US"}, {"name": "Acme CA", "marketplace": "CA"})
    path = str(account.write_config(config(*stores)))
    account.cli("apply", path, "--auto-approve", check=True)
    ids = {s["name"]: s["id"] for s in account.api("GET", "/stores")}
    for mail in account.outbox():
        rid = mail["authorization_request_id"]
        request = account.api("GET", f"/authorization_requests/{rid}")
        seller = "A1ACME" if request["store_id"] == ids["Acme US"] else "A9STRANGER"
        account.control(
            "POST",
            f"/_sandbox/authorization_requests/{rid}/complete",
            {"selling_partner_id": seller},
        )

    unpinned = account.plan_json(path)
    assert [c["kind"] for c in unpinned["changes"]] == ["create_connection"] * 2
    assert any("2 different Amazon sellers" in w for w in unpinned["warnings"])

    pinned = config(*stores)
    pinned["merchants"][0]["selling_partner_id"] = "A1ACME"
    path = str(account.write_config(pinned))
    account.cli("apply", path, "--auto-approve", check=True)
    connected = {c["store_id"] for c in account.api("GET", "/connections")}
    assert connected == {ids["Acme US"]}  # the stranger's store waits for a review
    again = account.plan_json(path)
    assert again["changes"] == []
    assert any("authorized by Amazon seller A9STRANGER, not A1ACME" in w for w in again["warnings"])


def test_a_merchant_approving_its_stores_in_the_sandbox_is_one_seller(account: Account) -> None:
    # `sandbox authorize REQUEST_ID` (the README's way to play the merchant) gave every store
    # a seller of its own, so the next plan warned that the merchant's stores were authorized
    # by different Amazon sellers: a warning about the sandbox, not about the account.
    stores = ({"name": "Acme US", "marketplace": "US"}, {"name": "Acme CA", "marketplace": "CA"})
    path = str(account.write_config(config(*stores)))
    account.cli("apply", path, "--auto-approve", check=True)
    for mail in account.outbox():
        rid = mail["authorization_request_id"]
        account.control("POST", f"/_sandbox/authorization_requests/{rid}/complete", {})

    sellers = {
        s["adapter"]["authorization"]["selling_partner_id"] for s in account.api("GET", "/stores")
    }
    assert len(sellers) == 1, sellers
    plan = account.plan_json(path)
    assert [c["kind"] for c in plan["changes"]] == ["create_connection"] * 2
    assert not any("different Amazon sellers" in w for w in plan["warnings"]), plan["warnings"]
