"""A second Ctrl-C that comes while a change only waits for a read (every write it sent was
answered) must not record it as `unknown` ("may have taken effect"): what it did is known.
A read that only checks the answers (a read-back, a create's look for a concurrent
duplicate) leaves the change ok, its note saying what was not checked; a read with writes
still to follow leaves it failed, naming what it made. Each record is checked against the
sandbox's database (tests/apply/record_check.py)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx

from dropstream_sync import live
from dropstream_sync.apply import STOPPED_READING, ApplyReport, AuditLog, Stop, apply_plan
from dropstream_sync.cli.connect import SANDBOX_URL
from dropstream_sync.client import WriteClient
from dropstream_sync.client.sync import SyncWriteClient
from dropstream_sync.config import load_text
from dropstream_sync.planner import plan
from dropstream_sync.sandbox import create_app, inprocess_transport
from tests.apply.record_check import Truth, problems, read_audit
from tests.apply.sandbox_clients import sandbox_settings

CONFIG = """
version: 1
merchants:
  - name: Acme
    email: ops@acme.example
    stores:
      - name: Acme US
        marketplace: US
        fulfillment_latency: {latency}
        channels: {{sales_order: true}}
"""


class StopsWhileReading(WriteClient):
    """Twice a stop (a second Ctrl-C) as the read named `read` starts; that read then never
    answers, so the stop finds it in flight."""

    stop: Stop
    read = ""

    async def _cut(self, name: str) -> None:
        if name == self.read:
            self.stop.request(signal.SIGINT)
            self.stop.request(signal.SIGINT)
            await asyncio.Event().wait()

    async def get_store(self, store_id: int) -> live.Store:
        await self._cut("get_store")
        return await super().get_store(store_id)

    async def get_connection(self, connection_id: int) -> live.Connection:
        await self._cut("get_connection")
        return await super().get_connection(connection_id)

    async def list_channels(self, connection_id: int) -> list[live.Channel]:
        await self._cut("list_channels")
        return await super().list_channels(connection_id)


class Account:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.app = create_app(state)
        self.transport = inprocess_transport(self.app)
        self.client = StopsWhileReading(sandbox_settings(self.app), transport=self.transport)
        self.sync = SyncWriteClient(self.client)
        self.applies = 0

    def apply(self, latency: int, cut_at: str = "") -> tuple[ApplyReport, list[dict[str, Any]]]:
        """Plan the config and apply it, stopped (twice) at the read `cut_at`; the report,
        and the audit lines of this apply, checked against the database."""
        before = Truth.read(self.state)
        desired = load_text(CONFIG.format(latency=latency), "stores.yaml")
        self.applies += 1
        path = self.state.parent / f"audit-{self.applies}.jsonl"
        self.client.read = ""
        made = plan(desired, self.sync.read_live(), now=self.sync.clock())
        self.client.stop = Stop(grace=5)
        self.client.read = cut_at
        with AuditLog(path) as audit:
            report = self.sync.run(
                apply_plan(made, self.client, audit=audit, stop=self.client.stop)
            )
        records = read_audit(path)
        assert problems(before, Truth.read(self.state), records) == []
        return report, records

    def authorize(self) -> None:
        info = self.app.sandbox_info

        async def complete() -> None:
            async with httpx.AsyncClient(
                transport=self.transport,
                base_url=SANDBOX_URL,
                headers={"X-Sandbox-Admin": info.admin_key},
            ) as admin:
                [mail] = (await admin.get("/_sandbox/outbox")).json()
                request = mail["authorization_request_id"]
                answer = await admin.post(
                    f"/_sandbox/authorization_requests/{request}/complete", json={}
                )
                answer.raise_for_status()

        self.sync.run(complete())


def invited(tmp_path: Path) -> Account:
    account = Account(tmp_path / "state")
    account.sync.__enter__()
    report, _ = account.apply(2)
    assert {r.outcome for r in report.results} == {"ok"}
    return account


def test_an_update_stopped_during_its_read_back_is_ok_and_says_it_was_not_confirmed(
    tmp_path: Path,
) -> None:
    account = invited(tmp_path)
    try:
        report, records = account.apply(5, cut_at="get_store")
        store = account.sync.read_live().stores[0]
    finally:
        account.sync.close()
    [update] = report.results
    assert str(update.change.kind) == "update_store" and update.outcome == "ok", update.line()
    assert update.error is None and report.interrupted == signal.SIGINT
    assert update.note is not None and "stopped during the read meant to confirm" in update.note
    assert "not confirmed" in update.note
    assert store.fulfillment_latency == 5  # the PATCH was answered as done, and it took
    assert [(r["outcome"], r["error"]) for r in records] == [("ok", None)]


def test_a_connection_stopped_while_reading_its_channels_failed_and_names_the_billed_one(
    tmp_path: Path,
) -> None:
    account = invited(tmp_path)
    try:
        account.authorize()
        report, records = account.apply(2, cut_at="list_channels")
        connections = account.sync.read_live().connections
        # The next plan finishes it: the channel and the switch on, no second connection.
        after, _ = account.apply(2)
        finished = account.sync.read_live()
    finally:
        account.sync.close()
    [connect] = report.results
    assert str(connect.change.kind) == "create_connection"
    # Not unknown: no write of it was in flight; it did not finish, and what it made is named.
    assert connect.outcome == "failed" and connect.error == STOPPED_READING, connect.line()
    assert len(connections) == 1 and connect.created_id == connections[0].id
    assert connect.note is not None and "billed" in connect.note
    assert [r["outcome"] for r in records] == ["failed"]
    assert {r.outcome for r in after.results} == {"ok"}
    assert [c.id for c in finished.connections] == [connections[0].id]
    assert finished.connections[0].enabled_at is not None


def test_a_connection_stopped_during_its_enable_read_back_failed_before_the_store_was_enabled(
    tmp_path: Path,
) -> None:
    """Its store's enable was still to come: the change did not finish, and says so."""
    account = invited(tmp_path)
    try:
        account.authorize()
        report, records = account.apply(2, cut_at="get_connection")
        state = account.sync.read_live()
    finally:
        account.sync.close()
    [connect] = report.results
    assert connect.outcome == "failed" and connect.error == STOPPED_READING, connect.line()
    assert connect.created_id == state.connections[0].id
    assert state.connections[0].enabled_at is not None and state.stores[0].enabled_at is None
    assert [r["outcome"] for r in records] == ["failed"]
