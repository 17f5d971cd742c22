"""Fixtures for the client tests: `box`, the bundled sandbox in this process (on_sandbox.py).
The client is tested against the real sandbox only; where one request must fail in a chosen
way, a thin transport in front of it does that (on_sandbox.ScriptedFaults)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.client.on_sandbox import Box


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path / "sandbox")
