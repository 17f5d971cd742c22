from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Account, Server, new_account, start_server, stop_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("sandbox-state"))
    yield srv
    stop_server(srv)


@pytest.fixture
def account(server: Server, tmp_path: Path) -> Account:
    return new_account(server, tmp_path, "e2e")
