"""Fixtures for the client tests: `box`, the bundled sandbox in this process (on_sandbox.py).

`fake`, `fake_time` and `make_reader` are the old hand-written DropStream's, kept only for
test_pacing.py until it moves to the sandbox too (helpers in client_fakes.py, a name no
other test folder uses)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from dropstream_sync.client import ReadClient
from tests.client.client_fakes import FakeDropStream, FakeTime, settings
from tests.client.on_sandbox import Box


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path / "sandbox")


@pytest.fixture
def fake() -> FakeDropStream:
    return FakeDropStream()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_reader(fake: FakeDropStream, fake_time: FakeTime) -> Callable[..., ReadClient]:
    def make(transport: httpx.AsyncBaseTransport | None = None, **kw: Any) -> ReadClient:
        return ReadClient(settings(**kw), transport=transport or fake.transport(),
                          timing=fake_time.timing, rng=random.Random(7))

    return make
