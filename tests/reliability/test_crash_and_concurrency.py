"""An apply killed mid-flight, and two applies at once: both converge, no duplicates."""

from __future__ import annotations

import random
import signal
import subprocess
import time

import pytest

from tests.e2e.harness import CLI, Account
from tests.reliability.checks import approve_some, assert_exactly_one_of_each, fleet

pytestmark = pytest.mark.e2e


def start_apply(tenant: Account) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "apply", "stores.yaml", "--auto-approve"], env=tenant.env, cwd=tenant.workdir,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )


def crash_then_rerun(tenant: Account, seed: int) -> None:
    config = fleet(8, 4)
    tenant.write_config(config)
    tenant.control("POST", "/_sandbox/faults", {"rate": 0, "after_commit_share": 0,
                                                "latency_ms": 20, "seed": seed})
    process = start_apply(tenant)
    time.sleep(random.Random(seed).uniform(0.8, 2.5))
    process.send_signal(signal.SIGKILL)
    process.wait()
    tenant.control("POST", "/_sandbox/faults", {"rate": 0, "after_commit_share": 0,
                                                "latency_ms": 0})
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
    tenant.control("POST", "/_sandbox/faults", {"rate": 0, "after_commit_share": 0,
                                                "latency_ms": 5})
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
