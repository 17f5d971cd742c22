"""A saved plan is applied exactly as reviewed, or refused (issue 13.2), through the CLI
against a served sandbox: a clear error, no traceback, and no request (or no write, for
the check that needs the live read) reaches the server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dropstream_sync.planner.model import plan_digest
from tests.e2e.harness import Account, new_account

pytestmark = pytest.mark.e2e

EMAIL = "ops@acme.example"


def config(*merchants: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "version": 1,
        "merchants": [
            {"name": name, "email": EMAIL, "stores": stores} for name, stores in merchants
        ],
    }


def api_requests(account: Account) -> dict[str, int]:
    """Requests of the DropStream API the server answered so far (its controls left out)."""
    stats = account.control("GET", "/_sandbox/stats")["requests"]
    return {k: v for k, v in stats.items() if "/_sandbox" not in k}


def writes(requests: dict[str, int]) -> dict[str, int]:
    return {
        k: v for k, v in requests.items() if not k.startswith("GET ") and k != "POST /auth/token"
    }


def saved_plan(account: Account) -> tuple[Path, dict[str, Any]]:
    account.write_config(config(("Acme", [{"name": "Acme US", "marketplace": "US"}])))
    account.cli("plan", "stores.yaml", "--out", "plan.json", check=True)
    path = account.workdir / "plan.json"
    return path, json.loads(path.read_text())


def refused_without_a_request(
    account: Account, *args: str, env: dict[str, str] | None = None
) -> str:
    before = api_requests(account)
    result = account.cli("apply", *args) if env is None else _cli(account, env, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert api_requests(account) == before, "the refusal sent a request"
    assert account.api("GET", "/customers") == []
    return result.stderr


def _cli(account: Account, env: dict[str, str], *args: str) -> Any:
    import subprocess

    from tests.e2e.harness import CLI

    return subprocess.run(
        [*CLI, "apply", *args],
        env=env,
        cwd=account.workdir,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def edit(path: Path, change: Callable[[dict[str, Any]], None], *, resign: bool = False) -> None:
    document = json.loads(path.read_text())
    change(document)
    if resign:
        # As someone who knows the digest rule would: only the target check stops it.
        document["plan_digest"] = plan_digest(document)
    path.write_text(json.dumps(document, indent=2))


def test_hand_duplicated_changes_are_refused_and_nothing_is_created(account: Account) -> None:
    path, _ = saved_plan(account)
    edit(path, lambda d: d["changes"].extend(d["changes"]))
    err = refused_without_a_request(account, "plan.json")
    assert "duplicate change id" in err

    path, _ = saved_plan(account)
    # The same create under a new id: no duplicate id, but not the plan that was reviewed.
    edit(path, lambda d: d["changes"].append({**d["changes"][0], "id": "create_merchant-2"}))
    err = refused_without_a_request(account, "plan.json")
    assert "the plan file was edited after it was saved" in err


def test_an_edited_plan_is_refused_as_edited(account: Account) -> None:
    path, _ = saved_plan(account)
    edit(path, lambda d: d["changes"][1]["detail"].update(name="Someone else's store"))
    err = refused_without_a_request(account, "plan.json")
    assert "plan.json: the plan file was edited after it was saved" in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["changes"][0].update(kind="delete_everything"),
            "unknown change kind 'delete_everything'",
        ),
        (
            lambda d: d["changes"][1]["detail"].pop("marketplace_id"),
            "changes[1].detail.marketplace_id: missing",
        ),
        (lambda d: d.pop("account"), "account: missing"),
    ],
    ids=["unknown-kind", "missing-field", "no-account"],
)
def test_a_malformed_plan_is_refused_before_the_first_request(
    account: Account, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    path, _ = saved_plan(account)
    edit(path, change)
    assert message in refused_without_a_request(account, "plan.json")


def test_a_plan_of_another_account_is_refused_naming_both(account: Account) -> None:
    saved_plan(account)
    other = new_account(account.server, account.workdir, "other")
    err = refused_without_a_request(account, "plan.json", env=other.env)
    assert f"made for account {account.username!r}" in err
    assert f"this apply is for account {other.username!r}" in err
    assert other.api("GET", "/customers") == []


def test_a_plan_of_another_server_is_refused_naming_both(account: Account, tmp_path: Path) -> None:
    saved_plan(account)
    # The bundled in-process sandbox is another server (its own URL and login).
    err = refused_without_a_request(account, "plan.json", "--sandbox", str(tmp_path / "sb"))
    assert account.server.url in err and "http://sandbox.local" in err


def test_a_change_retargeted_outside_the_plans_merchants_writes_nothing(account: Account) -> None:
    account.write_config(
        config(
            ("Acme", [{"name": "Acme US", "marketplace": "US"}]),
            ("Other", [{"name": "Other US", "marketplace": "US"}]),
        )
    )
    account.cli("apply", "stores.yaml", "--auto-approve", check=True)
    stores = {s["name"]: s["id"] for s in account.api("GET", "/stores")}
    account.write_config(
        config(
            ("Acme", [{"name": "Acme US", "marketplace": "US", "fulfillment_latency": 5}]),
            ("Other", [{"name": "Other US", "marketplace": "US"}]),
        )
    )
    account.cli("plan", "stores.yaml", "--merchant", "Acme", "--out", "plan.json", check=True)

    def retarget(d: dict[str, Any]) -> None:
        (update,) = [c for c in d["changes"] if c["kind"] == "update_store"]
        update["target"]["id"] = stores["Other US"]

    edit(account.workdir / "plan.json", retarget, resign=True)
    before = api_requests(account)
    result = account.cli("apply", "plan.json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"names store/{stores['Other US']}" in result.stderr
    assert "outside the plan's merchants ('Acme')" in result.stderr
    assert writes(api_requests(account)) == writes(before), "a write was sent"
    other = next(s for s in account.api("GET", "/stores") if s["id"] == stores["Other US"])
    assert other["adapter"]["fulfillment_latency"] != 5
