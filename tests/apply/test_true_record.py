"""The record of what apply did is true: a seed sweep of applies through the sandbox's faults
(half of them after the write committed), checked object by object (record_check.py).

Each seed takes one account from nothing to connected, in three applies through faults:
customers, stores and invites; then, once the merchants authorized (and one merchant's email
changed), the billed connections and the reinvites; then whatever the faults left over.
After each apply its audit log and results are compared with the sandbox's real state and
outbox.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from dropstream_sync import workflows
from dropstream_sync.apply import ApplyReport, ChangeResult
from dropstream_sync.cli.connect import SANDBOX_URL
from dropstream_sync.client import WriteClient
from dropstream_sync.client.limiter import Timing
from dropstream_sync.client.settings import BasicCredentials, ClientSettings, Limits, Secret
from dropstream_sync.client.sync import SyncWriteClient
from dropstream_sync.errors import DropstreamSyncError
from dropstream_sync.sandbox import control, create_app, inprocess_transport
from dropstream_sync.sandbox.app import Faults, SandboxApp
from tests.apply.record_check import Truth, problems, read_audit, same_story

CODES = ["US", "CA", "UK", "DE"]


def fleet(merchants: int, stores: int, *, email: str = "ops{m}@merchant.example") -> Any:
    return {
        "version": 1,
        "safety": {"max_invites_per_run": 1000},
        "defaults": {"channels": {"sales_order": True, "shipment": True}},
        "merchants": [
            {
                "name": f"Merchant {m}",
                "email": email.format(m=m),
                "stores": [
                    {"name": f"Merchant {m} {CODES[s]}", "marketplace": CODES[s]}
                    for s in range(stores)
                ],
            }
            for m in range(merchants)
        ],
    }


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


class Box:
    """One in-process sandbox and a write client on it that retries without sleeping."""

    def __init__(self, state: Path, attempts: int = 8, **app: Any) -> None:
        self.state = state
        self.app: SandboxApp = create_app(state, **app)
        info = self.app.sandbox_info
        settings = ClientSettings(
            SANDBOX_URL,
            BasicCredentials(info.username, Secret(info.password)),
            # Few attempts: some changes fail or end unknown, and their record is checked too.
            Limits(rate_limit_rps=None, max_attempts=attempts),
            lock_scope=str(state),
        )
        self.client = SyncWriteClient(
            WriteClient(
                settings, transport=inprocess_transport(self.app), timing=Timing(sleep=_no_wait)
            )
        )

    def faults(self, seed: int | None, rate: float = 0.3, after_commit: float = 0.5) -> None:
        """The sandbox's own faults (none for seed None), seeded: one seed, one run."""
        self.app.faults = Faults(rate, after_commit, 0, seed) if seed is not None else Faults()
        self.app.rng = random.Random(seed)

    def authorize(self, share: float = 1.0) -> None:
        """Merchants approve `share` of the pending requests (the sandbox's merchant page)."""
        with self.app.db.read() as conn:
            pending = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM authorization_requests WHERE status = 'pending' ORDER BY id"
                )
            ]
        for rid in pending[: round(len(pending) * share)]:
            control.complete(self.app, {}, {}, rid)


class Hooks(workflows.ApplyHooks):
    def __init__(self) -> None:
        self.results: list[ChangeResult] = []

    def result(self, result: ChangeResult) -> None:
        self.results.append(result)


def checked_apply(
    box: Box, config: Path, audit: Path, seed: int | None
) -> tuple[ApplyReport | None, list[str]]:
    """One apply of `config` through the faults of `seed`, and every way its record (audit
    log, results, lines) misstates what the sandbox holds and sent."""
    start = len(read_audit(audit))
    before = Truth.read(box.state)
    hooks = Hooks()
    report: ApplyReport | None = None
    box.faults(seed)
    try:
        report = workflows.apply(
            box.client,
            [str(config)],
            audit_log=audit,
            hooks=hooks,
            parallelism=1 + (seed or 0) % 8,
        ).report
    except DropstreamSyncError:
        pass  # the plan's read failed through the faults: nothing may have been made then
    finally:
        box.faults(None)
    after = Truth.read(box.state)
    records = read_audit(audit)[start:]
    found = problems(before, after, records)
    if report is not None:
        found += same_story(records, report.to_dict()["results"], [r.line() for r in hooks.results])
    return report, found


def lifecycle(
    tmp_path: Path,
    seed: int,
    size: tuple[int, int],
    quirks: tuple[str, ...] = (),
    *,
    converges: bool = True,
) -> set[tuple[str, str]]:
    box = Box(tmp_path / "state", attempts=2 + seed % 3, quirks=quirks)
    config = tmp_path / "stores.yaml"
    audit = tmp_path / "audit.jsonl"
    desired = fleet(*size)
    config.write_text(yaml.safe_dump(desired))
    kinds: set[tuple[str, str]] = set()
    with box.client:
        for step in range(5):
            if step == 1:
                # A merchant's address changes: its pending invites are sent again; some
                # other merchants approve theirs.
                desired["merchants"][0]["email"] = "new-ops@merchant.example"
                config.write_text(yaml.safe_dump(desired))
                box.authorize(0.5)
            if step == 2:
                # A merchant is to authorize in the UI from now on: its invites are canceled.
                del desired["merchants"][2]["email"]
                config.write_text(yaml.safe_dump(desired))
            if step == 3:
                box.authorize()
                # Settings change and a store is paused: updates and a disable, read back.
                desired["merchants"][1]["stores"][0]["fulfillment_latency"] = 3
                desired["merchants"][1]["stores"][1]["enabled"] = False
                desired["merchants"][2]["stores"][0]["import_order_statuses"] = [
                    "Unshipped",
                    "PendingAvailability",
                ]
                config.write_text(yaml.safe_dump(desired))
            report, found = checked_apply(box, config, audit, seed * 10 + step)
            assert found == [], f"seed {seed}, apply {step + 1}:\n" + "\n".join(found)
            if report is not None:
                kinds |= {(str(r.change.kind), str(r.outcome)) for r in report.results}
        # Then, calm, it converges and the whole log holds: nothing is left to do.
        box.authorize()
        # (A connection whose channels could not be read, channel-keys, is enabled by the
        # apply after the one that made it.)
        for _ in range(3):
            report, found = checked_apply(box, config, audit, None)
            assert found == []
    if converges:
        assert report is None, [r.line() for r in report.results]
    assert box.app.fault_count > 0, "no fault was injected: the sweep proves nothing"
    return kinds


@pytest.mark.parametrize("seed", range(4))
def test_the_record_of_an_apply_through_faults_is_true(tmp_path: Path, seed: int) -> None:
    lifecycle(tmp_path, seed, (3, 3))


# Quirks that change answers (quirks.py), met by faults: what the recovery read after a lost
# answer sees differs from the model, and must not turn a made object into an unrecorded one.
ANSWER_QUIRKS = (
    "adapter-keys",
    "request-status-case",
    "adapter-settings",
    "channel-keys",
    "no-link",
    "ignore-per-page",
    "cap:5",
)


@pytest.mark.parametrize("quirk", ANSWER_QUIRKS)
def test_the_record_is_true_when_the_server_answers_otherwise(tmp_path: Path, quirk: str) -> None:
    lifecycle(tmp_path, 0, (3, 3), (quirk,))


# Quirks that make a write look done when it was not: the change must not read as done (so
# the account never converges, and the record of each apply is what is checked).
@pytest.mark.parametrize("quirk", ["patch-ignores-settings", "patch-ignores-enabled"])
@pytest.mark.parametrize("seed", range(2))
def test_the_record_is_true_when_writes_answer_done_but_do_not_take(
    tmp_path: Path, quirk: str, seed: int
) -> None:
    kinds = lifecycle(tmp_path, seed, (3, 3), (quirk,), converges=False)
    failed = "update_store" if quirk == "patch-ignores-settings" else "enable"
    assert (failed, "failed") in kinds, kinds


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4, 80))
def test_the_record_of_an_apply_through_faults_is_true_for_many_seeds(
    tmp_path: Path, seed: int
) -> None:
    lifecycle(tmp_path, seed, (4, 4))


@pytest.mark.slow
@pytest.mark.parametrize("quirk", ANSWER_QUIRKS)
@pytest.mark.parametrize("seed", range(1, 12))
def test_the_record_is_true_when_the_server_answers_otherwise_for_many_seeds(
    tmp_path: Path, quirk: str, seed: int
) -> None:
    lifecycle(tmp_path, seed, (4, 4), (quirk,))
