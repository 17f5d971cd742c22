"""Warnings that guard against quiet double billing and foreign accounts, through the CLI
against a served sandbox (issues 15.4, 15.5, 14.8)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Account

pytestmark = pytest.mark.e2e

EMAIL = "ops@acme.example"


def config(*stores: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": 1, **top,
            "merchants": [{"name": "Acme", "email": EMAIL, "stores": list(stores)}]}


def test_a_store_renamed_in_the_ui_is_not_silently_created_again(account: Account) -> None:
    path = str(account.write_config(config({"name": "Acme US", "marketplace": "US"})))
    account.cli("apply", path, "--auto-approve", check=True)
    [live] = account.api("GET", "/stores")
    account.api("PATCH", f"/stores/{live['id']}", {"name": "Acme USA"})  # by hand, in the UI

    planned = account.cli("plan", path)
    assert planned.returncode == 0, planned.stderr
    assert f"live Amazon store {live['id']} ('Acme USA')" in planned.stdout
    assert f"pin it with `id: {live['id']}`" in planned.stdout

    pinned = str(account.write_config(config(
        {"name": "Acme US", "marketplace": "US", "id": live["id"]})))
    plan = account.plan_json(pinned)
    assert [c["kind"] for c in plan["changes"]] == ["update_store"]
    assert not any("would be created" in w for w in plan["warnings"])
