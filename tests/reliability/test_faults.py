"""Apply under injected faults (half of them after the write committed) and a rate limit."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Account
from tests.reliability.checks import approve_some, assert_exactly_one_of_each, fleet

pytestmark = pytest.mark.e2e


def rough_apply(tenant: Account, size: tuple[int, int], *, seed: int) -> None:
    config = fleet(*size)
    tenant.write_config(config)
    tenant.control("POST", "/_sandbox/rate_limit", {"rps": 200, "burst": 20})
    faults = {"rate": 0.2, "after_commit_share": 0.5, "latency_ms": 0, "seed": seed}

    # One apply creates merchants, stores and invites through the faults...
    tenant.control("POST", "/_sandbox/faults", faults)
    first = tenant.cli("apply", "stores.yaml", "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr
    # ...merchants approve some stores, and one more apply finalizes them, through faults.
    tenant.control("POST", "/_sandbox/faults", {**faults, "rate": 0})
    assert approve_some(tenant, 0.5) > 0
    tenant.control("POST", "/_sandbox/faults", faults)
    second = tenant.cli("apply", "stores.yaml", "--auto-approve")
    assert second.returncode == 0, second.stdout + second.stderr

    tenant.control("POST", "/_sandbox/faults", {**faults, "rate": 0})
    stats = tenant.control("GET", "/_sandbox/stats")
    assert stats["faults"] > 0, "the faults were not injected: the test proves nothing"
    assert_exactly_one_of_each(tenant, config)
    after = tenant.cli("plan", "stores.yaml", "--detailed-exitcode")
    assert after.returncode == 0, after.stdout


def test_apply_through_faults_converges_without_duplicates(tenant: Account) -> None:
    rough_apply(tenant, (6, 4), seed=7)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_apply_of_hundreds_of_changes_through_faults(tenant: Account, seed: int) -> None:
    rough_apply(tenant, (40, 5), seed=seed)
