"""The record of `dropstream-sync apply` (real processes, a served sandbox) is true: what its
audit log, `--format json` results and printed lines say was made, sent and billed is what
the sandbox's database holds and its outbox sent (tests/apply/record_check.py), through
faults and latency, after SIGINT / SIGTERM mid-apply and the apply of a new plan, and for two
applies of one account at once (their two logs together)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apply.record_check import Truth, problems, read_audit, same_story
from tests.e2e.harness import (
    CLI,
    Account,
    Server,
    new_account,
    signal_in_turn,
    start_server,
    stop_server,
)
from tests.reliability.checks import fleet

pytestmark = pytest.mark.e2e


class Served:
    def __init__(self, server: Server, state: Path) -> None:
        self.server = server
        self.state = state


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    state = tmp_path_factory.mktemp("true-record-state")
    srv = start_server(state)
    yield Served(srv, state)
    stop_server(srv)


@pytest.fixture
def tenant(served: Served, tmp_path: Path) -> Iterator[Account]:
    account = new_account(served.server, tmp_path, "rec")
    yield account
    calm(account)


def calm(account: Account) -> None:
    account.control(
        "POST", "/_sandbox/faults", {"rate": 0, "after_commit_share": 0, "latency_ms": 0}
    )


def truth(served: Served, account: Account) -> Truth:
    return Truth.read(served.state, account.username)


def authorize(account: Account, share: float = 1.0) -> None:
    pending = account.api("GET", "/authorization_requests", params={"status": "pending"})
    for request in pending[: round(len(pending) * share)]:
        account.control("POST", f"/_sandbox/authorization_requests/{request['id']}/complete", {})


def apply_cmd(audit: str, fmt: str, *extra: str) -> list[str]:
    return [*CLI, "apply", *extra, "--auto-approve", "--audit-log", audit, "--format", fmt]


def checked(
    served: Served, tenant: Account, faults: dict[str, Any] | None, fmt: str, *paths: str
) -> subprocess.CompletedProcess[str]:
    """One apply through `faults`; its record must be true."""
    audit = tenant.workdir / "audit.jsonl"
    start = len(read_audit(audit))
    before = truth(served, tenant)
    if faults:
        tenant.control("POST", "/_sandbox/faults", faults)
    try:
        done = subprocess.run(
            apply_cmd(str(audit), fmt, *(paths or ("stores.yaml",))),
            env=tenant.env,
            cwd=tenant.workdir,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
    finally:
        calm(tenant)
    assert "Traceback" not in done.stderr, done.stderr
    records = read_audit(audit)[start:]
    found = problems(before, truth(served, tenant), records)
    if records:
        results = json.loads(done.stdout)["results"] if fmt == "json" else None
        lines = done.stdout.splitlines() if fmt == "text" else None
        if results is not None:
            found += same_story(records, results)
        if lines is not None:
            found += same_story(records, [_as_result(r) for r in records], lines)
    assert found == [], f"{done.stdout}\n{done.stderr}\n" + "\n".join(found)
    return done


def _as_result(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "id": record["change_id"]}


def lifecycle(served: Served, tenant: Account, seed: int, size: tuple[int, int]) -> None:
    config = fleet(*size)
    tenant.write_config(config)
    faults = {"rate": 0.3, "after_commit_share": 0.5, "latency_ms": 5}
    for step in range(4):
        if step == 1:
            config["merchants"][0]["email"] = "new-ops@merchant.example"
            tenant.write_config(config)
            authorize(tenant, 0.5)
        if step == 2:
            authorize(tenant)
        checked(served, tenant, {**faults, "seed": seed * 10 + step}, ("json", "text")[step % 2])
    assert tenant.control("GET", "/_sandbox/stats")["faults"] > 0
    authorize(tenant)
    checked(served, tenant, None, "json")
    plan = tenant.cli("plan", "stores.yaml", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout


def test_the_record_of_a_served_apply_through_faults_is_true(
    served: Served, tenant: Account
) -> None:
    lifecycle(served, tenant, 1, (2, 2))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 12))
def test_the_record_of_a_served_apply_through_faults_is_true_for_many_seeds(
    served: Served, tenant: Account, seed: int
) -> None:
    lifecycle(served, tenant, seed, (3, 3))


def start(
    tenant: Account, cmd: list[str], env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cmd,
        env=env or tenant.env,
        cwd=tenant.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def interrupted(
    served: Served, tenant: Account, signals: tuple[signal.Signals, ...], fmt: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """An apply stopped by `signals` once its first change is in the audit log; its record
    (the audit log, and the results or lines it printed) must be true."""
    audit = tenant.workdir / "audit.jsonl"
    start_at = len(read_audit(audit))
    before = truth(served, tenant)
    process = start(tenant, apply_cmd(str(audit), fmt, "stores.yaml"))
    deadline = time.monotonic() + 120
    while len(read_audit(audit)) == start_at:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no audit line after 120 s"
        time.sleep(0.01)
    out, err = signal_in_turn(process, signals)
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 128 + signals[0], (out, done.stderr)
    records = read_audit(audit)[start_at:]
    found = problems(before, truth(served, tenant), records)
    if fmt == "json":
        document = json.loads(out)
        found += same_story(records, document["results"])
        assert document["interrupted"] == signals[0].name
    else:
        found += same_story(records, [_as_result(r) for r in records], out.splitlines())
    assert found == [], f"{out}\n{done.stderr}\n" + "\n".join(found)
    return done, records


@pytest.mark.parametrize(
    ("signals", "fmt"),
    [
        # tests/e2e/test_interruptions.py runs a SIGINT in the default suite; these check
        # the record of each against the database, and the new plan's apply after it.
        pytest.param((signal.SIGINT,), "text", marks=pytest.mark.slow),
        pytest.param((signal.SIGTERM,), "json", marks=pytest.mark.slow),
        pytest.param((signal.SIGINT, signal.SIGINT), "json", marks=pytest.mark.slow),
        pytest.param((signal.SIGTERM, signal.SIGINT), "text", marks=pytest.mark.slow),
    ],
)
def test_the_record_of_an_interrupted_apply_is_true_and_a_new_plan_finishes_it(
    served: Served, tenant: Account, signals: tuple[signal.Signals, ...], fmt: str
) -> None:
    config = fleet(4, 2)
    tenant.write_config(config)
    # Slow answers, so that changes are in flight when the signal comes (a second signal
    # then cuts them short: unknown).
    tenant.control("POST", "/_sandbox/faults", {"rate": 0, "latency_ms": 400})
    _, records = interrupted(served, tenant, signals, fmt)
    assert records and len(records) < 4 + 8 + 8
    # The advice: a new plan of what is left, saved, and applied; its record holds too.
    tenant.cli("plan", "stores.yaml", "--out", "plan.json", check=True)
    checked(served, tenant, None, "json", "plan.json")
    authorize(tenant)
    checked(served, tenant, None, "text")
    assert tenant.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 0


def concurrently(
    served: Served, tenant: Account, runs: int, faults: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """`runs` applies of one config at once, each with its own lock folder (as CI runners
    on several machines), through `faults`; their logs together must be true."""
    before = truth(served, tenant)
    if faults:
        tenant.control("POST", "/_sandbox/faults", faults)
    processes = []
    try:
        for i in range(runs):
            env = {**tenant.env, "XDG_RUNTIME_DIR": str(tenant.workdir / f"run{i}")}
            os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
            audit = str(tenant.workdir / f"audit{i}.jsonl")
            processes.append((start(tenant, apply_cmd(audit, "json", "stores.yaml"), env), audit))
        outputs = [(p.communicate(timeout=300), audit) for p, audit in processes]
    finally:
        calm(tenant)
    records: list[dict[str, Any]] = []
    found: list[str] = []
    for ((out, err), audit), (process, _) in zip(outputs, processes, strict=True):
        assert "Traceback" not in err, err
        assert process.returncode in (0, 1), err
        own = read_audit(Path(audit))
        # Each run's output is its own log; the runs' logs together are the account's story.
        Path(audit).unlink(missing_ok=True)
        if own:
            found += same_story(own, json.loads(out)["results"])
        records += own
    found += problems(before, truth(served, tenant), records)
    assert found == [], "\n".join(found)
    return records


@pytest.mark.parametrize(
    "faults",
    [
        # tests/reliability/test_concurrent_applies.py runs applies at once in the default
        # suite; these check the runners' logs together against the database.
        pytest.param(None, marks=pytest.mark.slow),
        pytest.param({"rate": 0.2, "after_commit_share": 0.5, "seed": 5}, marks=pytest.mark.slow),
        pytest.param({"rate": 0.3, "after_commit_share": 0.5, "seed": 6}, marks=pytest.mark.slow),
    ],
)
def test_the_records_of_two_applies_at_once_are_true_together(
    served: Served, tenant: Account, faults: dict[str, Any] | None
) -> None:
    config = fleet(3, 2)
    tenant.write_config(config)
    slow = {"latency_ms": 15, **(faults or {"rate": 0})}
    concurrently(served, tenant, 2, slow)
    authorize(tenant)
    # Both finalize the same stores: each billed connection is counted once between them.
    records = concurrently(served, tenant, 2, slow)
    assert any(r["kind"] == "create_connection" for r in records)
    for _ in range(2):
        checked(served, tenant, None, "json")
    assert tenant.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 0
