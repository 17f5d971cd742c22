"""`import` of live accounts it has never seen, through the command line on the in-process
sandbox: names YAML would read as something else, look-alike spellings, odd invitation
emails. Each is imported, the file validated and planned: the file must read back as the
same names and plan with no changes, or the note must say why not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dropstream_sync.config import load_text
from tests.cli_in_process import run
from tests.seeded import US, seed

AUTHORIZED = {
    "status": "authorized",
    "selling_partner_id": "A1SELLER",
    "authorized_at": "2026-11-01T00:00:00Z",
    "expires_at": "2027-06-01T00:00:00Z",
}
ON = "2026-01-01T00:00:00Z"


def _store(sid: int, customer: int, name: str, market: str = US, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "customer_id": customer,
        "name": name,
        "enabled_at": ON,
        "adapter": {
            "marketplace_id": market,
            "fulfillment_channel": "MFN",
            "import_order_statuses": ["Unshipped"],
            "fulfillment_latency": None,
            "fulfillment_channel_code": "DEFAULT",
            "authorization": AUTHORIZED,
        },
        **extra,
    }


def _account(name: str) -> dict[str, Any]:
    """One merchant, store, connection and warehouse all called `name` (the connection to a
    second warehouse, so the file names it), and a completed invitation for the email."""
    return {
        "customers": [{"id": 1, "company_name": name}],
        "warehouses": [
            {"id": 1, "customer_id": 1, "description": "Main"},
            {"id": 2, "customer_id": 1, "description": name},
        ],
        "stores": [_store(1, 1, name)],
        "connections": [
            {
                "id": 1,
                "customer_id": 1,
                "store_id": 1,
                "warehouse_id": 2,
                "name": name,
                "enabled_at": ON,
                "channels": [{"type": "sales_order", "enabled_at": ON}],
            }
        ],
        "authorization_requests": [
            {
                "store_id": 1,
                "email": "ops@acme.example",
                "status": "completed",
                "created_at": "2026-10-01T00:00:00Z",
                "completed_at": "2026-10-01T00:00:00Z",
                "expires_at": "2026-10-08T00:00:00Z",
            }
        ],
    }


def _import(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, account: dict[str, Any], *args: str
) -> tuple[Path, Path, str]:
    state = tmp_path / "state"
    seed(state, account)
    out = tmp_path / "stores.yaml"
    code, _, err = run(capsys, "import", "--sandbox", str(state), "--output", str(out), *args)
    assert code == 0, err
    return state, out, err


def _plans_no_changes(capsys: pytest.CaptureFixture[str], state: Path, out: Path) -> None:
    code, stdout, err = run(capsys, "validate", str(out))
    assert code == 0, err
    code, stdout, err = run(
        capsys, "plan", "--sandbox", str(state), str(out), "--detailed-exitcode"
    )
    # Pending items may remain ("No changes. 1 pending."): a store waiting for its merchant.
    assert code == 0 and stdout.splitlines()[-1].startswith("No changes."), stdout + err


NAMES = [
    *("yes", "no", "on", "off", "null", "~", "true", "FALSE", "nan", ".NaN", ".inf"),
    *("0x1F", "0o17", "1e3", "012", "+1", "-1", "1_000", "1:30", "2026-01-01"),
    *("*star", "&anchor", "!tag", "!!str x", "%YAML", "@at", "`tick", "#hash", "<<", "="),
    *("- dash", "-", "? q", "?", ": colon", "a: b", "a #b", "[x]", "{x}", "|pipe", ">gt"),
    *("---", "...", "a,b", "'", '"', 'q"uote', "q'uote", "back\\slash", "a\\nb"),
    *("Cafe\u0301", "\u05e9\u05dc\u05d5\u05dd", "emoji \U0001f389", "Ⅻ", "x" * 255),
]


@pytest.mark.parametrize("name", NAMES, ids=[ascii(n)[1:-1][:30] for n in NAMES])
def test_a_name_yaml_would_read_otherwise_is_imported_as_itself(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, out, err = _import(capsys, tmp_path, _account(name))
    assert "note:" not in err
    desired = load_text(out.read_text(encoding="utf-8"), str(out))
    (merchant,) = desired.merchants
    (store,) = merchant.stores
    assert (merchant.name, store.name, store.warehouse) == (name, name, name)
    _plans_no_changes(capsys, state, out)


def test_merchant_named_in_another_unicode_form_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--merchant "Café Co"` typed with a precomposed é names the customer DropStream
    spells with e and a combining accent, as plan --merchant does; import said "no Amazon
    stores found"."""
    account = _account("Cafe\u0301 Co")
    state, out, _ = _import(capsys, tmp_path, account, "--merchant", "Caf\u00e9 Co")
    (merchant,) = load_text(out.read_text(encoding="utf-8"), str(out)).merchants
    assert merchant.name == "Cafe\u0301 Co"
    _plans_no_changes(capsys, state, out)


def test_merchant_named_in_another_case_is_refused_naming_the_live_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(tmp_path / "state", _account("Acme Outdoors"))
    code, out, err = run(
        capsys, "import", "--sandbox", str(tmp_path / "state"), "--merchant", "acme outdoors"
    )
    assert (code, out) == (1, "")
    assert "'acme outdoors'" in err and "named 'Acme Outdoors'" in err, err
    assert "Traceback" not in err


ODD_EMAILS = ['"odd, guy"@acme.example', "ops@localhost", "ops@acme.example ", "ops@@acme.example"]


def _invited(email: str, status: str) -> dict[str, Any]:
    """An account whose one store's only invitation went to `email`: accepted long ago
    (completed), or never answered (pending, expired) while the store waits unauthorized."""
    account = _account("Acme")
    request: dict[str, Any] = {"store_id": 1, "email": email, "expires_at": "2027-01-01T00:00:00Z"}
    if status == "completed":
        request.update(
            status="completed",
            created_at="2026-10-01T00:00:00Z",
            completed_at="2026-10-01T00:00:00Z",
            expires_at="2026-10-08T00:00:00Z",
        )
    else:
        account["stores"] = [_store(1, 1, "Acme", enabled_at=None)]
        account["stores"][0]["adapter"]["authorization"] = {"status": "missing"}
        account["connections"] = []
        if status == "expired":
            request.update(created_at="2026-01-01T00:00:00Z", expires_at="2026-01-08T00:00:00Z")
    account["authorization_requests"] = [request]
    return account


@pytest.mark.parametrize("status", ["completed", "expired"])
@pytest.mark.parametrize("email", ODD_EMAILS)
def test_an_old_invitation_to_an_email_the_config_refuses_is_left_out_with_a_note(
    email: str, status: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The email is only a hint taken from old invitations; written, the file did not
    validate ("is not an email address") and no plan of it could be made."""
    state, out, err = _import(capsys, tmp_path, _invited(email, status))
    assert (
        f"note: merchant 'Acme' is written without `email:`: its last invitation went to {email!r}"
        in err
    )
    assert "stops with an error" not in err
    (merchant,) = load_text(out.read_text(encoding="utf-8"), str(out)).merchants
    assert merchant.email is None
    _plans_no_changes(capsys, state, out)


def test_a_pending_invitation_to_an_email_the_config_refuses_is_written_for_fixing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Left out, the plan would cancel the invitation the merchant may be about to accept:
    the file keeps it, and the note gives the error to fix before planning."""
    email = '"odd, guy"@acme.example'
    _, out, err = _import(capsys, tmp_path, _invited(email, "pending"))
    assert "note: a plan of this file stops with an error; fix it before planning:" in err
    assert f"merchants[0].email: {email!r} is not an email address" in err
    assert f"email: {email!r}" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("under", ["notes.txt/stores.yaml", "notes.txt/acme/stores.yaml"])
def test_output_under_a_file_names_the_file_in_the_way(
    under: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "cannot write notes.txt/stores.yaml: File exists", as if stores.yaml were."""
    seed(tmp_path / "state", _account("Acme"))
    (tmp_path / "notes.txt").write_text("kept\n")
    output = str(tmp_path / under)
    code, out, err = run(capsys, "import", "--sandbox", str(tmp_path / "state"), "--output", output)
    assert (code, out) == (1, "")
    assert err == (
        f"error: cannot write {output}: {tmp_path / 'notes.txt'} is a file, not a folder; "
        "choose another --output path\n"
    )
    assert (tmp_path / "notes.txt").read_text() == "kept\n"


def _merchant_named(name: str) -> dict[str, Any]:
    account = _account("Acme US")
    account["customers"] = [{"id": 1, "company_name": name}]
    return account


@pytest.mark.parametrize(
    ("live", "written"),
    [(" Acme", "Acme"), ("Acme ", "Acme"), ("Ac\u200bme", "Acme"), ("\ufeffAcme", "Acme")],
)
def test_a_merchant_name_the_config_refuses_is_written_as_the_plan_finds_it(
    live: str, written: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Written as spelt, the file failed validation ("must not start with a space: 'Acme'
    is meant"); the name the plan matches the customer by plans no changes."""
    state, out, err = _import(capsys, tmp_path, _merchant_named(live))
    assert f"note: merchant {live!a} (customer 1) is written as {written!r}" in err
    assert "stops with an error" not in err
    (merchant,) = load_text(out.read_text(encoding="utf-8"), str(out)).merchants
    assert merchant.name == written
    _plans_no_changes(capsys, state, out)


def test_a_merchant_name_the_config_cannot_hold_at_all_says_to_rename_it_in_dropstream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "Love ❤️" (a variation selector): the validation error says "delete it", which in
    the file would name a merchant that does not exist; the note says what works."""
    name = "Love \u2764\ufe0f"
    _, _, err = _import(capsys, tmp_path, _merchant_named(name))
    assert (
        f"note: merchant {name!a} (customer 1) is written with a name the config cannot "
        "hold (the error below says why)"
    ) in err
    assert "rename the customer in DropStream" in err
    assert "note: a plan of this file stops with an error" in err
