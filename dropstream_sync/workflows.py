"""What the commands do, as library functions: the command line parses options, calls one of
these, renders what comes back and maps errors to exit codes.

    load_config(paths) -> LoadResult                       the config, checked (no request)
    check_merchants(result, merchants)                     --merchant names in it (no request)
    make_plan(result, client, merchants) -> Plan           ... planned against live
    load_and_plan(paths, client, merchants) -> Plan        both
    make_plan_and_live(result, client, merchants)          ... keeping the live read (report)
    report_text(read, fmt) -> str                          the audit report of that read
    read_plan_file(path) -> Plan                           a saved plan (`plan --out`)
    read_apply_input(paths, merchants) -> ApplyInput       apply's arguments, read (no request)
    apply_input(client, given, hooks=...) -> Applied       lock, plan or read, check, run
    apply(client, paths, hooks=...) -> Applied             both
    import_account(client, merchants, name) -> Imported    the live account as YAML

Nothing here prints or asks: what a person sees and answers comes in through the
callbacks (`ApplyHooks`), so the same workflow serves a terminal, CI and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import signal
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dropstream_sync import __version__
from dropstream_sync.errors import BlockedPlanError, PlanFileError, Problem, SettingsError
from dropstream_sync.heap import collector_paused
from dropstream_sync.timestamps import utc_stamp

if TYPE_CHECKING:
    from dropstream_sync.apply import ApplyLock, ApplyReport, ChangeResult, Stop
    from dropstream_sync.client import SyncReadClient, SyncWriteClient
    from dropstream_sync.config import LoadResult
    from dropstream_sync.desired import DesiredState
    from dropstream_sync.live import AuthorizationRequest, LiveState
    from dropstream_sync.planner import Plan
    from dropstream_sync.planner.model import Change

# Modules are imported inside the functions: the command line imports this module to
# run one workflow, and should load only what that one needs.

log = logging.getLogger("dropstream_sync")


def _ignore(_: object) -> None:
    return None


def load_config(
    paths: Sequence[str], on_warning: Callable[[Problem], None] = _ignore
) -> LoadResult:
    """The config (files or folders), checked; warnings go to `on_warning`. Sends nothing."""
    from dropstream_sync.config import load

    refuse_missing_paths(paths)
    result = load(paths)
    for warning in result.warnings:
        on_warning(warning)
    return result


def check_merchants(result: LoadResult, merchants: Sequence[str]) -> None:
    """Refuse a `--merchant` that names no merchant of the loaded config (PlanError, with
    the name meant). Sends nothing: the commands ask it before they build a client, so a
    typo costs no token request and no read of the whole account, and is not hidden behind
    a login that fails."""
    from dropstream_sync.planner.plan import refuse_unknown_merchants

    refuse_unknown_merchants(result.desired, merchants)


def check_plan_file_name(out: str) -> None:
    """Refuse `plan --out plan.yaml`: `apply` reads a YAML name as a config, never as a
    plan, so that file could not be applied (and a config folder would read it as one)."""
    from dropstream_sync.config.loader import YAML_SUFFIXES

    if out.endswith(YAML_SUFFIXES):
        stem = out[: out.rindex(".")]
        raise SettingsError(
            f"--out {out}: a .yaml/.yml file is read as a config, never as a saved plan, so "
            f"`apply` could not apply it; name it {stem}.json (or any name without .yaml/.yml)"
        )


def check_not_a_config_file(out: str, files: Sequence[str]) -> None:
    """Refuse to write `out` (plan --out, report --out) over one of the config files just
    read: `plan stores.yaml --out stores.yaml` replaced the config with the plan's JSON."""
    target = Path(out)
    if not target.exists():
        return  # a new file is no config's
    for name in files:
        with contextlib.suppress(OSError):
            if target.samefile(name):
                raise SettingsError(
                    f"--out {out} is the config file {name}: writing there would replace "
                    "the config; give another FILE"
                )


def make_plan(
    result: LoadResult, client: SyncReadClient | SyncWriteClient, merchants: Sequence[str] = ()
) -> Plan:
    """Plan a loaded config against live, read through `client` (one read per list)."""
    return make_plan_and_live(result, client, merchants).plan


def check_account(desired: DesiredState, api_url: str, account: str) -> None:
    """Refuse a config that names (`account:`) another account than the one the
    credentials log in as; sends nothing (the login name is known without a request)."""
    if desired.account is None or desired.account == account:
        return
    where = f"{desired.account_source}: " if desired.account_source else ""
    raise SettingsError(
        f"{where}this config belongs to account {desired.account!r} (its `account:`), but "
        f"the credentials log in to {api_url} as account {account!r}; nothing was read or "
        "changed. Use that account's credentials, or correct `account:` (run "
        "`dropstream-sync doctor` to see which account a login is)"
    )


def _plan_of(
    result: LoadResult,
    live: LiveState,
    now: datetime,
    client: SyncReadClient | SyncWriteClient,
    merchants: Sequence[str],
) -> Plan:
    from dropstream_sync.planner import plan

    # Planning allocates for every live object and frees almost nothing (heap.py).
    with collector_paused():
        return plan(
            result.desired,
            live,
            now=now,
            merchants=merchants or None,
            warnings=[w.in_plan() for w in result.warnings],
            api_url=client.api_url,
            account=client.aio.account,
            tool_version=__version__,
            created_at=utc_stamp(now),
        )


def load_and_plan(
    paths: Sequence[str],
    client: SyncReadClient | SyncWriteClient,
    merchants: Sequence[str] = (),
    on_warning: Callable[[Problem], None] = _ignore,
) -> Plan:
    return make_plan(load_config(paths, on_warning), client, merchants)


@dataclass(frozen=True, slots=True)
class PlanAndLive:
    """What `report` is made of: the plan, the live read it was made from (the same
    requests as `plan`), and the time."""

    plan: Plan
    live: LiveState
    now: datetime


def make_plan_and_live(
    result: LoadResult, client: SyncReadClient | SyncWriteClient, merchants: Sequence[str] = ()
) -> PlanAndLive:
    """The plan of a loaded config, with the live read it was made from (which also holds
    the expired invitations the report shows: one list read, never a request per store)."""
    # Both sent nothing yet: refused here, a wrong name or account costs no read.
    check_merchants(result, merchants)
    check_account(result.desired, client.api_url, client.aio.account)
    names = merchants or sorted(result.desired.merchant_names())
    log.info(
        "reading the live account at %s (%d merchant(s) in the config)", client.api_url, len(names)
    )
    live = client.read_live(names)
    log.info(
        "planning: %d live store(s), %d connection(s), %d pending request(s)",
        len(live.stores),
        len(live.connections),
        len(live.authorization_requests),
    )
    now = client.clock()
    return PlanAndLive(_plan_of(result, live, now, client, merchants), live, now)


def report_text(read: PlanAndLive, fmt: str) -> str:
    """The audit report of a plan and the read it was made from, in `fmt`."""
    from dropstream_sync.report import build_report, render

    # A report allocates a row per store and frees little until it is written (heap.py).
    with collector_paused():
        return render(build_report(read.plan, read.live, read.now), fmt)


def read_plan_file(path: str) -> Plan:
    """A plan saved by `plan --out`; PlanFileError when it cannot be read or is no plan
    (Plan.from_json names the line and column, or the field, of what is wrong)."""
    from dropstream_sync.planner import Plan

    if not path:
        # Path("") is the current folder, refused as "Is a directory" under no name at all.
        raise PlanFileError("an empty path names no plan file (an unset variable?)")
    from dropstream_sync.config.loader import YAML_SUFFIXES

    if path.endswith(YAML_SUFFIXES):
        # `show stores.yaml`, to see the config: it was "stores.yaml:1:1: not a JSON plan:
        # Expecting value" (or, missing, advice to save a plan under that name, which
        # `plan --out` refuses).
        raise PlanFileError(
            f"{path}: a .yaml/.yml file is a config, never a saved plan (`plan --out` saves "
            f"JSON): `dropstream-sync plan {shlex.quote(path)}` shows what it would change"
        )
    try:
        data = _plan_bytes(path)
    except FileNotFoundError:
        raise PlanFileError(_save_a_plan_first(path, "no such plan file")) from None
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan: {exc.strerror}") from None
    try:
        # utf-8-sig: an editor on Windows saves a reformatted plan with a byte-order mark,
        # which json refused ("Unexpected UTF-8 BOM (decode using utf-8-sig)").
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanFileError(f"{path}: not a JSON plan: not UTF-8 text ({exc.reason})") from None
    return Plan.from_json(text, path)


# The largest saved plan read. A plan is about 1.5 KB a store when every store is created and
# invited, so a config at its 10 MB limit (about 170,000 stores written compactly) plans to
# about 260 MB: twice that is refused, and no real plan is. Without a bound, `show /dev/zero`
# (or a pipe that never ends) read until memory ran out and ended in a MemoryError traceback.
MAX_PLAN_BYTES = 512 * 1024 * 1024
_CHUNK = 1024 * 1024


def _plan_bytes(path: str) -> bytes:
    """The bytes of a saved plan, read in chunks: PlanFileError past MAX_PLAN_BYTES, or at
    the first NUL byte (JSON text holds none, not even in a string: binary data, refused
    at once rather than read to the limit)."""
    chunks: list[bytes] = []
    size = 0
    with open(path, "rb") as stream:  # a pipe too: `show <(gunzip -c plan.json.gz)`
        while chunk := stream.read(_CHUNK):
            nul = chunk.find(b"\0")
            if nul >= 0:
                from dropstream_sync.planner.wire import line_column

                before = (b"".join(chunks) + chunk[:nul]).decode("utf-8-sig", "replace")
                line, column = line_column(before, len(before))
                raise PlanFileError(
                    f"{path}:{line}:{column}: not a JSON plan: a NUL byte (binary data; "
                    "`plan --out` writes JSON text)"
                )
            size += len(chunk)
            if size > MAX_PLAN_BYTES:
                raise PlanFileError(
                    f"{path}: not a saved plan: larger than {MAX_PLAN_BYTES // 1024 // 1024} MB "
                    "(the largest plan a config can make is about half that)"
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _save_a_plan_first(path: str, what: str, one: str = "one") -> str:
    """`{path}: {what}` and the next step: `apply plan.json` (or `apply tfplan`, as Terraform
    users write it) before any `plan --out` is the first thing a newcomer tries after the
    README, and the command that makes that very file is what to run."""
    from dropstream_sync.planner.model import REPLAN

    make = REPLAN.removesuffix("FILE") + shlex.quote(path)
    return (
        f"{path}: {what}: save {one} first with `{make}`, or plan and apply config files at "
        "once with `dropstream-sync apply PATH...`"
    )


def refuse_missing_paths(paths: Sequence[str]) -> None:
    """SettingsError naming the config paths that name nothing. Read as a config, such a
    path was "PATH:1:1: no such file or folder" and "configuration is invalid", as if a
    file had been read and found wrong. An empty path, or a broken symlink, is the loader's
    to name (it says which)."""
    missing = [p for p in paths if p and not os.path.lexists(p)]
    if missing:
        raise SettingsError(f"{', '.join(missing)}: no such file or folder")


def refuse_missing_apply_paths(paths: Sequence[str]) -> None:
    """`apply`'s arguments, checked before connecting (the command line) too: without
    credentials yet, a newcomer was told only "no DropStream credentials", and set them to
    meet the missing file next. One missing path that is no YAML name may be the plan
    file the user meant to save (`plan.json`, `tfplan`): PlanFileError saying how."""
    from dropstream_sync.config.loader import YAML_SUFFIXES

    if len(paths) == 1 and paths[0] and not os.path.lexists(paths[0]):
        path = paths[0]
        if path.endswith(".json"):
            raise PlanFileError(_save_a_plan_first(path, "no such plan file"))
        if not path.endswith((*YAML_SUFFIXES, "/", os.sep)):
            raise PlanFileError(_save_a_plan_first(path, "no such file or folder", "a plan"))
    refuse_missing_paths(paths)


def is_plan_file(paths: Sequence[str]) -> bool:
    """Whether `apply`'s arguments name a saved plan (one existing plan file)."""
    return len(paths) == 1 and _looks_like_plan(paths[0])


def _looks_like_plan(path: str) -> bool:
    """A `.json` file, or any other file but YAML whose text is a JSON object naming a
    `format_version`: `plan --out` takes any name (Terraform users write `--out tfplan`),
    and such a plan must not be read as a config and fail as a pile of unknown keys."""
    file = Path(path)
    if path.endswith(".json"):
        return file.is_file()
    from dropstream_sync.config.loader import YAML_SUFFIXES

    if path.endswith(YAML_SUFFIXES) or not file.is_file():
        return False
    try:
        with file.open("rb") as stream:
            # A JSON object ('{' then a quoted key) with the plan's version key: a YAML config
            # is seldom written so, and never with that key (it would be an unknown key).
            if re.match(rb'\s*\{\s*"', stream.read(4096)) is None:
                return False
            stream.seek(0)
            # Bounded as the plan's own read is: a larger one is refused as too large.
            return b'"format_version"' in stream.read(MAX_PLAN_BYTES + 1)
    except OSError:
        return False  # read as a config, which names the file and why it cannot be read


# -- apply -----------------------------------------------------------------------------------


class ApplyHooks:
    """The person's side of `apply`; each hook's default does nothing (or agrees)."""

    def warning(self, problem: Problem) -> None:
        """A config warning, while a fresh plan is made."""

    def planned(self, plan: Plan) -> None:
        """A fresh plan (not a saved one) was made: show it, before it is checked."""

    def confirm(self, plan: Plan) -> bool:
        """Apply this fresh plan's changes? Asked only when there are some; a saved plan
        was reviewed when it was saved and is never asked about."""
        return True

    def starting(self, plan: Plan) -> None:
        """The changes are about to run."""

    def result(self, result: ChangeResult) -> None:
        """One change finished (after it is in the audit log)."""

    def interrupted(self, signum: int, count: int) -> None:
        """SIGINT or SIGTERM arrived while the changes ran (`count`: how many so far): the
        first lets the changes in flight finish, a second stops them at once."""


@dataclass(frozen=True, slots=True)
class Applied:
    plan: Plan
    report: ApplyReport | None  # None: nothing ran (no changes, or not confirmed)
    declined: bool = False


def apply_lock(client: SyncWriteClient, *, timeout: float = 600.0) -> ApplyLock:
    """The lock of an apply by `client` on this machine (docs/apply-guarantees.md); naming
    the account is a request."""
    from dropstream_sync.apply import ApplyLock

    account = client.run(client.aio.account_key())
    return ApplyLock(client.api_url, account, scope=client.aio.lock_scope, timeout=timeout)


@dataclass(frozen=True, slots=True)
class ApplyInput:
    """`apply`'s arguments, read and checked without a client: a saved plan (`saved_plan`,
    from the one path), or the loaded config and the merchants to plan of it."""

    paths: tuple[str, ...]
    saved_plan: Plan | None
    config: LoadResult | None
    merchants: tuple[str, ...] = ()


def read_apply_input(
    paths: Sequence[str],
    merchants: Sequence[str] = (),
    on_warning: Callable[[Problem], None] = _ignore,
) -> ApplyInput:
    """Read what `apply` is given, sending nothing: a saved plan (PlanFileError when it cannot
    be read), or the config (ConfigError; its warnings go to `on_warning`) and its
    `--merchant` names. The command line reads it before it connects, so that a wrong file
    or name is said as such, not as missing credentials or after the token request."""
    saved = is_plan_file(paths)
    refuse_missing_apply_paths(paths)
    if not saved and any(_looks_like_plan(p) for p in paths):
        raise SettingsError(
            "a saved plan cannot be mixed with config paths: apply the plan "
            "file alone, or give only config files and folders"
        )
    if saved and merchants:
        raise SettingsError(
            "--merchant chooses what to plan; a saved plan is applied exactly "
            "as saved (make it with `plan --merchant NAME --out FILE`)"
        )
    if saved:
        return ApplyInput(tuple(paths), read_plan_file(paths[0]), None)
    config = load_config(paths, on_warning)
    check_merchants(config, merchants)
    return ApplyInput(tuple(paths), None, config, tuple(merchants))


def apply(
    client: SyncWriteClient,
    paths: Sequence[str],
    *,
    merchants: Sequence[str] = (),
    force: bool = False,
    parallelism: int = 4,
    audit_log: Path | None = None,
    hooks: ApplyHooks | None = None,
) -> Applied:
    """Apply a saved plan (`paths` is one plan file) or a fresh plan of config paths:
    `read_apply_input`, then `apply_input`."""
    hooks = hooks or ApplyHooks()
    return apply_input(
        client,
        read_apply_input(paths, merchants, hooks.warning),
        force=force,
        parallelism=parallelism,
        audit_log=audit_log,
        hooks=hooks,
    )


def apply_input(
    client: SyncWriteClient,
    given: ApplyInput,
    *,
    force: bool = False,
    parallelism: int = 4,
    audit_log: Path | None = None,
    hooks: ApplyHooks | None = None,
) -> Applied:
    """Apply what `read_apply_input` read.

    Under the account's apply lock: a saved plan is checked against live (StalePlanError),
    a fresh one is made and shown; a blocked plan is refused unless `force`
    (BlockedPlanError); a fresh plan is confirmed; then the changes run.
    """
    from dropstream_sync.apply import AuditLog, Stop, apply_plan, check_fresh

    hooks = hooks or ApplyHooks()
    saved_plan, config, paths = given.saved_plan, given.config, given.paths
    saved = saved_plan is not None
    # A saved plan is checked against this client before any request: a plan of another
    # server or account, or an edited one, never gets as far as a read. (The config was
    # loaded before the lock, by read_apply_input: naming the account for the lock is
    # already a request, and an invalid config must send none.)
    if saved_plan is not None:
        check_made_for(saved_plan, client.api_url, client.aio.account, paths[0])
        check_account(saved_plan.desired, client.api_url, client.aio.account)
    # Opened before any request, so a path that cannot be written is refused before the
    # first change instead of after it (when that change would go unrecorded).
    with (
        AuditLog(audit_log) if audit_log else contextlib.nullcontext() as audit,
        apply_lock(client),
    ):
        if saved_plan is not None:
            plan = saved_plan
            live = client.read_live(plan.merchants or None)
            check_fresh(plan, live)
            check_targets(plan, live, paths[0])
        else:
            assert config is not None
            plan = make_plan(config, client, given.merchants)
            hooks.planned(plan)
        if plan.blocked and not force:
            raise BlockedPlanError(
                "the plan is blocked by safety checks: "
                + "; ".join(plan.blocked_reasons)
                + ". Review it, then apply with --force to override."
            )
        if not plan.changes:
            return Applied(plan, None)
        if not saved and not hooks.confirm(plan):
            return Applied(plan, None, declined=True)
        log.info(
            "applying %d change(s), up to %d at once per phase", len(plan.changes), parallelism
        )
        hooks.starting(plan)
        stop = Stop(on_request=hooks.interrupted)
        report: ApplyReport = client.run(
            on_signals(
                stop,
                apply_plan(
                    plan,
                    client.aio,
                    parallelism=parallelism,
                    on_result=hooks.result,
                    audit=audit,
                    # enabled_at is stamped on the API's clock, like everything it stores.
                    clock=client.clock,
                    stop=stop,
                ),
            )
        )
    report.saved_plan = saved
    return Applied(plan, report)


T = TypeVar("T")


async def on_signals(stop: Stop, work: Awaitable[T]) -> T:
    """`work`, with SIGINT and SIGTERM turned into requests to `stop` while it runs (the
    handlers before are put back after). Off the main thread, where no signal handler can
    be installed, `work` runs as it is."""
    loop = asyncio.get_running_loop()
    installed: list[tuple[signal.Signals, Any]] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, stop.request, sig)
        except (ValueError, RuntimeError, NotImplementedError):
            continue
        installed.append((sig, previous))
    try:
        return await work
    finally:
        stop.close()
        for sig, previous in installed:
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous)


def check_made_for(plan: Plan, api_url: str, account: str, source: str) -> None:
    """Refuse a saved plan made for another server or account (sends nothing)."""
    from dropstream_sync.planner.model import REPLAN

    if _same_server(plan.api_url, api_url) and plan.account == account:
        return
    # The file's URL is quoted (repr): it is the file's text, and may hold anything.
    made = f"account {plan.account or '(none recorded)'!r} at {plan.api_url or '(no URL)'!r}"
    here = f"account {account!r} at {api_url}"
    raise PlanFileError(
        f"{source}: the plan was made for {made}, but this apply is for {here}; a plan is "
        f"applied only where it was made. Make a plan here with `{REPLAN}`, review it, and "
        "apply that"
    )


def _same_server(a: str, b: str) -> bool:
    """One URL, however spelt: scheme and host in any case, the default port written or
    not, a trailing slash or not. Different hosts stay different (no name is resolved)."""
    from urllib.parse import urlsplit

    def canonical(url: str) -> tuple[str, str, int | None, str] | None:
        try:
            parts = urlsplit(url.strip())
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
        except ValueError:
            return None
        return (parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path.rstrip("/"))

    left = canonical(a)
    return left is not None and left == canonical(b)


def check_targets(plan: Plan, live: LiveState, source: str) -> None:
    """Refuse a saved plan with a change naming a live object the stale check did not
    cover (another merchant's store, an object that does not exist): applying it would
    write where nobody reviewed. Runs after the live read, before the first write."""
    from dropstream_sync.planner.fingerprint import live_fingerprint
    from dropstream_sync.planner.model import REPLAN

    _, covered = live_fingerprint(live, plan.merchants)
    outside = plan.objects_outside(covered.keys())
    if not outside:
        return
    shown = "; ".join(
        f"{c.id} ({c.kind} {c.merchant}/{c.store or '-'}) names {key}" for c, key in outside[:5]
    )
    more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
    scope = ", ".join(repr(m) for m in plan.merchants) or "none"
    raise PlanFileError(
        f"{source}: {len(outside)} change(s) name live objects outside the plan's merchants "
        f"({scope}): {shown}{more}. Nothing was changed; make the plan again with "
        f"`{REPLAN}` and review it"
    )


# -- import ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Imported:
    text: str  # the YAML
    merchants: int
    stores: int
    notes: tuple[str, ...]  # what a plan of the file would do now, for the person to read


def import_account(
    client: SyncReadClient | SyncWriteClient, merchants: Sequence[str] = (), name: str = "<stdout>"
) -> Imported:
    """The live account (or the merchants named) as config; `name` is where it will be
    written, for the notes. SettingsError when a named merchant has no Amazon store."""
    from dropstream_sync.importer import left_out, live_to_config, render_config
    from dropstream_sync.live import name_key

    live, history = _live_and_request_history(client, merchants)
    document = live_to_config(live, merchants or None, history)
    # Compared as the reader and the planner compare names (live.name_key): "Café" typed
    # precomposed is the merchant DropStream spells with a combining accent.
    written = {name_key(m["name"]) for m in document["merchants"]}
    missing = sorted(m for m in set(merchants) if name_key(m) not in written)
    if missing:
        raise SettingsError(
            "no Amazon stores found for merchant(s): "
            + ", ".join(repr(m) for m in missing)
            + _spelt_otherwise(live, missing)
        )
    text = render_config(document)
    stores = sum(len(m["stores"]) for m in document["merchants"])
    notes = left_out(live, merchants or None, history) + _first_plan_notes(text, live, client, name)
    return Imported(text, len(document["merchants"]), stores, tuple(notes))


def _spelt_otherwise(live: LiveState, missing: Sequence[str]) -> str:
    """A hint naming the live customers that a `--merchant` name differs from only in case,
    spacing or look-alike letters (the reader keeps those customers, to warn of them)."""
    from dropstream_sync.live import loose_name_key

    near = {loose_name_key(m) for m in missing}
    spelt = sorted(
        {c.company_name for c in live.customers if loose_name_key(c.company_name) in near}
    )
    if not spelt:
        return ""
    return (
        "; DropStream has a customer named "
        + " or ".join(repr(n) for n in spelt)
        + ": pass --merchant the name as DropStream spells it"
    )


def _live_and_request_history(
    client: SyncReadClient | SyncWriteClient, merchants: Sequence[str]
) -> tuple[LiveState, list[AuthorizationRequest]]:
    """The live state, and the authorization requests of every status (one paginated list
    read beside the others, never a read per store): a merchant's email is recovered from
    its most recent request even when none is pending. An API without the endpoint gives
    no history. The history is read beside the plan's lists but refused (a list that may be
    partial) only after them, so import names the list plan names for the same account."""
    import asyncio

    from dropstream_sync.client import api
    from dropstream_sync.client.clients import InOrder
    from dropstream_sync.client.pages import first_leaf
    from dropstream_sync.errors import ApiError

    async def history() -> list[AuthorizationRequest]:
        try:
            return await client.aio.list_authorization_requests(None)
        except ApiError as exc:
            if exc.status in api.MISSING_ENDPOINT_STATUSES:
                return []
            raise

    async def read() -> tuple[LiveState, list[AuthorizationRequest]]:
        try:
            async with asyncio.TaskGroup() as group:
                ordered = InOrder(group)
                state = ordered.start(client.aio.read_live(merchants or None))
                requests = ordered.start(history())
        except BaseExceptionGroup as failed:
            raise first_leaf(failed) from None
        return state.result(), requests.result()

    return client.run(read())


def _first_plan_notes(
    text: str, live: LiveState, client: SyncReadClient | SyncWriteClient, name: str
) -> list[str]:
    """What a plan of the written file would do now: nothing for a settled account, but an
    email taken from a pending request also invites that merchant's other stores that wait
    for one (unauthorized, or an authorization due for renewal). The file is written either
    way: an account the config format cannot express (two customers of one company name)
    gets a note saying why, not a failed import."""
    from dropstream_sync.config import load_text
    from dropstream_sync.errors import ConfigError, PlanError
    from dropstream_sync.planner import plan

    try:
        first = plan(load_text(text, name), live, now=client.clock())
    except (ConfigError, PlanError) as exc:
        return ["note: a plan of this file stops with an error; fix it before planning:"] + [
            f"  {line}" for line in str(exc).splitlines()
        ]
    if not first.changes:
        return []
    counts = Counter(c.kind for c in first.changes)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    return [f"note: a plan of this file now has {len(first.changes)} change(s) ({kinds}):"] + [
        _first_plan_line(c) for c in first.changes
    ]


def _first_plan_line(change: Change) -> str:
    """One change of the first plan, saying what it does and costs: where the config cannot
    hold a live value (a connection named otherwise than its store, a store authorized in
    the UI but never finalized), the note is all that tells the user before they apply."""
    import json

    from dropstream_sync.errors import printable
    from dropstream_sync.planner.costs import cost_of
    from dropstream_sync.planner.model import ChangeKind, Disable, Enable

    def shown(value: object) -> str:
        return printable(json.dumps(value, ensure_ascii=False))

    said = [str(getattr(change.detail, "reason", "") or "")]
    if change.kind in (ChangeKind.UPDATE_STORE, ChangeKind.UPDATE_CONNECTION):
        prefix = "connection." if change.kind is ChangeKind.UPDATE_CONNECTION else ""
        said += [f"{prefix}{f.path}: {shown(f.before)} → {shown(f.after)}" for f in change.fields]
    elif isinstance(change.detail, Enable | Disable):
        # A store on with its connection off (or the other way) is a state no `enabled:`
        # holds: say which of the two the plan switches.
        parts = [("store", change.detail.store), ("connection", change.detail.connection)]
        way = "on" if change.kind is ChangeKind.ENABLE else "off"
        said.append(f"switches {way} the " + " and the ".join(p for p, on in parts if on))
    said += cost_of(change.kind)
    what = "; ".join(part for part in said if part)
    return f"  {change.kind} {change.merchant} / {change.store}" + (f": {what}" if what else "")
