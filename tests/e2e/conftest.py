from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Account, Server, start_server, stop_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("sandbox-state"))
    yield srv
    stop_server(srv)


@pytest.fixture
def account(server: Server, tmp_path: Path) -> Account:
    """A fresh tenant of the shared server, so tests never see each other's objects."""
    username = "e2e-" + secrets.token_hex(4)
    password = secrets.token_urlsafe(12)
    httpx.post(
        server.url + "/_sandbox/users", json={"username": username, "password": password},
        headers={"X-Sandbox-Admin": server.admin_key}, timeout=30,
    ).raise_for_status()
    return Account(server, username, password, tmp_path)
