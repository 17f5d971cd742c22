"""Fixtures for the client tests: `box`, the bundled sandbox in this process (on_sandbox.py).
The client is tested against the real sandbox only; where one request must fail in a chosen
way, a thin transport in front of it does that (on_sandbox.ScriptedFaults). `served` is the
sandbox over a real socket, and `proxy` a hostile server in front of it (tests/hostile.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.on_sandbox import Box
from tests.doctor.on_sandbox import Served
from tests.hostile import Hostile


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path / "sandbox")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with Served(tmp_path / "sb") as sandbox:
        yield sandbox


@pytest.fixture
def proxy(served: Served) -> Iterator[Hostile]:
    with Hostile(served.url) as server:
        yield server
