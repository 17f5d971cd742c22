from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Account, Server, start_server, stop_server


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: faults and rate limits are server-wide."""
    srv = start_server(tmp_path_factory.mktemp("reliability-state"))
    yield srv
    stop_server(srv)


@pytest.fixture
def tenant(own_server: Server, tmp_path: Path) -> Iterator[Account]:
    username = "rel-" + secrets.token_hex(4)
    password = secrets.token_urlsafe(12)
    headers = {"X-Sandbox-Admin": own_server.admin_key}
    httpx.post(own_server.url + "/_sandbox/users", json={"username": username,
               "password": password}, headers=headers, timeout=30).raise_for_status()
    yield Account(own_server, username, password, tmp_path)
    # Leave the server calm for the next test.
    httpx.post(own_server.url + "/_sandbox/faults", json={"rate": 0, "after_commit_share": 0,
               "latency_ms": 0}, headers=headers, timeout=30)
    httpx.post(own_server.url + "/_sandbox/rate_limit", json={"rps": 0, "burst": 1},
               headers=headers, timeout=30)
