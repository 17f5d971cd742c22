"""An apply killed mid-flight, and two applies at once: both converge, no duplicates."""

from __future__ import annotations

import random
import signal
import subprocess
import time

import pytest

from tests.e2e.harness import CLI, Account
from tests.reliability.checks import (
    all_pages,
    approve_some,
    assert_exactly_one_of_each,
    fleet,
)

pytestmark = pytest.mark.e2e


def start_apply(tenant: Account, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "apply", "stores.yaml", "--auto-approve", *extra],
        env=tenant.env,
        cwd=tenant.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def live_stores(tenant: Account) -> int:
    return len(all_pages(tenant, "/stores"))


def kill_once_stores_exist(tenant: Account, process: subprocess.Popen[str], at: int) -> None:
    """SIGKILL the apply as soon as `at` of its stores exist live: a moment inside the run
    picked by what it has done, not by the clock."""
    deadline = time.monotonic() + 120
    while live_stores(tenant) < at:
        assert process.poll() is None, f"the apply ended before {at} stores existed"
        assert time.monotonic() < deadline, f"fewer than {at} stores after 120 s"
        time.sleep(0.02)
    assert process.poll() is None, "the apply ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def crash_then_rerun(tenant: Account, seed: int) -> None:
    config = fleet(8, 4)
    tenant.write_config(config)
    stores = sum(len(m["stores"]) for m in config["merchants"])
    planned = len(tenant.plan_json("stores.yaml")["changes"])
    tenant.control(
        "POST",
        "/_sandbox/faults",
        {"rate": 0, "after_commit_share": 0, "latency_ms": 20, "seed": seed},
    )
    process = start_apply(tenant, "--audit-log", "audit.jsonl")
    kill_once_stores_exist(tenant, process, at=random.Random(seed).randint(1, stores // 2))
    tenant.control(
        "POST", "/_sandbox/faults", {"rate": 0, "after_commit_share": 0, "latency_ms": 0}
    )
    # The kill landed mid-apply: some of the plan is live (the stores that triggered it, the
    # customers they belong to), not all of it (fewer audited changes than planned, and a
    # plan still has changes).
    done = (tenant.workdir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert 0 < len(done) < planned, (len(done), planned)
    assert tenant.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 2
    tenant.cli("apply", "stores.yaml", "--auto-approve", check=True)
    approve_some(tenant, 0.5)
    tenant.cli("apply", "stores.yaml", "--auto-approve", check=True)
    assert_exactly_one_of_each(tenant, config)
    assert tenant.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 0


def test_apply_killed_midway_converges_on_rerun(tenant: Account) -> None:
    crash_then_rerun(tenant, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 22, 23, 24])
def test_apply_killed_at_random_moments_converges(tenant: Account, seed: int) -> None:
    crash_then_rerun(tenant, seed)


def test_two_applies_at_once_leave_no_duplicates(tenant: Account) -> None:
    config = fleet(8, 3)
    tenant.write_config(config)
    tenant.control(
        "POST", "/_sandbox/faults", {"rate": 0, "after_commit_share": 0, "latency_ms": 5}
    )
    first, second = start_apply(tenant), start_apply(tenant)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    for process, (_out, err) in zip((first, second), outputs, strict=True):
        assert "Traceback" not in err
        assert process.returncode in (0, 1), err
        if process.returncode == 1:
            assert err.strip(), "a failed apply must say why"
    approve_some(tenant, 0.5)
    tenant.cli("apply", "stores.yaml", "--auto-approve", check=True)
    assert_exactly_one_of_each(tenant, config)
    assert tenant.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 0
