"""Honest outcomes and a true audit log, against the in-process sandbox.

The `unknown` case runs twice: with a write client that loses a committed answer the way the
client reports it (`ApiError.may_have_committed`), and with the real client behind a layer
that loses the answer and fails every read that could tell.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dropstream_sync.apply import AuditLog, Outcome, apply_plan
from dropstream_sync.client import WriteClient
from dropstream_sync.client.sync import SyncWriteClient
from dropstream_sync.desired import DesiredState, StoreSettings
from dropstream_sync.errors import ApplyError, SettingsError
from dropstream_sync.planner import Plan, plan
from dropstream_sync.planner.model import plan_digest
from tests.apply.sandbox_clients import LosesStoreAnswers, on_sandbox
from tests.cli_in_process import EXAMPLE, run
from tests.planner.scenario import merchant, state, store

DESIRED = state(merchant("Acme", store("Acme", "Acme US"), email="ops@acme.example"))


def plan_live(client: SyncWriteClient, desired: DesiredState = DESIRED) -> Plan:
    live = client.read_live()
    return plan(desired, live, now=client.clock())


def test_a_change_whose_answer_was_lost_after_commit_is_unknown_and_the_next_apply_converges(
    tmp_path: Path,
) -> None:
    lossy, _ = on_sandbox(LosesStoreAnswers, tmp_path / "state")
    audit = AuditLog(tmp_path / "audit.jsonl")
    with lossy:
        first = plan_live(lossy)
        assert [c.kind for c in first.changes] == ["create_merchant", "create_store", "invite"]
        report = lossy.run(apply_plan(first, lossy.aio, audit=audit))
    audit.close()

    outcome = {str(r.change.kind): r.outcome for r in report.results}
    assert outcome == {
        "create_merchant": Outcome.OK,
        "create_store": Outcome.UNKNOWN,
        "invite": Outcome.SKIPPED,
    }
    unknown = next(r for r in report.results if r.outcome == Outcome.UNKNOWN)
    assert unknown.line().startswith("? create_store Acme / Acme US")
    summary = report.summary_line()
    assert "1 done, 0 failed, 1 unknown, 1 skipped" in summary and "run apply again" in summary
    assert report.to_dict()["summary"]["unknown"] == 1
    assert report.to_dict()["results"][1]["outcome"] == "unknown"
    with pytest.raises(ApplyError, match="outcome unknown: run apply again"):
        report.raise_for_problems()
    records = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["outcome"] for r in records] == ["ok", "unknown", "skipped"]

    # The store did take effect: the next plan sees it and only invites; then nothing is left.
    honest, _ = on_sandbox(WriteClient, tmp_path / "state")
    with honest:
        second = plan_live(honest)
        assert [c.kind for c in second.changes] == ["invite"]
        assert honest.run(apply_plan(second, honest.aio)).ok
        assert plan_live(honest).changes == ()
        assert len(honest.read_live().stores) == 1


def test_audit_and_terminal_name_each_target_by_its_own_id(tmp_path: Path) -> None:
    client, _ = on_sandbox(WriteClient, tmp_path / "state")
    with client:
        # Another merchant's store first, so that store and request ids differ.
        other = client.run(client.aio.create_customer("Other"))
        client.run(client.aio.create_store(other, "Other US", "ATVPDKIKX0DER", StoreSettings()))
        planned = plan_live(client)
        with AuditLog(tmp_path / "audit.jsonl") as audit:
            report = client.run(apply_plan(planned, client.aio, audit=audit))
        live = client.read_live()
    customer = next(c for c in live.customers if c.company_name == "Acme")
    shop = next(s for s in live.stores if s.customer_id == customer.id)
    (request,) = live.authorization_requests
    assert request.id != shop.id  # else the test could not tell them apart
    records = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["target"], r["created_id"]) for r in records] == [
        ("create_merchant", {"type": "customer", "id": customer.id}, customer.id),
        ("create_store", {"type": "store", "id": shop.id}, shop.id),
        ("invite", {"type": "store", "id": shop.id}, request.id),
    ]
    assert all(r["config_digest"] == planned.config_digest for r in records)
    invite = report.results[2]
    assert invite.line() == f"✓ invite Acme / Acme US (store {shop.id})"
    assert invite.to_dict()["target"] == {"type": "store", "id": shop.id}


def test_each_audit_line_is_on_disk_when_its_change_ends(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    client, _ = on_sandbox(WriteClient, tmp_path / "state")
    seen: list[int] = []
    with client, AuditLog(path) as audit:
        # on_result runs after the change's line was written: the file holds it already.
        client.run(
            apply_plan(
                plan_live(client),
                client.aio,
                audit=audit,
                on_result=lambda r: seen.append(len(path.read_text().splitlines())),
            )
        )
    assert seen == [1, 2, 3]


def test_an_audit_log_in_a_missing_folder_is_refused_before_it_is_used(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        AuditLog(tmp_path / "no-such-folder" / "audit.jsonl")


def _apply_acme(tmp_path: Path, audit_log: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`apply` of one merchant with one store, in a fresh process on a fresh sandbox, with
    `--audit-log audit_log`; the run and the sandbox's state folder."""
    config = tmp_path / "stores.yaml"
    config.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    email: ops@acme.example\n"
        "    stores:\n      - name: Acme US\n        marketplace: US\n"
    )
    sandbox = tmp_path / "state"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dropstream_sync.cli import main; main()",
            "apply",
            str(config),
            "--sandbox",
            str(sandbox),
            "--auto-approve",
            "--audit-log",
            audit_log,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, sandbox


def test_apply_with_an_audit_log_in_a_missing_folder_changes_nothing(tmp_path: Path) -> None:
    result, sandbox = _apply_acme(tmp_path, str(tmp_path / "missing" / "audit.jsonl"))
    assert result.returncode == 1
    assert "missing" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    client, _ = on_sandbox(WriteClient, sandbox)
    with client:
        assert client.read_live().customers == ()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a full disk)")
def test_an_audit_log_that_cannot_be_written_stops_the_apply_and_says_so(tmp_path: Path) -> None:
    # /dev/full opens, and every write to it fails as on a full disk. The first change was
    # made, then its audit line failed: a traceback, nothing printed of what was done,
    # and the changes of the phase still running went on unrecorded.
    result, sandbox = _apply_acme(tmp_path, "/dev/full")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "✓ create_merchant Acme" in result.stdout
    assert "Apply stopped: 1 done" in result.stdout and "2 not started" in result.stdout
    assert result.stderr.rstrip().endswith(
        "error: the audit log /dev/full cannot be written (No space left on device); "
        "apply stopped after 1 change(s)"
    )
    client, _ = on_sandbox(WriteClient, sandbox)
    with client:
        live = client.read_live()
    # No change started after the one that could not be recorded.
    assert [c.company_name for c in live.customers] == ["Acme"] and live.stores == ()


def test_the_real_client_reports_a_lost_create_whose_recovery_read_failed_as_unknown(
    tmp_path: Path,
) -> None:
    """The whole path, no stand-in for the client: the sandbox commits POST /stores, its
    answer is lost, and every read that could tell whether it took effect fails too."""
    from tests.client.on_sandbox import Box

    box = Box(tmp_path / "state")
    lossy = SyncWriteClient(box.writer())
    with lossy:
        first = plan_live(lossy)
        box.wire.fail("POST", "/stores", "drop_after")
        box.wire.fail("GET", "/stores", 503, times=1000)
        report = lossy.run(apply_plan(first, lossy.aio))
    outcome = {str(r.change.kind): str(r.outcome) for r in report.results}
    assert outcome == {"create_merchant": "ok", "create_store": "unknown", "invite": "skipped"}
    assert "run apply again" in report.summary_line()

    box.wire.faults.clear()
    honest = SyncWriteClient(box.writer())
    with honest:
        second = plan_live(honest)
        assert [c.kind for c in second.changes] == ["invite"]  # the store did take effect
        assert honest.run(apply_plan(second, honest.aio)).ok
        assert plan_live(honest).changes == ()


def test_a_connection_made_before_its_enable_failed_is_recorded_as_made_and_billed(
    tmp_path: Path,
) -> None:
    """create_connection is several requests: POST /connections, then the PATCH that
    enables it. When the PATCH is refused the change fails, but the connection exists and
    is billed: the line, the JSON result and the audit log name it (before, its created_id
    was null and nothing said a billed connection had been made)."""
    import asyncio

    from tests.client.on_sandbox import Box

    box = Box(tmp_path / "sandbox")

    async def authorized_store() -> None:
        async with box.observer_writer() as client:
            cid = await client.create_customer("Acme")
            sid = await client.create_store(cid, "Acme US", "ATVPDKIKX0DER", StoreSettings())
            request = await client.create_authorization_request(sid, "ops@acme.example")
            await box.admin("POST", f"/_sandbox/authorization_requests/{request.id}/complete", {})

    asyncio.run(authorized_store())
    client = SyncWriteClient(box.writer())
    with client:
        planned = plan_live(client)
        assert [c.kind for c in planned.changes] == ["create_connection"]
        box.wire.fail("PATCH", r"/connections/\d+", 422, body={"error": "Enabling refused."})
        with AuditLog(tmp_path / "audit.jsonl") as audit:
            report = client.run(apply_plan(planned, client.aio, audit=audit))
        (connection,) = client.read_live().connections
        # What the note promises: the next apply finishes it.
        again = plan_live(client)
        assert [c.kind for c in again.changes] == ["enable"]
        assert client.run(apply_plan(again, client.aio)).ok
        assert client.read_live().connections[0].enabled
    (result,) = report.results
    assert result.outcome == Outcome.FAILED and "Enabling refused." in (result.error or "")
    assert result.created_id == connection.id and not connection.enabled
    assert f"(connection {connection.id}) (connection {connection.id} was created" in result.line()
    assert "billed" in result.line()
    (record,) = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert record["outcome"] == "failed" and record["created_id"] == connection.id
    assert record["target"] == {"type": "connection", "id": connection.id}
    assert "billed" in record["note"]


def test_a_reinvite_whose_new_request_failed_says_the_old_link_was_canceled(
    tmp_path: Path,
) -> None:
    """A reinvite to a changed email cancels the pending request, then sends a new one.
    When the new one is refused, the merchant's old link is already dead: the result says
    so (before, only the refusal was recorded, as though the old invite still stood)."""
    import asyncio

    from tests.client.on_sandbox import Box

    box = Box(tmp_path / "sandbox")

    async def pending_to_the_old_address() -> int:
        async with box.observer_writer() as client:
            cid = await client.create_customer("Acme")
            sid = await client.create_store(cid, "Acme US", "ATVPDKIKX0DER", StoreSettings())
            return (await client.create_authorization_request(sid, "old@acme.example")).id

    old = asyncio.run(pending_to_the_old_address())
    client = SyncWriteClient(box.writer())
    with client:
        planned = plan_live(client)
        assert [c.kind for c in planned.changes] == ["reinvite"]
        box.wire.fail("POST", r"/stores/\d+/authorization_requests", 422, body={"error": "No."})
        with AuditLog(tmp_path / "audit.jsonl") as audit:
            report = client.run(apply_plan(planned, client.aio, audit=audit))
        assert client.read_live().authorization_requests == ()
        assert [c.kind for c in plan_live(client).changes] == ["invite"]
    (result,) = report.results
    assert result.outcome == Outcome.FAILED and result.created_id is None
    assert f"request {old} was canceled first, so its link no longer works" in result.line()
    (record,) = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert record["outcome"] == "failed" and f"request {old} was canceled" in record["note"]


def test_apply_prints_each_change_of_a_crafted_plan_file_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The plan digest is no signature: a plan file's merchant label may hold a line break
    # and escape sequences, which the line of each applied change printed as they were.
    sandbox = str(tmp_path / "state")
    saved = tmp_path / "plan.json"
    code, _, err = run(
        capsys,
        "plan",
        EXAMPLE,
        "--sandbox",
        sandbox,
        "--merchant",
        "Acme Outdoors",
        "--out",
        str(saved),
    )
    assert code == 0, err
    document = json.loads(saved.read_text())
    for change in document["changes"]:
        change["merchant"] = "Acme\x1b[2J\n✓ forged line"
    del document["plan_digest"]
    document["plan_digest"] = plan_digest(document)
    saved.write_text(json.dumps(document))
    code, out, err = run(capsys, "apply", str(saved), "--sandbox", sandbox)
    assert code == 0, err
    assert "\x1b" not in out and not [ln for ln in out.splitlines() if ln.startswith("✓ forged")]
    assert "Acme\\x1b[2J\\n✓ forged line" in out


def test_creates_answered_with_an_unreadable_success_are_logged_ok_with_their_real_ids(
    tmp_path: Path,
) -> None:
    """A proxy's HTML page (or a string id) in place of `201 {"id": N}`: the objects were
    made, so the audit log says ok and names them by the ids the account gave them."""
    from tests.client.on_sandbox import Box

    box = Box(tmp_path / "state")
    client = SyncWriteClient(box.writer())
    audit = AuditLog(tmp_path / "audit.jsonl")
    with client, audit:
        first = plan_live(client)
        box.wire.fail("POST", "/customers", "garbled_after", body="<html>Created</html>")
        box.wire.fail("POST", "/stores", "garbled_after", body={"id": "1"})
        box.wire.fail(
            "POST", r"/stores/\d+/authorization_requests", "garbled_after", body={"id": None}
        )
        report = client.run(apply_plan(first, client.aio, audit=audit))
        live = client.read_live()
    assert report.ok
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    created = {line["kind"]: line["created_id"] for line in lines}
    assert {line["outcome"] for line in lines} == {"ok"}
    assert created == {
        "create_merchant": live.customers[0].id,
        "create_store": live.stores[0].id,
        "invite": live.authorization_requests[0].id,
    }
    assert len(live.customers) == len(live.stores) == len(live.authorization_requests) == 1
