"""SIGINT and SIGTERM during apply lose nothing (issue 13.4): a real signal sent to a real
`dropstream-sync apply` against a served sandbox with latency, once its audit log has a line.

What must hold: the exit code says which signal (130, 143); the partial summary and what
to do next are printed; every change printed is in the audit log and every audit line was
printed; and the live account holds exactly the objects the audit log says were created
(none unrecorded), so the next apply converges.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dropstream_sync.apply import AuditLog, ChangeResult, Stop, apply_plan
from dropstream_sync.client import WriteClient
from dropstream_sync.desired import StoreSettings
from dropstream_sync.planner.model import (
    Change,
    ChangeKind,
    CreateMerchant,
    CreateStore,
    Plan,
    Target,
    TargetType,
)
from tests.apply.record_check import Truth, problems
from tests.apply.sandbox_clients import on_sandbox
from tests.e2e.harness import (
    CLI,
    Account,
    Server,
    new_account,
    signal_in_turn,
    start_server,
    stop_server,
)
from tests.reliability.checks import all_pages, assert_exactly_one_of_each, fleet

pytestmark = pytest.mark.e2e

SYMBOLS = {"ok": "✓", "failed": "✗", "unknown": "?", "skipped": "·"}


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("slow-sandbox"), "--latency-ms", "300")
    yield srv
    stop_server(srv)


@pytest.fixture
def tenant(slow_server: Server, tmp_path: Path) -> Account:
    return new_account(slow_server, tmp_path, "sig")


def start_apply(tenant: Account) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "apply", "stores.yaml", "--auto-approve", "--audit-log", "audit.jsonl"],
        env=tenant.env,
        cwd=tenant.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def audit(tenant: Account) -> list[dict[str, Any]]:
    path = tenant.workdir / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for_audit_line(tenant: Account, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not audit(tenant):
        assert process.poll() is None, "the apply ended before its first change was recorded"
        assert time.monotonic() < deadline, "no audit line after 120 s"
        time.sleep(0.02)


def interrupt(tenant: Account, *signals: signal.Signals) -> tuple[int, str, str]:
    process = start_apply(tenant)
    wait_for_audit_line(tenant, process)
    assert process.poll() is None, "the apply ended before the signal"
    out, err = signal_in_turn(process, signals)
    assert "Traceback" not in err, err
    return process.returncode, out, err


def printed_line(record: dict[str, Any]) -> str:
    """The terminal line of an audited change, up to its error (ChangeResult.line)."""
    who = record["merchant"] + (f" / {record['store']}" if record["store"] else "")
    target = record["target"]
    where = f" ({target['type']} {target['id']})" if target["id"] is not None else ""
    note = f" ({record['note']})" if record["note"] else ""
    return f"{SYMBOLS[record['outcome']]} {record['kind']} {who}{where}{note}"


def change_lines(out: str) -> list[str]:
    return sorted(
        line.partition(": ")[0] for line in out.splitlines() if line[:1] in SYMBOLS.values()
    )


def created(records: list[dict[str, Any]], kind: str, *outcomes: str) -> set[int]:
    return {
        r["created_id"]
        for r in records
        if r["kind"] == kind and r["outcome"] in outcomes and r["created_id"] is not None
    }


def assert_nothing_lost(tenant: Account, out: str, planned: int) -> list[dict[str, Any]]:
    records = audit(tenant)
    assert change_lines(out) == sorted(printed_line(r) for r in records)
    assert 0 < len(records) < planned, (len(records), planned)
    summary = [line for line in out.splitlines() if line.startswith("Apply interrupted by")]
    assert len(summary) == 1, out
    assert f"{planned - len(records)} change(s) not started" in summary[0]
    # The advice runs as printed (the sandbox's URL and login are in the environment).
    assert "run `dropstream-sync plan stores.yaml` to see what is left, then apply" in summary[0]
    return records


def settle(tenant: Account, config: dict[str, Any]) -> None:
    """The next apply converges: one of each desired object, nothing left to change."""
    tenant.control("POST", "/_sandbox/faults", {"rate": 0, "latency_ms": 0})
    try:
        tenant.cli("apply", "stores.yaml", "--auto-approve", check=True)
        assert_exactly_one_of_each(tenant, config)
        assert tenant.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 0
    finally:
        tenant.control("POST", "/_sandbox/faults", {"rate": 0, "latency_ms": 300})


def run_interrupted_once(tenant: Account, sig: signal.Signals, code: int) -> None:
    config = fleet(6, 2)
    tenant.write_config(config)
    planned = len(tenant.plan_json("stores.yaml")["changes"])

    returncode, out, err = interrupt(tenant, sig)

    assert returncode == code, (out, err)
    assert f"{sig.name}: stopping; the changes in flight finish first" in err
    records = assert_nothing_lost(tenant, out, planned)
    # One signal lets what was in flight finish: every attempted change has its outcome.
    assert {r["outcome"] for r in records} == {"ok"}, records
    customers = {c["id"] for c in all_pages(tenant, "/customers")}
    stores = {s["id"] for s in all_pages(tenant, "/stores")}
    assert customers == created(records, "create_merchant", "ok")
    assert stores == created(records, "create_store", "ok")
    assert {m["authorization_request_id"] for m in tenant.outbox()} == created(
        records, "invite", "ok"
    )
    settle(tenant, config)


def test_sigint_finishes_what_is_in_flight_records_it_and_exits_130(tenant: Account) -> None:
    run_interrupted_once(tenant, signal.SIGINT, 130)


@pytest.mark.slow
def test_sigterm_finishes_what_is_in_flight_records_it_and_exits_143(tenant: Account) -> None:
    run_interrupted_once(tenant, signal.SIGTERM, 143)


@pytest.mark.slow
def test_a_second_sigint_stops_at_once_and_records_what_was_in_flight_as_unknown(
    tenant: Account,
) -> None:
    config = fleet(6, 2)
    tenant.write_config(config)
    planned = len(tenant.plan_json("stores.yaml")["changes"])
    # Slow enough that the changes started after the first line are still in flight.
    tenant.control("POST", "/_sandbox/faults", {"rate": 0, "latency_ms": 1500})

    returncode, out, err = interrupt(tenant, signal.SIGINT, signal.SIGINT)

    assert returncode == 130, (out, err)
    assert "SIGINT again: stopping now" in err
    records = assert_nothing_lost(tenant, out, planned)
    unknown = [r for r in records if r["outcome"] == "unknown"]
    # A create whose answer came and that only waited for its verifying read is ok.
    reading = [r for r in records if "stopped during the read" in (r["note"] or "")]
    assert unknown or reading, "nothing was in flight at the second signal"
    assert all("interrupted while in flight" in r["error"] for r in unknown)
    # Nothing unrecorded: every live object is one the log says was made, or one whose
    # create was in flight (unknown) when the apply stopped.
    customers = {c["id"] for c in all_pages(tenant, "/customers")}
    stores = {s["id"] for s in all_pages(tenant, "/stores")}
    maybe = Counter(r["kind"] for r in unknown)
    made = created(records, "create_merchant", "ok")
    assert made <= customers and len(customers) <= len(made) + maybe.get("create_merchant", 0)
    made = created(records, "create_store", "ok")
    assert made <= stores and len(stores) <= len(made) + maybe.get("create_store", 0)
    settle(tenant, config)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "post", "read"),
    [
        ("create_merchant", "POST /customers", "GET /customers"),
        ("create_store", "POST /stores", "GET /stores"),
    ],
)
def test_a_second_sigint_after_a_creates_answer_records_it_ok_with_the_id_it_got(
    tmp_path: Path, kind: str, post: str, read: str
) -> None:
    """The second Ctrl-C comes while a create whose POST was answered waits for the read
    that looks for a concurrent apply's duplicate: the object surely exists with the id
    the answer gave, so the record is ok with that id (not "unknown"), and says the look
    for a duplicate was cut short."""
    state = tmp_path / "sandbox"
    state.mkdir()
    # Every request takes 1.5 s: the verifying read is in flight well after it arrives.
    server = start_server(state, "--latency-ms", "1500")
    try:
        tenant = new_account(server, tmp_path, "cut")
        tenant.write_config(fleet(1, 1))
        before = Truth.read(state, tenant.username)

        def count(route: str) -> int:
            return int(tenant.control("GET", "/_sandbox/stats")["requests"].get(route, 0))

        process = start_apply(tenant)
        deadline = time.monotonic() + 120
        while count(post) == 0:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.01)
        # The POST arrived; once the read after it arrives too (counted as it comes in,
        # answered 1.5 s later), the POST was answered and the read is in flight.
        reads = count(read)
        while count(read) == reads:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.01)
        out, err = signal_in_turn(process, (signal.SIGINT, signal.SIGINT))
        after = Truth.read(state, tenant.username)
    finally:
        stop_server(server)

    assert "Traceback" not in err, err
    assert process.returncode == 130, (out, err)
    assert "SIGINT again: stopping now" in err
    records = audit(tenant)
    [cut] = [r for r in records if r["kind"] == kind]
    made = after.customers if kind == "create_merchant" else after.stores
    assert len(made) == 1
    [ident] = made
    assert (cut["outcome"], cut["created_id"], cut["target"]["id"]) == ("ok", ident, ident), cut
    assert cut["error"] is None
    assert "stopped during the read meant to find a concurrent apply's duplicate" in cut["note"]
    assert problems(before, after, records) == []
    assert any(line.startswith(f"✓ {kind} ") for line in out.splitlines()), out


class HangsOn(WriteClient):
    """Creates customers, except the one named `hang`, whose create never answers: a change
    in flight for as long as the applier lets it be."""

    def __init__(self, *args: Any, hang: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hang = hang

    async def create_customer(self, company_name: str, **kwargs: Any) -> int:
        if company_name == self.hang:
            await asyncio.Event().wait()
        return await super().create_customer(company_name, **kwargs)


def test_changes_still_in_flight_when_the_grace_runs_out_end_unknown_and_are_recorded(
    tmp_path: Path,
) -> None:
    sync, client = on_sandbox(HangsOn, tmp_path / "state", hang="Stuck")
    merchants = tuple(
        Change(
            f"m{i}",
            ChangeKind.CREATE_MERCHANT,
            name,
            None,
            Target(TargetType.CUSTOMER),
            detail=CreateMerchant(name),
        )
        for i, name in enumerate(["Stuck", "Quick", "Later"])
    )
    changes = (
        *merchants,
        # A change of the next phase: never started, since the stop comes during this one.
        Change(
            "s1",
            ChangeKind.CREATE_STORE,
            "Quick",
            "Quick US",
            Target(TargetType.STORE),
            depends_on=("m1",),
            detail=CreateStore(None, "Quick US", "ATVPDKIKX0DER", StoreSettings(), "m1"),
        ),
    )
    stop = Stop(grace=0.05)
    log = AuditLog(tmp_path / "audit.jsonl")

    def first_result(result: ChangeResult) -> None:
        stop.request(signal.SIGTERM)  # a signal, as its handler would pass it on

    with sync, log:
        report = sync.run(
            apply_plan(
                Plan(changes=changes),
                client,
                parallelism=2,
                on_result=first_result,
                audit=log,
                stop=stop,
            )
        )
        customers = [c.company_name for c in sync.read_live().customers]

    outcomes = {r.change.merchant: r.outcome for r in report.results}
    # Later started while Quick waited for the read verifying both (a waiting create holds
    # no place among the parallelism), before the stop.
    assert outcomes == {"Quick": "ok", "Later": "ok", "Stuck": "unknown"}
    assert report.interrupted == signal.SIGTERM and report.not_started == 1
    assert "Apply interrupted by SIGTERM" in report.summary_line()
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert {(x["merchant"], x["outcome"]) for x in lines} == {
        ("Quick", "ok"),
        ("Later", "ok"),
        ("Stuck", "unknown"),
    }
    assert sorted(customers) == ["Later", "Quick"]


def test_sigint_while_apply_still_reads_the_account_exits_130_and_changes_nothing(
    tenant: Account,
) -> None:
    """Ctrl-C before the first change (the plan's read is under way) is an interrupt like
    one during the changes: exit 130 and "Interrupted.", not click's "Aborted." and the
    exit 1 of a failure or a declined prompt."""
    tenant.write_config(fleet(2, 1))

    def lists() -> int:
        return int(tenant.control("GET", "/_sandbox/stats")["requests"].get("GET /customers", 0))

    before = lists()
    process = start_apply(tenant)
    deadline = time.monotonic() + 60
    # Once the server has seen the apply list the customers, it is in its read (each
    # request takes 300 ms on this server).
    while lists() == before:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    assert "Traceback" not in err, err
    assert process.returncode == 130, (out, err)
    assert "Interrupted." in err and "Aborted." not in err
    assert audit(tenant) == [] and all_pages(tenant, "/customers") == []
