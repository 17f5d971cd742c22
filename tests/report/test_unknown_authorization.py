"""A store whose Amazon authorization the tool cannot read (the sandbox's
`authorization-key` quirk) or reads a word the model does not know: the plan invites
nobody for it, so the report counts it `unknown`, not `missing`, and its pages send a person
to `doctor` instead of telling the merchant to authorize."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dropstream_sync import workflows
from dropstream_sync.client import SyncReadClient
from dropstream_sync.planner.plan import CHECK_THE_STORE
from tests.cli_in_process import run
from tests.doctor.on_sandbox import Box
from tests.doctor.test_divergence import CONFIG
from tests.doctor.test_doctor import populate
from tests.seeded import US, seed


def _reports(tmp_path: Path, quirk: str) -> tuple[dict[str, Any], str, str, list[str]]:
    """The JSON, Markdown and HTML report and the plan's warnings of populate()'s state read
    under `quirk`, for the three merchants of the doctor tests' CONFIG."""
    box = Box(tmp_path / "sb")
    populate(box)
    box.quirks(quirk)
    config = tmp_path / "stores.yaml"
    config.write_text(CONFIG)
    with SyncReadClient(box.reader()) as client:
        read = workflows.make_plan_and_live(workflows.load_config([str(config)]), client)
    doc: dict[str, Any] = json.loads(workflows.report_text(read, "json"))
    markdown = workflows.report_text(read, "markdown")
    page = workflows.report_text(read, "html")
    return doc, markdown, page, list(read.plan.warnings)


def test_unreadable_authorizations_are_unknown_not_missing(tmp_path: Path) -> None:
    # populate(): Store 0 authorized, Store 1 invited (pending), Store 2 never authorized;
    # under the quirk none of the three can be told apart, and the plan invites none.
    doc, markdown, page, warnings = _reports(tmp_path, "authorization-key")

    stores = {s["name"]: s for m in doc["merchants"] for s in m["stores"]}
    assert {n: (s["status"], s["authorization"]) for n, s in stores.items()} == {
        f"Store {i}": ("unknown", "unreadable") for i in range(3)
    }
    summary = doc["summary"]
    # Was missing 2 (and pending 1): the drift issue asked two merchants to authorize.
    assert (summary["unknown"], summary["missing"], summary["pending"]) == (3, 0, 0)
    assert summary["findings"] == 3  # still someone's to look at
    assert len([w for w in warnings if "could not be read from the live store" in w]) == 3
    assert "| unknown | 3 |" in markdown and "| missing | 0 |" in markdown
    assert "not authorized" not in markdown.replace("0 not authorized", "")
    assert "dropstream-sync doctor" in markdown
    assert 'class="st st-missing"' not in page and page.count('class="st st-unknown"') == 3
    assert "authorization unreadable: it could not be read" in page
    assert CHECK_THE_STORE in page


def test_an_authorization_word_the_model_does_not_know_is_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "adapter": {"marketplace_id": US, "authorization": {"status": "Authorised"}},
                }
            ],
        },
    )
    config = tmp_path / "stores.yaml"
    config.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    email: ops@acme.example\n    stores:\n"
        "      - name: Acme US\n        marketplace: US\n"
    )
    code, out, err = run(capsys, "plan", str(config), "--sandbox", str(state), "--format", "json")
    assert code == 0, err
    assert not [c for c in json.loads(out)["changes"] if c["kind"] in ("invite", "reinvite")]

    code, out, err = run(capsys, "report", str(config), "--sandbox", str(state), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    (store,) = doc["merchants"][0]["stores"]
    assert (store["status"], store["authorization"]) == ("unknown", "Authorised")
    assert (doc["summary"]["unknown"], doc["summary"]["missing"]) == (1, 0)

    code, out, err = run(
        capsys, "report", str(config), "--sandbox", str(state), "--format", "markdown"
    )
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| Acme US |"))
    assert "not authorized" not in row
    assert "reads 'Authorised', which this tool does not know" in row
    assert "dropstream-sync doctor" in row


def test_an_invitation_under_a_word_the_model_does_not_know_is_unknown(tmp_path: Path) -> None:
    # Merchant 1's store waits on a link, listed by `status=pending` as "Pending": the plan
    # warns and invites nobody, so the report must not call it "not authorized, no
    # invitation waiting" (the drift issue would ask the merchant to authorize).
    doc, markdown, page, warnings = _reports(tmp_path, "request-status-case")

    stores = {s["name"]: s for m in doc["merchants"] for s in m["stores"]}
    store = stores["Store 1"]
    assert (store["status"], store["authorization"]) == ("unknown", "missing")
    assert store["invitation"]["status"] == "Pending"
    # The others read as before: the quirk changes only the requests' words.
    assert (stores["Store 0"]["status"], stores["Store 2"]["status"]) == ("authorized", "missing")
    summary = doc["summary"]
    assert (summary["unknown"], summary["missing"], summary["pending"]) == (1, 1, 0)
    assert doc["pending_invitations"] == []  # nobody can say it is waiting
    (warning,) = [w for w in warnings if "which this tool does not know" in w]
    assert "Store 1" in warning
    row = next(line for line in markdown.splitlines() if line.startswith("| Store 1 |"))
    assert "not authorized" not in row
    assert "invitation unreadable: missing, and its invitation" in row
    assert "reads 'Pending', which this tool does not know" in row
    assert "dropstream-sync doctor" in row
    assert page.count('class="st st-unknown"') == 1
