"""Fixtures for the client tests: the fake DropStream, the fake clock, and clients wired
to both (helpers live in client_fakes.py, a name no other test folder uses)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dropstream_sync.client import ReadClient, WriteClient
from tests.client.client_fakes import FakeDropStream, FakeTime, settings


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


@pytest.fixture
def make_writer(fake: FakeDropStream, fake_time: FakeTime) -> Callable[..., WriteClient]:
    def make(transport: httpx.AsyncBaseTransport | None = None, **kw: Any) -> WriteClient:
        return WriteClient(settings(**kw), transport=transport or fake.transport(),
                           timing=fake_time.timing, rng=random.Random(7))

    return make
