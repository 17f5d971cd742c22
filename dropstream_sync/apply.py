"""Apply: carry out a Plan's changes through the write client.

Phases run in the order of product.md §6 (`planner.model.PHASES`); within a phase up to
`parallelism` changes run at once (a create whose POST has ended, and that only waits for
its shared verifying read, gives up its place: `_ReadAfterWrites`). A change whose
dependency did not end `ok` is skipped; independent changes go on. Each kind has one
handler (`_HANDLERS`); ids of objects created earlier in the run reach later changes through
the details' refs. Retries, back-off and the read-before-repost rule for lost POST answers
live in the client: a change here is one logical step, made safe to repeat by the client, so
running apply again after any failure converges. A change whose write may have committed
although no answer said so (the client's `ApiError.may_have_committed`) ends `unknown`,
never `failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import getpass
import hashlib
import json
import logging
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Final, TypeVar
from urllib.parse import urlsplit

from dropstream_sync import catalog
from dropstream_sync.client import EMPTY_ACCOUNT, UNSET, WriteClient
from dropstream_sync.client.settings import is_loopback
from dropstream_sync.errors import (
    ApiError,
    ApplyError,
    DropstreamSyncError,
    SettingsError,
    StalePlanError,
    printable,
)
from dropstream_sync.live import LiveState
from dropstream_sync.planner.details import NeutralizeDuplicate, neutralized_name
from dropstream_sync.planner.fingerprint import live_fingerprint
from dropstream_sync.planner.model import (
    PHASES,
    REPLAN,
    CancelInvite,
    Change,
    ChangeKind,
    CreateConnection,
    CreateMerchant,
    CreateStore,
    Disable,
    Enable,
    Invite,
    Plan,
    Reinvite,
    UpdateChannel,
    UpdateConnection,
    UpdateStore,
)
from dropstream_sync.timestamps import utc_stamp

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How one change ended (product.md §5); the values are the audit log's and JSON's."""

    OK = "ok"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the answer was lost and no read could tell: run apply again
    SKIPPED = "skipped"  # a dependency did not end ok

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]


_SYMBOLS: Final = {Outcome.OK: "✓", Outcome.FAILED: "✗", Outcome.UNKNOWN: "?", Outcome.SKIPPED: "·"}
OK: Final = Outcome.OK
FAILED: Final = Outcome.FAILED
UNKNOWN: Final = Outcome.UNKNOWN
SKIPPED: Final = Outcome.SKIPPED


@dataclass(frozen=True, slots=True)
class ChangeResult:
    change: Change
    outcome: Outcome
    error: str | None = None
    created_id: int | None = None  # the object this change created (a request for invites)
    seconds: float = 0.0
    target_id: int | None = None  # the target's own id, also when made earlier in the run
    note: str | None = None  # what else happened (a duplicate neutralized), for people

    @property
    def target(self) -> dict[str, Any]:
        own = self.change.target.id if self.change.target.id is not None else self.target_id
        return {"type": str(self.change.target.type), "id": own}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.change.id,
            "kind": str(self.change.kind),
            "merchant": self.change.merchant,
            "store": self.change.store,
            "target": self.target,
            "outcome": str(self.outcome),
            "error": self.error,
            "created_id": self.created_id,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }

    def line(self) -> str:
        """The terminal line of this change, as it completes."""
        change = self.change
        who = change.merchant + (f" / {change.store}" if change.store else "")
        target_id = self.target["id"]
        target = f" ({change.target.type} {target_id})" if target_id is not None else ""
        text = f"{self.outcome.symbol} {change.kind} {who}{target}"
        if self.note:
            text += f" ({self.note})"
        if self.error:
            text += f": {self.error}"
        # One line, whatever the names of a (crafted) plan file or the API's message hold.
        return printable(text)


@dataclass(slots=True)
class ApplyReport:
    results: list[ChangeResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: int | None = None  # the signal that stopped the apply, if one did
    not_started: int = 0  # changes never attempted because of it (or of audit_error)
    # The audit log could not be written (a full disk): no change started after that.
    audit_error: str | None = None
    unrecorded: int = 0  # changes that ended after it, missing from the audit log
    # Applied from a saved plan: once any change took effect that plan no longer matches
    # the account and is refused as stale, so "run apply again" is advice for a new plan.
    saved_plan: bool = False
    # The `dropstream-sync plan` the advice names, as the user can run it: the command line
    # sets it (it knows the paths and where they connected). None: the generic form.
    plan_command: str | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failures(self) -> list[ChangeResult]:
        return [r for r in self.results if r.outcome == FAILED]

    @property
    def unknown(self) -> list[ChangeResult]:
        return [r for r in self.results if r.outcome == UNKNOWN]

    @property
    def ok(self) -> bool:
        return not any(r.outcome != OK for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": "1",
            "summary": {
                "changes": len(self.results),
                **{str(o): self.count(o) for o in Outcome},
                "seconds": round(self.seconds, 3),
                "not_started": self.not_started,
            },
            "interrupted": None if self.interrupted is None else _signal_name(self.interrupted),
            "audit_log_error": self.audit_error,
            "results": [r.to_dict() for r in self.results],
        }

    def _again(self) -> str:
        if self.saved_plan:
            return f"make a new plan (`{self._replan()}`) and apply that: {_SAVED_PLAN_STALE}"
        return "run apply again"

    def _replan(self) -> str:
        if self.plan_command is not None:
            return self.plan_command
        # `plan` takes the config paths: a bare `dropstream-sync plan` copied from the
        # advice was "Missing argument 'PATH...'".
        return REPLAN if self.saved_plan else "dropstream-sync plan PATH..."

    def summary_line(self) -> str:
        head = (
            "Apply stopped"
            if self.audit_error is not None
            else "Apply complete"
            if self.interrupted is None
            else f"Apply interrupted by {_signal_name(self.interrupted)}"
        )
        text = (
            f"{head}: {self.count(OK)} done, {self.count(FAILED)} failed, "
            f"{self.count(UNKNOWN)} unknown, {self.count(SKIPPED)} skipped "
            f"in {self.seconds:.1f}s."
        )
        if self.audit_error is not None:
            text += (
                f" Stopped: {self.audit_error}; {self.unrecorded} change(s) listed above "
                f"are missing from it, {self.not_started} not started. Once it can be "
                f"written, {self._again()}; it finds what was done."
            )
            return text
        if self.interrupted is not None:
            text += (
                f" {self.not_started} change(s) not started. Every change attempted is "
                "listed above (and in the audit log); "
                + (
                    f"make a new plan (`{self._replan()}`) to see what is left and apply "
                    f"that: {_SAVED_PLAN_STALE}."
                    if self.saved_plan
                    else f"run `{self._replan()}` to see what is left, then apply again: it "
                    "finds what was done."
                )
            )
            return text
        # A failed change needs the same advice as an unknown one: after a saved plan the
        # file is stale once anything took effect (a failed change may have done part of
        # its work), and re-running it is refused; docs/cli.md promises the summary says so.
        failed, unknown = len(self.failures), len(self.unknown)
        if failed or unknown:
            said = [f"{failed} change(s) failed"] if failed else []
            if unknown:
                said.append(
                    f"{unknown} change(s) may have taken effect without an answer saying so"
                )
            text += f" {' and '.join(said)}: {self._again()}" + (
                "; it finds what was done." if unknown else "."
            )
        return text

    def problems(self) -> list[str]:
        """One line per failed change and per change of unknown outcome."""
        again = self._again()
        return [_problem(r, again) for r in self.results if r.outcome in (FAILED, UNKNOWN)]

    def raise_for_problems(self) -> None:
        """ApplyError naming each failed change and each of unknown outcome (exit 1: an
        unknown outcome is not a success until a second apply has confirmed it)."""
        problems = self.problems()
        if problems:
            # An unknown change carries the advice on its own line; a failed one had none,
            # so `error: N change(s) failed` ended without saying what to do next.
            raise ApplyError(
                problems, f"For what failed, {self._again()}." if self.failures else ""
            )


_SAVED_PLAN_STALE: Final = "the saved plan no longer matches the account"


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _problem(r: ChangeResult, again: str) -> str:
    c = r.change
    text = printable(f"{c.kind} {c.merchant}/{c.store or '-'} ({c.id}): {r.error}")
    return text if r.outcome == FAILED else f"{text} (outcome unknown: {again})"


class AuditLog:
    """Appends one JSON line per change (product.md §5). Holds no credential: it writes
    only the plan's own fields and the outcome.

    The file is opened when this is made, so a path that cannot be written fails before
    the first change; each line is flushed as its change ends, so a crash loses none. A
    line that cannot be written (a full disk) sets `error`: the apply starts no further
    change, and says so, rather than go on unrecorded or end in a traceback."""

    @staticmethod
    def check_folder(path: Path) -> None:
        """SettingsError when the folder of the log at `path` does not exist; the command line
        asks it before connecting too. Only that: the log is appended to in place, so a file
        that may be written in a folder that may not is a good log (opening it says the rest)."""
        if not path.parent.is_dir():
            raise SettingsError(
                f"--audit-log {path}: the folder {path.parent} does not exist; create it first"
            )

    def __init__(self, path: Path, config_digest: str = "") -> None:
        self.path = path
        self._digest = config_digest
        self.check_folder(path)
        try:
            self._fh: IO[str] | None = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise SettingsError(
                f"--audit-log {path}: cannot open it for writing: {exc.strerror}"
            ) from None
        self._actor = (
            os.environ.get("GITHUB_ACTOR") or os.environ.get("GITLAB_USER_LOGIN") or _os_user()
        )
        self._commit = (
            os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA") or _git_commit()
        )
        self.error: str | None = None
        self.unrecorded = 0

    def write(self, result: ChangeResult, config_digest: str | None = None) -> None:
        change = result.change
        record = {
            "time": utc_stamp(datetime.now(UTC)),
            "actor": self._actor,
            "git_commit": self._commit,
            "config_digest": self._digest if config_digest is None else config_digest,
            "change_id": change.id,
            "kind": str(change.kind),
            "merchant": change.merchant,
            "store": change.store,
            "target": result.target,
            "created_id": result.created_id,
            "note": result.note,
            "fields": [f.to_dict() for f in change.fields],
            "outcome": str(result.outcome),
            "error": result.error,
        }
        if self.error is not None:
            self.unrecorded += 1
            return
        if self._fh is None:
            raise DropstreamSyncError(f"internal: the audit log {self.path} is closed")
        try:
            self._fh.write(json.dumps(record, sort_keys=True) + "\n")
            self._fh.flush()
        except OSError as exc:
            self.error = f"the audit log {self.path} cannot be written ({exc.strerror})"
            self.unrecorded += 1
            self.close()

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            try:
                fh.close()
            except OSError as exc:
                # What was buffered is lost: said once, like a failed line.
                self.error = self.error or (
                    f"the audit log {self.path} cannot be written ({exc.strerror})"
                )

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    changed = sorted(
        (k for k in before.keys() & after.keys() if before[k] != after[k]), key=_in_id_order
    )
    gone = sorted(before.keys() - after.keys(), key=_in_id_order)
    new = sorted(after.keys() - before.keys(), key=_in_id_order)
    parts = []
    # "no longer listed", not "gone": a request the merchant approved has left the
    # pending list, and a store moved to another customer has left this one's.
    for label, keys in (("changed", changed), ("no longer listed", gone), ("new", new)):
        if keys:
            shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
            parts.append(f"{label}: {shown}")
    what = "; ".join(parts) or "the live state differs"
    raise StalePlanError(
        f"plan is stale: live objects changed since it was made ({what}). "
        f"Make the plan again with `{REPLAN}`, review it, and apply that"
    )


def _in_id_order(key: str) -> tuple[str, int, str]:
    """`store/2` before `store/10`: a fingerprint key is a kind and a decimal id."""
    kind, _, ident = key.partition("/")
    return kind, len(ident), ident


Clock = Callable[[], datetime]

# How long changes in flight may take to finish after a first signal before they are cut
# off (and recorded as unknown): a create retried through back-off ends well within it.
STOP_GRACE_SECONDS: Final = 30.0
INTERRUPTED: Final = "interrupted while in flight: it may have taken effect"
# Cut short while only a read of it was in flight: every write it sent had been answered.
STOPPED_READING: Final = (
    "stopped before it finished, while reading: no write of it was in flight, so nothing "
    "more took effect; the next plan shows what is left"
)


class Stop:
    """A request to stop an apply, made by a signal handler on the apply's event loop.

    The first `request()` lets the changes in flight finish (for at most `grace` seconds)
    and starts no new one; a second, or the grace running out, cuts the ones still in
    flight short, and they are recorded like every other attempted change: `unknown` when a
    write of theirs was unanswered, else as far as the answers go (`Applier._read`).
    """

    def __init__(
        self,
        grace: float = STOP_GRACE_SECONDS,
        on_request: Callable[[int, int], None] | None = None,
    ) -> None:
        self.grace = grace
        self._on_request = on_request  # (signal, how many requests so far), to tell the person
        self.signal: int | None = None
        self.requests = 0
        self._now: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def requested(self) -> bool:
        return self.requests > 0

    def _event(self) -> asyncio.Event:
        if self._now is None:
            self._now = asyncio.Event()
        return self._now

    def request(self, signum: int = signal.SIGINT) -> None:
        """Called on the event loop (`loop.add_signal_handler`), never from another thread."""
        self.requests += 1
        if self.signal is None:
            self.signal = signum
        if self._on_request is not None:
            self._on_request(signum, self.requests)
        if self.requests == 1:
            self._timer = asyncio.get_running_loop().call_later(self.grace, self.now)
        else:
            self.now()

    def now(self) -> None:
        """Stop at once: the changes in flight are cancelled."""
        self._event().set()

    async def wait_now(self) -> None:
        await self._event().wait()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


@dataclass(frozen=True, slots=True)
class Effect:
    """What a handler did: the target's own id and the id of what it created, if known."""

    target_id: int | None = None
    created_id: int | None = None
    note: str | None = None
    # A concurrent apply made the same object first: this change stands for `target_id`
    # (later changes use it), its own `created_id` was neutralized.
    yielded: bool = False

    @property
    def ref_id(self) -> int | None:
        """The id later changes of this run get through their refs."""
        return self.target_id if self.yielded else self.created_id


class Applier:
    def __init__(
        self,
        client: WriteClient,
        *,
        parallelism: int = 4,
        clock: Clock = lambda: datetime.now(UTC),
        on_result: Callable[[ChangeResult], None] | None = None,
        audit: AuditLog | None = None,
        stop: Stop | None = None,
    ) -> None:
        if parallelism < 1:
            raise DropstreamSyncError("--parallelism must be at least 1")
        self._client = client
        self._parallelism = parallelism
        self._clock = clock
        self._on_result = on_result
        self._audit = audit
        self._stop = stop or Stop()
        self._created: dict[str, int] = {}
        # What a change of several requests made before a later request failed (change id ->
        # the object's id and what it means): its result then says so, not just "failed".
        self._partly: dict[str, tuple[int | None, str]] = {}
        self._outcome: dict[str, Outcome] = {}
        # Changes whose writes were all answered and that now wait for a read (`_read`):
        # what they end as if a stop cuts them there.
        self._reading: dict[str, Effect | None] = {}
        self._reads = _ReadAfterWrites(pace=lambda: client.pacer.rate, parallelism=parallelism)
        self._places: dict[str, _Place] = {}

    async def apply(self, plan: Plan) -> ApplyReport:
        started = time.monotonic()
        report = ApplyReport()
        limit = asyncio.Semaphore(self._parallelism)
        stop = self._stop

        async def run(change: Change) -> ChangeResult | None:
            """The change's result; None when it was never started (a stop came first)."""
            place = self._places[change.id] = _Place(limit)
            try:
                async with place:
                    if stop.requested or self._audit_failed():
                        return None
                    return await self._run_one(change, plan.config_digest)
            except asyncio.CancelledError:
                return None  # cancelled while waiting for its turn: never started
            finally:
                self._reads.settle(change.id)
                del self._places[change.id]

        for kinds in PHASES:
            batch = [c for c in plan.changes if c.kind in kinds]
            if not batch or stop.requested or self._audit_failed():
                continue
            for change in batch:
                key = self._verified_key(change)
                if key is not None:
                    self._reads.expect(key, change.id)
            tasks = [asyncio.create_task(run(c)) for c in batch]
            await self._wait(tasks)
            report.results.extend(
                r for t in tasks if not t.cancelled() and (r := t.result()) is not None
            )
        report.seconds = time.monotonic() - started
        if stop.requested:
            report.interrupted = stop.signal
        if stop.requested or self._audit_failed():
            report.not_started = len(plan.changes) - len(report.results)
        if self._audit is not None and self._audit.error is not None:
            report.audit_error = self._audit.error
            report.unrecorded = self._audit.unrecorded
        return report

    def _audit_failed(self) -> bool:
        return self._audit is not None and self._audit.error is not None

    async def _wait(self, tasks: list[asyncio.Task[ChangeResult | None]]) -> None:
        """All of `tasks`, or, when the stop says now, cancel those still running (each
        ends as a recorded `unknown`, or as never started) and wait for them to end."""
        # asyncio.wait, not gather: a task cancelled before its first step ends cancelled
        # (never started), which gather would raise.
        everything = asyncio.create_task(asyncio.wait(tasks))
        now = asyncio.create_task(self._stop.wait_now())
        try:
            await asyncio.wait({everything, now}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            now.cancel()
        if not everything.done():
            for task in tasks:
                task.cancel()
        await everything

    async def _run_one(self, change: Change, config_digest: str) -> ChangeResult:
        blocked = [d for d in change.depends_on if self._outcome.get(d, OK) != OK]
        if blocked:
            why = self._outcome[blocked[0]]
            result = ChangeResult(
                change, SKIPPED, error=f"skipped: depends on {blocked[0]} ({why})"
            )
        else:
            result = await self._attempt(change)
        self._outcome[change.id] = result.outcome
        if self._audit is not None:
            self._audit.write(result, config_digest)
        if self._on_result is not None:
            self._on_result(result)
        return result

    async def _attempt(self, change: Change) -> ChangeResult:
        started = time.monotonic()
        try:
            effect = await _HANDLERS[change.kind](self, change, self._clock())
        except asyncio.CancelledError:
            # Stopped at once (a second signal, or the grace ran out).
            made, what = self._partly.pop(change.id, (None, None))
            cut = self._reading.pop(change.id, _WRITING)
            if isinstance(cut, Effect):
                # All it had left was a read that checks: its writes were answered, so it is
                # done as they say (the note says what was not checked), not "unknown".
                return self._done(change, cut, started)
            return ChangeResult(
                change,
                # A write in flight may have committed; a read in flight changed nothing.
                UNKNOWN if cut is _WRITING else FAILED,
                INTERRUPTED if cut is _WRITING else STOPPED_READING,
                created_id=made,
                seconds=time.monotonic() - started,
                target_id=made,
                note=what,
            )
        except DropstreamSyncError as exc:
            committed = isinstance(exc, ApiError) and exc.may_have_committed
            made, what = self._partly.pop(change.id, (None, None))
            return ChangeResult(
                change,
                UNKNOWN if committed else FAILED,
                str(exc),
                created_id=made,
                seconds=time.monotonic() - started,
                target_id=made,
                note=what,
            )
        finally:
            self._reading.pop(change.id, None)
        self._partly.pop(change.id, None)
        return self._done(change, effect, started)

    def _done(self, change: Change, effect: Effect, started: float) -> ChangeResult:
        if effect.ref_id is not None:
            self._created[change.id] = effect.ref_id
        return ChangeResult(
            change,
            OK,
            None,
            effect.created_id,
            time.monotonic() - started,
            effect.target_id,
            effect.note,
        )

    async def _read(self, change: Change, read: Awaitable[R], *, done: Effect | None) -> R:
        """`read`, awaited when every write of `change` so far was answered. A stop that
        cuts the change short here finds no write in flight, so its record must not say
        "may have taken effect": it ends `done` (ok) when the read only checks what the
        answers said, else (more writes were to follow) failed, naming what it made."""
        self._reading[change.id] = done
        result = await read  # cancelled: the entry stays, for `_attempt` to read
        del self._reading[change.id]
        return result

    def _id(self, value: int | None, ref: str | None, key: str) -> int:
        """A given id, or the one a change earlier in this run created."""
        if value is not None:
            return value
        if ref is None or ref not in self._created:
            raise DropstreamSyncError(f"internal: no {key} for this change (ref {ref!r})")
        return self._created[ref]

    # -- one handler per kind ----------------------------------------------------------------

    # Creates are verified by a read right after them (docs/apply-guarantees.md). The API has
    # no uniqueness for customers or stores, so another apply (another machine, another lock
    # folder) may create the same object at the same moment. Of two such objects the one with
    # the lower id is kept by both runs: the run that made the higher one takes the lower one
    # as its own and neutralizes its own, so the account ends with one live object. Ids grow
    # with creation [assumed], so the later of the two creates always sees the earlier.

    def _verified_key(self, change: Change) -> str | None:
        """What the read verifying this create reads (None: not a create, or its customer
        is not known, so it will not post)."""
        if change.kind == ChangeKind.CREATE_MERCHANT:
            return _CUSTOMERS
        if change.kind == ChangeKind.CREATE_STORE:
            d = change.detail_as(CreateStore)
            customer_id = d.customer_id
            if customer_id is None and d.customer_ref is not None:
                customer_id = self._created.get(d.customer_ref)
            return None if customer_id is None else _stores_key(customer_id)
        return None

    async def _verify(self, change: Change, key: str, read: Callable[[], Awaitable[R]]) -> R | None:
        # The POST has ended: what is left is a read shared with the key's other creates,
        # so this create makes room for the next change while it waits for them.
        self._places[change.id].give_up()
        return await self._reads.after(key, read)

    async def _create_merchant(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(CreateMerchant)
        c = self._client
        found: list[bool] = []
        async with self._reads.writing(_CUSTOMERS, change.id):
            own = await c.create_customer(d.company_name, on_found=lambda: found.append(True))
        self._made(change, f"customer {own}", own)
        made = _found(f"customer {own}", "made it") if found else None
        customers = await self._read(
            change,
            self._verify(change, _CUSTOMERS, c.list_customers),
            done=Effect(own, own, note=_notes(made, _UNCHECKED)),
        )
        if customers is None:
            return Effect(own, own, note=_notes(made, _UNVERIFIED))
        same = [x.id for x in customers if x.company_name == d.company_name]
        kept = min([own, *same])
        if kept == own:
            return Effect(own, own, note=made)
        new_name = neutralized_name(d.company_name, kept)
        await c.rename_customer(own, new_name)
        return Effect(
            kept,
            own,
            yielded=True,
            note=(
                f"a concurrent apply created customer {kept} first: this apply uses it, and its "
                f"own customer {own} was renamed {new_name!r}"
                if not found
                # The read after the lost answer took the newest, which may be the other
                # run's: which of the two this run made, nothing tells.
                else f"{_lost(f'customers {kept} and {own}')}: this apply uses {kept}, the "
                f"first, and customer {own} was renamed {new_name!r}"
            ),
        )

    def _made(self, change: Change, what: str, own: int) -> None:
        # The object exists from here on (a store may be billed): if its verifying read is
        # cut short by a stop, or its neutralization fails, the result must still name it,
        # not read as though nothing was made.
        self._partly[change.id] = (
            own,
            f"{what} was created; the next plan finds it, and names it if it is a duplicate",
        )

    async def _create_store(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(CreateStore)
        c = self._client
        customer_id = self._id(d.customer_id, d.customer_ref, "customer_id")
        key = _stores_key(customer_id)
        found: list[bool] = []
        async with self._reads.writing(key, change.id):
            own = await c.create_store(
                customer_id,
                d.name,
                d.marketplace_id,
                d.settings,
                on_found=lambda: found.append(True),
            )
        self._made(change, f"store {own}", own)
        made = _found(f"store {own}", "made it") if found else None
        stores = await self._read(
            change,
            self._verify(change, key, lambda: c.list_stores(customer_id=customer_id)),
            done=Effect(own, own, note=_notes(made, _UNCHECKED)),
        )
        if stores is None:
            return Effect(own, own, note=_notes(made, _UNVERIFIED))
        same = [
            s.id
            for s in stores
            if s.customer_id == customer_id
            and s.name == d.name
            and s.marketplace_id == d.marketplace_id
        ]
        kept = min([own, *same])
        if kept == own:
            return Effect(own, own, note=made)
        new_name = neutralized_name(d.name, kept)
        canceled = await self._neutralize_store(own, new_name, enabled=True, change=change)
        return Effect(
            kept,
            own,
            yielded=True,
            note=(
                (
                    f"a concurrent apply created store {kept} first: this apply uses it, and its "
                    f"own store {own} was disabled and renamed {new_name!r}"
                    if not found
                    else f"{_lost(f'stores {kept} and {own}')}: this apply uses {kept}, the "
                    f"first, and store {own} was disabled and renamed {new_name!r}"
                )
                + (
                    f", its pending request(s) {', '.join(map(str, canceled))} canceled"
                    if canceled
                    else ""
                )
            ),
        )

    async def _neutralize_store(
        self,
        store_id: int,
        new_name: str,
        *,
        enabled: bool,
        change: Change,
        requests: tuple[int, ...] | None = None,
    ) -> list[int]:
        """Cancel the store's pending requests (all of them, when `requests` is None), then
        disable and rename it in one PATCH: a failure before the rename leaves it matching,
        so the next plan proposes this again instead of losing sight of it."""
        c = self._client
        if requests is None:
            pending = await self._read(
                change, c.list_authorization_requests(store_id=store_id), done=None
            )
            requests = tuple(r.id for r in pending if r.store_id == store_id)
        for request_id in requests:
            await c.cancel_authorization_request(request_id)
        await c.update_store(store_id, name=new_name, enabled_at=None if enabled else UNSET)
        return list(requests)

    async def _neutralize_duplicate(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(NeutralizeDuplicate)
        c = self._client
        if d.object_type == "store":
            await self._neutralize_store(
                d.object_id,
                d.new_name,
                enabled=d.object_id in d.store_ids,
                change=change,
                requests=d.request_ids,
            )
            return Effect(d.object_id)
        # A customer: its stores first (no more emails, nothing enabled), the rename last.
        for request_id in d.request_ids:
            await c.cancel_authorization_request(request_id)
        for store_id in d.store_ids:
            await c.update_store(store_id, enabled_at=None)
        await c.rename_customer(d.object_id, d.new_name)
        return Effect(d.object_id)

    async def _update_store(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(UpdateStore)
        store_id = self._id(change.target.id, None, "store_id")
        await self._client.update_store(
            store_id, name=d.name, settings_patch=d.settings_patch or None
        )
        if d.settings_patch:
            # "PATCH merges the adapter keys it is given" is assumed: a service that answers
            # 204 and keeps a setting (a key it does not know, one it holds read-only) must
            # not be reported as updated, so the settings sent are read back.
            what = f"store {store_id}'s settings"
            note = await self._read(
                change,
                self._check_settings(store_id, d.settings_patch, what),
                done=Effect(store_id, note=_unconfirmed(what, stopped=True)),
            )
            return Effect(store_id, note=note)
        return Effect(store_id)

    async def _check_settings(
        self, store_id: int, sent: Mapping[str, Any], what: str
    ) -> str | None:
        """None when the settings read as sent; the note of a read-back that failed."""
        try:
            store = await self._client.get_store(store_id)
        except ApiError:
            # The PATCH was answered as done; a read that fails after its retries cannot
            # say otherwise, and the next plan compares the settings again. The record
            # says it was not confirmed: "done" alone would claim what nothing checked.
            return _unconfirmed(what)
        kept = [
            f"{key} {_setting_form(getattr(store, key))!r} (sent {_setting_form(value)!r})"
            for key, value in sorted(sent.items())
            if key in store.unread_settings
            or _setting_form(getattr(store, key)) != _setting_form(value)
        ]
        if kept:
            raise DropstreamSyncError(
                f"PATCH of store {store_id} was answered as done, but the store still reads "
                f"{'; '.join(kept)}: the API did not take the settings; run "
                "`dropstream-sync doctor` and check the store in DropStream"
            )
        return None

    async def _cancel_invite(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(CancelInvite)
        await self._client.cancel_authorization_request(d.request_id)
        return Effect(d.request_id)

    async def _invite(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(Invite)
        return await self._request(self._id(d.store_id, d.store_ref, "store_id"), d.email)

    async def _reinvite(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(Reinvite)
        if d.cancel_request_id is not None:
            await self._client.cancel_authorization_request(d.cancel_request_id)
            # The merchant's old link is dead from here on, even if the new one is not sent.
            self._partly[change.id] = (
                None,
                f"request {d.cancel_request_id} was canceled first, so its link no longer "
                "works; the next apply invites again",
            )
        return await self._request(d.store_id, d.email)

    async def _request(self, store_id: int, email: str) -> Effect:
        # The target is the store; the request is what was created (its own field).
        existing: list[bool] = []
        found: list[bool] = []
        request = await self._client.create_authorization_request(
            store_id,
            email,
            on_existing=lambda: existing.append(True),
            on_found=lambda: found.append(True),
        )
        # A concurrent apply sent it (409), and it is taken as this change's request: the
        # note says this run sent no email, so two runners' logs do not count one twice.
        # Found by a read after a lost answer, it may be either run's: the note says so.
        note = (
            f"request {request.id} to this email was already pending (another apply sent "
            "it): this apply sent no email"
            if existing
            else _found(f"request {request.id} to this email", "sent its email")
            if found
            else None
        )
        return Effect(store_id, request.id, note=note)

    async def _create_connection(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(CreateConnection)
        c = self._client
        existing: list[bool] = []
        found: list[bool] = []
        connection_id = await c.create_connection(
            d.customer_id,
            d.store_id,
            d.warehouse_id,
            d.name,
            on_existing=lambda: existing.append(True),
            on_found=lambda: found.append(True),
        )
        # A concurrent apply made it (409): this run takes it as its own and finishes it,
        # and says that it made no second one (or, found after a lost answer, that it may
        # be either run's).
        note = (
            f"connection {connection_id} already existed (another apply made it): this "
            "apply made no connection"
            if existing
            else _found(f"connection {connection_id} (billed)", "made it")
            if found
            else None
        )
        # Billed from now on, whatever the channel and enable requests below answer: a
        # failure after this point must not read as though nothing was made.
        self._partly[change.id] = (
            connection_id,
            note
            or f"connection {connection_id} was created, billed from now on; the next "
            "apply finishes it",
        )
        if d.channels:
            # Known only now that the connection exists: one read of its channels, then a
            # PATCH for each the config wants otherwise. Before the connection is enabled,
            # so that it never goes live without them.
            await self._set_channels(change, connection_id, d.channels, now)
        if d.enable:
            await c.update_connection(connection_id, enabled_at=now)
            # The store's PATCH is still to come: cut short here, the change did not finish.
            unconfirmed = await self._read(change, self._check_enabled(connection_id), done=None)
            await c.update_store(d.store_id, enabled_at=now)
            note = _notes(note, unconfirmed)
        return Effect(connection_id, connection_id, note=note)

    async def _check_enabled(self, connection_id: int, *, enabled: bool = True) -> str | None:
        """`PATCH /connections/{id}` taking `enabled_at` is assumed: a service that answers
        204 and leaves the connection as it was must not be reported as switched (off,
        orders that arrive meanwhile are never imported; on, orders keep flowing from a
        store the config stopped), so the connection is read back. None when it reads as
        sent; the note of a read-back that failed (done as answered, not confirmed)."""
        try:
            connection = await self._client.get_connection(connection_id)
        except ApiError:
            # Answered as done; the next plan reads it again.
            return _unconfirmed(f"connection {connection_id}")
        if (connection.enabled_at is not None) == enabled:
            return None
        if enabled:
            still = "disabled: the API did not take enabled_at, and no orders flow through it"
        else:
            still = "enabled: the API did not take enabled_at, and orders still flow through it"
        raise DropstreamSyncError(
            f"PATCH of connection {connection_id} was answered as done, but the connection "
            f"still reads {still}; run `dropstream-sync doctor` and "
            f"{'enable' if enabled else 'disable'} it in the DropStream UI"
        )

    async def _set_channels(
        self, change: Change, connection_id: int, wanted: Mapping[str, bool], now: datetime
    ) -> None:
        listed = await self._read(change, self._client.list_channels(connection_id), done=None)
        channels = {ch.type: ch for ch in listed}
        missing = sorted(t for t, on in wanted.items() if on and t not in channels)
        if missing:
            raise DropstreamSyncError(
                f"connection {connection_id} was created, but it has no "
                f"{', '.join(missing)} channel (its channels: "
                f"{', '.join(sorted(channels)) or 'none'}); DropStream offers a channel only "
                "when both platforms support it"
            )
        for kind, on in sorted(wanted.items()):
            channel = channels.get(kind)
            if channel is not None and channel.enabled != on:
                await self._client.update_channel(
                    connection_id, channel.id, enabled_at=now if on else None
                )

    async def _update_channel(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(UpdateChannel)
        await self._client.update_channel(
            d.connection_id, d.channel_id, enabled_at=now if d.enable else None
        )
        return Effect(d.connection_id)

    async def _update_connection(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(UpdateConnection)
        connection_id = self._id(change.target.id, None, "connection_id")
        await self._client.update_connection(connection_id, name=d.name)
        return Effect(connection_id)

    async def _enable(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(Enable)
        note = None
        if d.connection:
            await self._client.update_connection(d.connection_id, enabled_at=now)
            note = await self._read(
                change,
                self._check_enabled(d.connection_id),
                done=None if d.store else Effect(d.store_id, note=_stopped(d.connection_id)),
            )
        if d.store:
            await self._client.update_store(d.store_id, enabled_at=now)
        return Effect(d.store_id, note=note)

    async def _disable(self, change: Change, now: datetime) -> Effect:
        d = change.detail_as(Disable)
        # The connection first: a disabled store behind an enabled connection would still
        # look live to the warehouse side for a moment; the other order never does.
        note = None
        if d.connection and d.connection_id is not None:
            await self._client.update_connection(d.connection_id, enabled_at=None)
            note = await self._read(
                change,
                self._check_enabled(d.connection_id, enabled=False),
                done=None if d.store else Effect(d.store_id, note=_stopped(d.connection_id)),
            )
        if d.store:
            await self._client.update_store(d.store_id, enabled_at=None)
        return Effect(d.store_id, note=note)


def _setting_form(value: Any) -> Any:
    """A store setting as sent and as read compare: statuses as a sorted list, in their
    canonical spelling (the API may answer them in its own order)."""
    if isinstance(value, list | tuple | set | frozenset):
        return list(catalog.canonical_statuses(tuple(map(str, value))))
    return value


def _unconfirmed(what: str, *, stopped: bool = False) -> str:
    if stopped:
        return (
            f"answered as done, but the apply was stopped during the read meant to confirm "
            f"{what}: not confirmed; the next plan compares again"
        )
    return (
        f"answered as done, but the read meant to confirm {what} failed: not confirmed; "
        "the next plan compares again"
    )


def _stopped(connection_id: int) -> str:
    return _unconfirmed(f"connection {connection_id}", stopped=True)


def _notes(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def _found(what: str, did: str) -> str:
    """The note of a create whose answer was lost and whose object a read found: without an
    idempotency key nothing tells whether this apply's POST made it or a concurrent apply's
    did, so two runners' logs must not both count it as surely made (an email, a bill)."""
    return (
        f"its answer was lost and a read found {what}: this apply {did}, or a concurrent apply did"
    )


def _lost(both: str) -> str:
    """`_found` for a create that then met a duplicate: which of `both` this apply made, the
    read cannot tell."""
    return (
        f"its answer was lost and a read found {both} of this name: this apply made one, "
        "or a concurrent apply did"
    )


_CUSTOMERS: Final = "customers"
# Not in a `_read`: what is in flight of the change may be a write.
_WRITING: Final = object()
_UNVERIFIED: Final = (
    "the read meant to find a concurrent apply's duplicate failed; the next "
    "plan names any duplicate"
)
_UNCHECKED: Final = (
    "the apply was stopped during the read meant to find a concurrent apply's duplicate; "
    "the next plan names any duplicate"
)
R = TypeVar("R")


def _stores_key(customer_id: int) -> str:
    return f"stores of customer {customer_id}"


class _Place:
    """A change's place among the `parallelism` that run at once, given up when the change
    ends or, earlier, when all it has left is to wait (`give_up`)."""

    def __init__(self, places: asyncio.Semaphore) -> None:
        self._places = places
        self._held = False

    async def __aenter__(self) -> None:
        await self._places.acquire()
        self._held = True

    async def __aexit__(self, *exc: object) -> None:
        self.give_up()

    def give_up(self) -> None:
        if self._held:
            self._held = False
            self._places.release()


class _ReadAfterWrites:
    """One read after many writes of one key (all customers, or one customer's stores).

    The applier tells it, as a phase starts, which creates of each key are due
    (`expect`); each create's POST runs inside `writing(key, change_id)`; then
    `after(key, read)` waits for a read that started after that POST ended. A read starts
    once no create of the key is due any more (every one has posted, or ended without
    posting: `settle`), and serves every create that was waiting for one, so a phase costs
    about one read per key, whatever its size and parallelism. A waiting create holds no
    place among the `parallelism` (the applier gives it up when the POST ends), so the
    creates it waits for can start. A waiter gives up waiting for the others when no POST
    of its key has ended for `patience()` seconds, and reads on its own: a hung POST (or one
    stuck behind a hung POST of another key) cannot hold every finished create, and a stop,
    behind it. A failed read gives None to each waiter (the create itself is done; the next
    plan finds any duplicate)."""

    # Seconds without a POST of the key ending before a waiter reads, at an unpaced client:
    PATIENCE: Final = 1.0
    # and at most, however slow the pace (well within a stop's grace).
    MOST_PATIENCE: Final = 10.0

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        pace: Callable[[], float | None] = lambda: None,
        parallelism: int = 1,
    ) -> None:
        self._clock = clock
        self._pace = pace
        self._parallelism = parallelism
        self._due: dict[str, set[str]] = {}  # key -> creates whose POST has not ended yet
        self._key_of: dict[str, str] = {}
        self._ended: dict[str, float] = {}  # key -> when a POST of it last ended
        self._waiting: dict[str, list[asyncio.Future[Any]]] = {}
        self._read: dict[str, Callable[[], Awaitable[Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def patience(self) -> float:
        """How long a POST may take to end, as the pace goes: a POST waits its turn behind
        the others in flight (`parallelism` / rate), besides a 429's `Retry-After` (about
        PATIENCE). A fixed second would give up on POSTs that are merely paced."""
        rate = self._pace()
        if rate is None:
            return self.PATIENCE
        return min(self.MOST_PATIENCE, self.PATIENCE + self._parallelism / rate)

    def expect(self, key: str, change_id: str) -> None:
        """The create `change_id` of `key` is to come: reads of the key wait for its POST."""
        self._due.setdefault(key, set()).add(change_id)
        self._key_of[change_id] = key

    def settle(self, change_id: str) -> None:
        """`change_id` will post nothing more (it ended, or never started)."""
        key = self._key_of.pop(change_id, None)
        if key is None:
            return
        due = self._due.get(key, set())
        if change_id not in due:
            return
        due.discard(change_id)
        self._ended[key] = self._clock()
        if not due and self._waiting.get(key):
            # Nobody of the key is left to start the read for those waiting: start it.
            task = asyncio.get_running_loop().create_task(self._flush(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def writing(self, key: str, change_id: str) -> AsyncIterator[None]:
        if self._key_of.get(change_id) != key:
            self.settle(change_id)
            self.expect(key, change_id)
        try:
            yield
        except BaseException:
            self.settle(change_id)
            raise
        # Ended well: the caller's own `after` starts the read, for everyone waiting.
        self._key_of.pop(change_id, None)
        self._due[key].discard(change_id)
        self._ended[key] = self._clock()

    async def after(self, key: str, read: Callable[[], Awaitable[R]]) -> R | None:
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        self._read[key] = read
        while True:
            # Still waiting for a read to start (else one that started after this POST
            # ended is under way, and answers it).
            queued = not future.done() and future in self._waiting.get(key, ())
            quiet = self._clock() - self._ended.get(key, self._clock())
            patience = self.patience()
            if queued and (not self._due.get(key) or quiet >= patience):
                # Every create of the key has posted; or none has ended its POST for a
                # while (one hangs, or waits behind one that does): read now. Each waiter's
                # own POST has ended, so a read that starts now comes after all of them.
                await self._flush(key)
                queued = False
            # The same wait for every waiter, the one that read too, so that they go on in
            # the order their POSTs ended (the order their lines are printed in). A wait,
            # not an await of the future: a cancelled waiter leaves the others' read alone.
            await asyncio.wait({future}, timeout=patience - quiet if queued else None)
            if future.done():
                return future.result()

    async def _flush(self, key: str) -> None:
        waiters = self._waiting.pop(key, [])
        if not waiters:
            return
        try:
            result = await self._read[key]()
        except DropstreamSyncError:
            result = None
        except BaseException:
            for future in waiters:
                future.cancel()
            raise
        for future in waiters:
            if not future.done():
                future.set_result(result)


Handler = Callable[[Applier, Change, datetime], Awaitable[Effect]]
_HANDLERS: Final[dict[ChangeKind, Handler]] = {
    ChangeKind.CREATE_MERCHANT: Applier._create_merchant,
    ChangeKind.CREATE_STORE: Applier._create_store,
    ChangeKind.UPDATE_STORE: Applier._update_store,
    ChangeKind.CANCEL_INVITE: Applier._cancel_invite,
    ChangeKind.NEUTRALIZE_DUPLICATE: Applier._neutralize_duplicate,
    ChangeKind.INVITE: Applier._invite,
    ChangeKind.REINVITE: Applier._reinvite,
    ChangeKind.CREATE_CONNECTION: Applier._create_connection,
    ChangeKind.UPDATE_CONNECTION: Applier._update_connection,
    ChangeKind.UPDATE_CHANNEL: Applier._update_channel,
    ChangeKind.ENABLE: Applier._enable,
    ChangeKind.DISABLE: Applier._disable,
}
assert set(_HANDLERS) == set(ChangeKind), "every change kind has a handler"


async def apply_plan(
    plan: Plan,
    client: WriteClient,
    *,
    parallelism: int = 4,
    on_result: Callable[[ChangeResult], None] | None = None,
    clock: Clock = lambda: datetime.now(UTC),
    audit: AuditLog | None = None,
    stop: Stop | None = None,
) -> ApplyReport:
    """Apply `plan`; with `audit`, each change's line is written (and flushed) as it ends,
    before `on_result` sees it; with `stop`, a requested stop ends it early (`Stop`)."""
    return await Applier(
        client,
        parallelism=parallelism,
        on_result=on_result,
        clock=clock,
        audit=audit,
        stop=stop,
    ).apply(plan)


class ApplyLock:
    """One apply at a time per DropStream account on this machine (like Terraform's state
    lock), whatever the spelling of the URL or the form of the credentials.

    The key is `lock_key(api_url, account, scope)`: the canonical host and port (every
    loopback spelling is one host), the account (`ReadClient.account_key()`, which is the
    same for a login and a token of it) and, for the in-process sandbox, its state folder
    (`scope`). The lock file lives in a folder private to this OS user
    (`lock_folder()`), and is removed when the apply ends. DropStream offers no lock and no
    uniqueness, so this is only the first line: applies on several machines (or with other
    lock folders) are kept apart by the applier's read after each create (docs/apply-
    guarantees.md).

    An account still empty is keyed "empty"; an apply of a non-empty account also waits
    for the host's "empty" lock, since that apply may be the one creating this account's
    first customers (a key that changed under it). At worst that serializes more.
    """

    def __init__(
        self,
        api_url: str,
        account: str,
        *,
        scope: str = "",
        timeout: float = 600.0,
        folder: Path | None = None,
    ) -> None:
        self._folder = folder  # worked out once (lock_folder() may log why it falls back)
        self._given = folder is not None
        self._keys = [lock_key(api_url, account, scope)]
        if account != EMPTY_ACCOUNT:
            self._keys.append(lock_key(api_url, EMPTY_ACCOUNT, scope))
        self._timeout = timeout
        self._held: list[tuple[Path, IO[str]]] = []

    @property
    def path(self) -> Path:
        return self._path(self._keys[0])

    def _path(self, key: str) -> Path:
        if self._folder is None:
            self._folder = lock_folder()
        return self._folder / f"apply-{key}.lock"

    def __enter__(self) -> ApplyLock:
        folder = self._folder if self._folder is not None else lock_folder()
        self._folder = folder
        # Under $XDG_RUNTIME_DIR only our own folder is made: the runtime dir itself is the
        # login session's (lock_folder() checked that it is there; if it went since, the
        # apply stops with a message rather than making one).
        runtime = os.environ.get(LOCK_FOLDER_ENV)
        in_runtime = not self._given and bool(runtime) and folder.parent == Path(str(runtime))
        private_folder(folder, parents=not in_runtime)
        deadline = time.monotonic() + self._timeout
        try:
            path = self._path(self._keys[0])
            self._held.append((path, self._acquire(path, deadline)))
            for key in self._keys[1:]:
                # Only waited for: an apply creating an account's first objects finishes
                # before one that sees them starts, and nothing more is serialized.
                other = self._path(key)
                handle = self._acquire(other, deadline)
                self._release(other, handle)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _acquire(self, path: Path, deadline: float) -> IO[str]:
        waited = False
        while True:
            handle = _open_lock_file(path)
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                if not waited:
                    print(
                        "Another apply on this account is running; waiting for it to finish...",
                        file=sys.stderr,
                    )
                    waited = True
                if time.monotonic() > deadline:
                    raise DropstreamSyncError(
                        f"another apply on this account held the lock {path} for "
                        f"{self._timeout:.0f} s; try again when it has finished"
                    ) from None
                time.sleep(0.2)
                continue
            # The holder before us removes the file as it releases it: a lock on a removed
            # file guards nothing (the next apply makes a new file), so try again.
            try:
                same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return handle
            handle.close()

    @staticmethod
    def _release(path: Path, handle: IO[str]) -> None:
        # Removed while still held, so no one can lock the old file after we let it go.
        with contextlib.suppress(OSError):
            path.unlink()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()

    def __exit__(self, *exc: object) -> None:
        while self._held:
            self._release(*self._held.pop())


LOCK_FOLDER_ENV: Final = "XDG_RUNTIME_DIR"


def lock_folder() -> Path:
    """This OS user's folder for apply locks: `$XDG_RUNTIME_DIR/dropstream-sync` (a per-user
    folder on systemd machines), else `$XDG_CACHE_HOME` or `~/.cache`, `dropstream-sync/locks`.
    An `XDG_RUNTIME_DIR` that is not an absolute path to a folder that exists is passed over
    (with a warning), as though unset."""
    runtime = _runtime_dir()
    return _fallback_folder() if runtime is None else runtime / "dropstream-sync"


def _runtime_dir() -> Path | None:
    """`$XDG_RUNTIME_DIR` when it can be used. The XDG Base Directory spec makes it the login
    session's (made at login, owned by the user, 0700, removed at logout) and says a relative
    path is to be ignored: one that is missing is not ours to make (made by us, it would
    outlive the session, with whatever owner and mode we gave it), so the locks go where they
    go when it is unset."""
    value = os.environ.get(LOCK_FOLDER_ENV)
    if not value:
        return None
    path = Path(value)
    why = (
        "is not an absolute path"
        if not path.is_absolute()
        else None
        if path.is_dir()
        else "is not a folder"
        if path.exists()
        else "does not exist"
    )
    if why is None:
        return path
    log.warning(
        "%s=%s %s (a runtime folder is the login session's to make, not this tool's): "
        "the apply lock is kept in %s, as when %s is unset",
        LOCK_FOLDER_ENV,
        printable(value),
        why,
        _fallback_folder(),
        LOCK_FOLDER_ENV,
    )
    return None


def _fallback_folder() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "dropstream-sync" / "locks"


def private_folder(folder: Path, *, parents: bool = True) -> None:
    """Make `folder` (mode 0700; with `parents`, the folders above it too) or check that it
    is this user's own; SettingsError, never a traceback, when it belongs to someone else or
    cannot be made."""
    try:
        folder.mkdir(mode=0o700, parents=parents, exist_ok=True)
        info = folder.stat()
    except OSError as exc:
        raise SettingsError(
            f"cannot make the apply lock folder {folder}: {exc.strerror}; "
            f"set {LOCK_FOLDER_ENV} to a folder of your own"
        ) from None
    if info.st_uid != os.getuid():
        raise SettingsError(
            f"the apply lock folder {folder} belongs to another user ({_user_name(info.st_uid)}"
            f"), not to you ({_os_user()}): applies of different users cannot share it. "
            f"Set {LOCK_FOLDER_ENV} to a folder of your own (e.g. "
            f"`export {LOCK_FOLDER_ENV}=$HOME/.cache`)"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        try:
            folder.chmod(0o700)
        except OSError as exc:
            raise SettingsError(
                f"cannot make the apply lock folder {folder} private: {exc.strerror}"
            ) from None


def _open_lock_file(path: Path) -> IO[str]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise SettingsError(
            f"cannot open the apply lock {path}: {exc.strerror}; set "
            f"{LOCK_FOLDER_ENV} to a folder of your own"
        ) from None
    return os.fdopen(fd, "r+")


def _user_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name}, uid {uid}"
    except KeyError:
        return f"uid {uid}"


_LOOPBACK: Final = "loopback"
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}


def canonical_host(api_url: str) -> str:
    """`host:port/path` as one server answers to it: host case-folded (a trailing dot
    dropped), every loopback spelling (127.0.0.1, localhost, ::1) one name, the scheme's
    default port filled in."""
    url = urlsplit(api_url.strip())
    host = (url.hostname or "").lower().rstrip(".")
    if is_loopback(host):
        host = _LOOPBACK
    try:
        port = url.port or _DEFAULT_PORTS.get(url.scheme.lower(), 0)
    except ValueError:  # refused by the client's URL check long before this
        port = 0
    return f"{host}:{port}{url.path.rstrip('/')}"


def lock_key(api_url: str, account: str, scope: str = "") -> str:
    """The lock file's name part: safe in a file name, and no account detail shown.
    `scope` is the in-process sandbox's state folder (ClientSettings.lock_scope)."""
    text = f"{canonical_host(api_url)}\n{account}" + (f"\n{scope}" if scope else "")
    return hashlib.sha256(text.encode()).hexdigest()[:24]
