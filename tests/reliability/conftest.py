from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Account, Server, new_account, start_server, stop_server


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: faults and rate limits are server-wide."""
    srv = start_server(tmp_path_factory.mktemp("reliability-state"))
    yield srv
    stop_server(srv)


@pytest.fixture
def tenant(own_server: Server, tmp_path: Path) -> Iterator[Account]:
    account = new_account(own_server, tmp_path, "rel")
    yield account
    # Leave the server calm for the next test.
    account.control(
        "POST", "/_sandbox/faults", {"rate": 0, "after_commit_share": 0, "latency_ms": 0}
    )
    account.control("POST", "/_sandbox/rate_limit", {"rps": 0, "burst": 1})
