"""Apply: carry out a Plan's changes through the write client.

Phases run in the order of product.md §6 (`planner.model.PHASES`); within a phase up to
`parallelism` changes run at once. A change whose dependency failed or was skipped is
skipped; independent changes go on. Ids of objects created earlier in the run reach later
changes through `detail["refs"]`. Retries, back-off and the read-before-repost rule for
lost POST answers live in the client: a change here is one logical step, made safe to
repeat by the client, so running apply again after any failure converges.
"""

from __future__ import annotations

import asyncio
import fcntl
import getpass
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dropstream_sync.client import WriteClient
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import DropstreamSyncError, StalePlanError
from dropstream_sync.live import LiveState
from dropstream_sync.planner.fingerprint import live_fingerprint
from dropstream_sync.planner.model import PHASES, Change, Plan

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ChangeResult:
    change: Change
    outcome: str  # ok | failed | skipped
    error: str | None = None
    created_id: int | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.change.id,
            "kind": self.change.kind,
            "merchant": self.change.merchant,
            "store": self.change.store,
            "target": {
                "type": self.change.target.type,
                "id": self.change.target.id if self.change.target.id is not None
                else self.created_id,
            },
            "outcome": self.outcome,
            "error": self.error,
            "created_id": self.created_id,
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class ApplyReport:
    results: list[ChangeResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failures(self) -> list[ChangeResult]:
        return [r for r in self.results if r.outcome == FAILED]

    @property
    def ok(self) -> bool:
        return not any(r.outcome != OK for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": "1",
            "summary": {
                "changes": len(self.results),
                "ok": self.count(OK),
                "failed": self.count(FAILED),
                "skipped": self.count(SKIPPED),
                "seconds": round(self.seconds, 3),
            },
            "results": [r.to_dict() for r in self.results],
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AuditLog:
    """Appends one JSON line per change (product.md §5). Holds no credential: it writes
    only the plan's own fields and the outcome."""

    def __init__(self, path: Path, config_digest: str) -> None:
        self._path = path
        self._digest = config_digest
        self._actor = (os.environ.get("GITHUB_ACTOR") or os.environ.get("GITLAB_USER_LOGIN")
                       or _os_user())
        self._commit = (os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA")
                        or _git_commit())

    def write(self, result: ChangeResult) -> None:
        change = result.change
        record = {
            "time": _iso(datetime.now(UTC)),
            "actor": self._actor,
            "git_commit": self._commit,
            "config_digest": self._digest,
            "change_id": change.id,
            "kind": change.kind,
            "merchant": change.merchant,
            "store": change.store,
            "target": result.to_dict()["target"],
            "fields": [f.to_dict() for f in change.fields],
            "outcome": result.outcome,
            "error": result.error,
        }
        with self._path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def check_fresh(plan: Plan, live: LiveState) -> None:
    """Refuse a saved plan when any live object it read for its merchants changed."""
    digest, index = live_fingerprint(live, plan.merchants)
    if digest == plan.live_fingerprint:
        return
    before, after = dict(plan.live_index), index
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    gone = sorted(before.keys() - after.keys())
    new = sorted(after.keys() - before.keys())
    parts = []
    for label, keys in (("changed", changed), ("gone", gone), ("new", new)):
        if keys:
            shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
            parts.append(f"{label}: {shown}")
    what = "; ".join(parts) or "the live state differs"
    raise StalePlanError(
        f"plan is stale: live objects changed since it was made ({what}). "
        "Run plan again and review the new plan."
    )


Clock = Callable[[], datetime]


class Applier:
    def __init__(
        self,
        client: WriteClient,
        *,
        parallelism: int = 4,
        clock: Clock = lambda: datetime.now(UTC),
        on_result: Callable[[ChangeResult], None] | None = None,
    ) -> None:
        if parallelism < 1:
            raise DropstreamSyncError("--parallelism must be at least 1")
        self._client = client
        self._parallelism = parallelism
        self._clock = clock
        self._on_result = on_result
        self._created: dict[str, int] = {}
        self._outcome: dict[str, str] = {}

    async def apply(self, plan: Plan) -> ApplyReport:
        started = time.monotonic()
        report = ApplyReport()
        limit = asyncio.Semaphore(self._parallelism)
        for kinds in PHASES:
            batch = [c for c in plan.changes if c.kind in kinds]
            if not batch:
                continue

            async def run(change: Change) -> ChangeResult:
                async with limit:
                    return await self._run_one(change)

            for result in await asyncio.gather(*(run(c) for c in batch)):
                report.results.append(result)
        report.seconds = time.monotonic() - started
        return report

    async def _run_one(self, change: Change) -> ChangeResult:
        blocked = [d for d in change.depends_on if self._outcome.get(d, OK) != OK]
        if blocked:
            result = ChangeResult(change, SKIPPED, error=f"skipped: depends on failed {blocked[0]}")
        else:
            started = time.monotonic()
            try:
                created = await self._execute(change)
            except DropstreamSyncError as exc:
                result = ChangeResult(change, FAILED, str(exc), seconds=time.monotonic() - started)
            else:
                if created is not None:
                    self._created[change.id] = created
                result = ChangeResult(change, OK, None, created, time.monotonic() - started)
        self._outcome[change.id] = result.outcome
        if self._on_result is not None:
            self._on_result(result)
        return result

    def _ref(self, detail: Mapping[str, Any], key: str) -> int:
        value = detail.get(key)
        if value is not None:
            return int(value)
        ref = detail.get("refs", {}).get(key)
        if ref is None or ref not in self._created:
            raise DropstreamSyncError(f"internal: no {key} for this change (ref {ref!r})")
        return self._created[ref]

    async def _execute(self, change: Change) -> int | None:
        c, d, kind = self._client, change.detail, change.kind
        now = self._clock()
        if kind == "create_merchant":
            return await c.create_customer(d["company_name"])
        if kind == "create_store":
            s = d["settings"]
            settings = StoreSettings(
                fulfillment_channel=s["fulfillment_channel"],
                import_order_statuses=frozenset(s["import_order_statuses"]),
                fulfillment_latency=s["fulfillment_latency"],
                fulfillment_channel_code=s["fulfillment_channel_code"],
            )
            return await c.create_store(
                self._ref(d, "customer_id"), d["name"], d["marketplace_id"], settings
            )
        if kind == "update_store":
            assert change.target.id is not None
            await c.update_store(
                change.target.id, name=d.get("name"), settings_patch=d.get("settings_patch") or None
            )
            return None
        if kind == "cancel_invite":
            await c.cancel_authorization_request(int(d["request_id"]))
            return None
        if kind in ("invite", "reinvite"):
            if d.get("cancel_request_id") is not None:
                await c.cancel_authorization_request(int(d["cancel_request_id"]))
            request = await c.create_authorization_request(self._ref(d, "store_id"), d["email"])
            return request.id
        if kind == "create_connection":
            store_id = int(d["store_id"])
            connection_id = await c.create_connection(
                int(d["customer_id"]), store_id, int(d["warehouse_id"]), d["name"]
            )
            if d.get("enable"):
                await c.update_connection(connection_id, enabled_at=now)
                await c.update_store(store_id, enabled_at=now)
            return connection_id
        if kind == "update_connection":
            assert change.target.id is not None
            await c.update_connection(change.target.id, name=d["name"])
            return None
        if kind == "enable":
            if d.get("connection") and d.get("connection_id") is not None:
                await c.update_connection(int(d["connection_id"]), enabled_at=now)
            if d.get("store"):
                await c.update_store(int(d["store_id"]), enabled_at=now)
            return None
        if kind == "disable":
            # The connection first: a disabled store behind an enabled connection would still
            # look live to the warehouse side for a moment; the other order never does.
            if d.get("connection") and d.get("connection_id") is not None:
                await c.update_connection(int(d["connection_id"]), enabled_at=None)
            if d.get("store"):
                await c.update_store(int(d["store_id"]), enabled_at=None)
            return None
        raise DropstreamSyncError(f"unknown change kind {kind!r}")


async def apply_plan(
    plan: Plan,
    client: WriteClient,
    *,
    parallelism: int = 4,
    on_result: Callable[[ChangeResult], None] | None = None,
    clock: Clock = lambda: datetime.now(UTC),
) -> ApplyReport:
    return await Applier(
        client, parallelism=parallelism, on_result=on_result, clock=clock
    ).apply(plan)


class ApplyLock:
    """One apply at a time per account on this machine (like Terraform's state lock).

    DropStream offers no lock and no uniqueness for customers or store names, so two
    applies of one config racing each other could both create the same store. Applies on
    one machine take this file lock before planning; applies on several machines rely on
    the CI's concurrency group (docs/ci.md).
    """

    def __init__(self, api_url: str, account: str, *, timeout: float = 600.0) -> None:
        base = Path(os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp")
        key = hashlib.sha256(f"{api_url}\n{account}".encode()).hexdigest()[:16]
        self.path = base / f"dropstream-sync-apply-{key}.lock"
        self._timeout = timeout
        self._fh: Any = None

    def __enter__(self) -> ApplyLock:
        self._fh = self.path.open("a+")
        deadline = time.monotonic() + self._timeout
        waited = False
        while True:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if not waited:
                    print("Another apply on this account is running; waiting for it to finish...",
                          file=sys.stderr)
                    waited = True
                if time.monotonic() > deadline:
                    self._fh.close()
                    raise DropstreamSyncError(
                        f"another apply on this account held the lock {self.path} for "
                        f"{self._timeout:.0f} s; try again when it has finished"
                    ) from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
