"""The Plan: what `plan` found and `apply` will do, and its one serialisable form.

A Plan is data. The JSON document of product.md §5 (the `--format json` output and the
saved plan of `--out`) is `Plan.to_dict()`; `Plan.from_dict()` / `Plan.from_json()` read it
back exactly, so `apply PLANFILE` needs no YAML, and refuse anything else before the first
request (an unknown kind, a duplicate id, a missing or ill-typed field, a dangling ref).

A change's kind is a `ChangeKind`; its `detail` is the frozen dataclass of that kind
(`CreateStore`, `Invite`, ...), holding everything apply needs for its API calls. Ids of
objects that a change earlier in the same plan creates are given as refs (the wire's
`refs: {"customer_id": "<change id>"}`): apply fills them in from that change's result.
octoDNS's Create/Update/Delete and kopf's DiffOperation are the models.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Final, NamedTuple, TypeVar

from dropstream_sync.desired import DesiredState
from dropstream_sync.errors import PlanFileError
from dropstream_sync.planner import wire
from dropstream_sync.planner.costs import billing, cost_of
from dropstream_sync.planner.details import (
    DETAIL_TYPES,
    CancelInvite,
    ChangeKind,
    CreateConnection,
    CreateMerchant,
    CreateStore,
    Detail,
    Disable,
    Enable,
    Invite,
    NeutralizeDuplicate,
    Reinvite,
    UpdateChannel,
    UpdateConnection,
    UpdateStore,
)
from dropstream_sync.planner.fingerprint import LiveFingerprint

__all__ = [
    "CHANGE_KINDS",
    "DETAIL_TYPES",
    "FORMAT_VERSION",
    "PENDING_KINDS",
    "PHASES",
    "PHASE_OF",
    "CancelInvite",
    "Change",
    "ChangeKind",
    "CreateConnection",
    "CreateMerchant",
    "CreateStore",
    "Detail",
    "Disable",
    "Enable",
    "FieldChange",
    "Invite",
    "NeutralizeDuplicate",
    "Pending",
    "PendingKind",
    "Plan",
    "Reinvite",
    "Target",
    "TargetType",
    "UpdateChannel",
    "UpdateConnection",
    "UpdateStore",
    "plan_digest",
]

FORMAT_VERSION: Final = "1"
# The command that makes a plan to save, for the messages that send the user to one (a
# stale, edited or partly applied saved plan): `plan` takes the config paths, so a bare
# `plan --out FILE` copied from a message was "Missing argument 'PATH...'".
REPLAN: Final = "dropstream-sync plan PATH... --out FILE"

K = ChangeKind
# Apply phases, in order (product.md §6). A kind's phase is its index here.
PHASES: Final[tuple[tuple[ChangeKind, ...], ...]] = (
    (K.CREATE_MERCHANT,),
    (K.CREATE_STORE,),
    (K.UPDATE_STORE,),
    (K.CANCEL_INVITE,),
    (K.NEUTRALIZE_DUPLICATE,),
    (K.INVITE, K.REINVITE),
    (K.CREATE_CONNECTION,),
    (K.UPDATE_CONNECTION, K.UPDATE_CHANNEL),
    (K.ENABLE,),
    (K.DISABLE,),
)
CHANGE_KINDS: Final[tuple[ChangeKind, ...]] = tuple(k for phase in PHASES for k in phase)
PHASE_OF: Final[dict[ChangeKind, int]] = {k: i for i, phase in enumerate(PHASES) for k in phase}
assert set(CHANGE_KINDS) == set(ChangeKind) == set(DETAIL_TYPES), "every kind has one phase"


class PendingKind(StrEnum):
    """Pending items: not changes, but shown, counted and kept."""

    AWAITING_MERCHANT = "awaiting_merchant"  # a pending request still waiting for the merchant
    QUEUED = "queued"  # an invite held back by max_invites_per_run
    NEEDS_UI_AUTHORIZATION = "needs_ui_authorization"  # no email: authorized in the DropStream UI
    SEND_FROM_UI = "send_from_ui"  # no invite endpoint: the 3PL sends the link from the UI


PENDING_KINDS: Final[tuple[PendingKind, ...]] = tuple(PendingKind)


class TargetType(StrEnum):
    CUSTOMER = "customer"
    STORE = "store"
    CONNECTION = "connection"
    AUTHORIZATION_REQUEST = "authorization_request"


@dataclass(frozen=True, slots=True)
class Target:
    type: TargetType
    id: int | None = None  # None: created by a change in this plan

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", TargetType(self.type))

    def to_dict(self) -> dict[str, Any]:
        return {"type": str(self.type), "id": self.id}


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


D = TypeVar("D", bound=Detail)


def _no_detail() -> Detail:
    raise TypeError("a Change needs the detail of its kind")


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    kind: ChangeKind
    merchant: str
    store: str | None
    target: Target
    fields: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()
    detail: Detail = field(default_factory=_no_detail)

    def __post_init__(self) -> None:
        kind = ChangeKind(self.kind)
        object.__setattr__(self, "kind", kind)
        if type(self.detail) is not DETAIL_TYPES[kind]:
            raise TypeError(
                f"a {kind} change needs a {DETAIL_TYPES[kind].__name__} detail, "
                f"not {type(self.detail).__name__}"
            )

    @property
    def phase(self) -> int:
        return PHASE_OF[self.kind]

    def object_keys(self) -> tuple[str, ...]:
        """The live objects this change writes to or names (`store/12`, `warehouse/3`):
        its target and every id in its detail. Objects made earlier in the run (refs)
        are not among them."""
        return tuple(dict.fromkeys(_object_keys(self)))

    def detail_as(self, cls: type[D]) -> D:
        """The detail as the type its kind has (checked once more, for the type checker)."""
        if not isinstance(self.detail, cls):
            raise TypeError(f"{self.id}: a {self.kind} change has no {cls.__name__} detail")
        return self.detail

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "merchant": self.merchant,
            "store": self.store,
            "target": self.target.to_dict(),
            "fields": [f.to_dict() for f in self.fields],
            "depends_on": list(self.depends_on),
            "detail": self.detail.to_dict(),
            # Derived from the kind (read back as such, never trusted from the file).
            "cost": list(cost_of(self.kind)),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "change") -> Change:
        """Raises `wire.Invalid` naming the field at fault."""
        r = wire.Reader(d, where)
        kind_text = r.text("kind")
        try:
            kind = ChangeKind(kind_text)
        except ValueError:
            known = ", ".join(ChangeKind)
            raise wire.Invalid(
                f"{where}.kind", f"unknown change kind {kind_text!r} (known: {known})"
            ) from None
        target = r.object("target")
        type_text = target.text("type")
        if type_text not in set(TargetType):
            raise wire.Invalid(f"{where}.target.type", f"unknown target type {type_text!r}")
        return cls(
            id=r.text("id"),
            kind=kind,
            merchant=r.text("merchant"),
            store=r.optional_text("store"),
            target=Target(TargetType(type_text), target.optional_int("id")),
            fields=tuple(
                FieldChange(f.text("path"), f.value("before"), f.value("after"))
                for f in r.objects("fields")
            ),
            depends_on=tuple(r.texts("depends_on", default=())),
            detail=DETAIL_TYPES[kind].from_dict(r.object("detail")),
        )


class Pending(NamedTuple):
    # A named tuple, not a frozen dataclass: a first plan of an account has one per store
    # (10,000 at a time), and a tuple is made in a fifth of the time. Immutable all the same.
    kind: PendingKind
    merchant: str
    store: str
    message: str
    detail: Mapping[str, Any] = MappingProxyType({})

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "merchant": self.merchant,
            "store": self.store,
            "message": self.message,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "pending") -> Pending:
        r = wire.Reader(d, where)
        kind_text = r.text("kind")
        if kind_text not in set(PendingKind):
            raise wire.Invalid(f"{where}.kind", f"unknown pending kind {kind_text!r}")
        detail = r.object("detail", default={})
        return cls(
            PendingKind(kind_text),
            r.text("merchant"),
            r.text("store"),
            r.text("message"),
            {k: detail.value(k) for k in detail.names()},
        )


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[Change, ...] = ()
    pending: tuple[Pending, ...] = ()
    warnings: tuple[str, ...] = ()
    blocked_reasons: tuple[str, ...] = ()
    desired: DesiredState = field(default_factory=DesiredState)
    merchants: tuple[str, ...] = ()  # the merchants in scope (after --merchant)
    config_digest: str = ""
    # The live read's digest and index (object key -> short digest), for the stale check.
    fingerprint: LiveFingerprint = field(default_factory=LiveFingerprint)
    created_at: str = ""
    api_url: str = ""
    account: str = ""  # who the plan read live as (the client's `account`: no secret)
    tool_version: str = ""

    # Saved plans of this tool are at most a few levels deep; anything far deeper is not
    # one, and Python's JSON reader would otherwise recurse until it overflows.
    MAX_DEPTH: ClassVar[int] = 64

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_reasons)

    @property
    def live_fingerprint(self) -> str:
        return self.fingerprint.digest

    @property
    def live_index(self) -> Mapping[str, str]:
        return self.fingerprint.index

    def summary(self) -> dict[str, Any]:
        counts = {str(kind): 0 for kind in CHANGE_KINDS}
        for change in self.changes:
            counts[change.kind] += 1
        pending = {str(kind): 0 for kind in PENDING_KINDS}
        for item in self.pending:
            pending[item.kind] += 1
        return {
            "changes": len(self.changes),
            **counts,
            "pending": len(self.pending),
            "pending_by_kind": pending,
            "connections_billed": counts[ChangeKind.CREATE_CONNECTION],
            "billing": billing((c.kind, c.detail) for c in self.changes),
            "blocked": self.blocked,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, `plan_digest` last: the digest of everything else in it."""
        document = {
            "format_version": FORMAT_VERSION,
            "tool_version": self.tool_version,
            "created_at": self.created_at,
            "api_url": self.api_url,
            "account": self.account,
            "config_digest": self.config_digest,
            "live_fingerprint": self.live_fingerprint,
            "live_index": dict(sorted(self.live_index.items())),
            "merchants": list(self.merchants),
            "summary": self.summary(),
            "blocked_reasons": list(self.blocked_reasons),
            "changes": [c.to_dict() for c in self.changes],
            "pending": [p.to_dict() for p in self.pending],
            "warnings": list(self.warnings),
            "desired": self.desired.to_dict(),
        }
        # Each whole-number float written as the integer it equals (`30.0` as `30`), as jq
        # and JSON.stringify write it: their reformat then changes no number, and an earlier
        # version, whose digest is of the numbers as written, still reads this one's plans.
        whole: dict[str, Any] = _whole_numbers(document)
        whole["plan_digest"] = _digest_of(whole)
        return whole

    def objects_outside(self, covered: Collection[str]) -> list[tuple[Change, str]]:
        """Each change's live object (`store/12`, ...) that is not in `covered`, the keys of
        the live objects the stale check read (`live_fingerprint`'s index)."""
        return [(c, key) for c in self.changes for key in c.object_keys() if key not in covered]

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "plan") -> Plan:
        """Read a saved plan; a malformed one raises PlanFileError naming `source` and the
        field at fault, and one whose content does not match its `plan_digest` (edited
        after it was saved) is refused as edited."""
        try:
            plan = cls._read(d)
            written = wire.Reader.top(d).text("plan_digest")
        except wire.Invalid as exc:
            raise PlanFileError(f"{source}: not a dropstream-sync plan: {exc}") from None
        # Checked after the shape, so that a broken field is named rather than just "edited".
        actual = plan_digest(d)
        if written != actual and written not in _digests_as_written_before(d):
            raise PlanFileError(
                f"{source}: the plan file was edited after it was saved: its content no longer "
                f"matches the plan_digest written with it ({written} != {actual}). Make the "
                f"plan again with `{REPLAN}`, review it, and apply that"
            )
        return plan

    @classmethod
    def from_json(cls, text: str, source: str) -> Plan:
        """Parse and read a saved plan's JSON text; every problem is a PlanFileError that
        starts with `source` (and the line and column for a JSON syntax error)."""
        try:
            data = json.loads(text, object_pairs_hook=_once_each)
        except _KeyTwice as twice:
            line, col = _object_with_key_twice(text)
            raise PlanFileError(
                f"{source}:{line}:{col}: not a dropstream-sync plan: the object here has the "
                f"key {twice.key!r} twice (`plan --out` writes each key once: edited?)"
            ) from None
        except json.JSONDecodeError as exc:
            raise PlanFileError(
                f"{source}:{exc.lineno}:{exc.colno}: not a JSON plan: {exc.msg}"
            ) from None
        except ValueError:
            # Not a syntax error: Python refuses to read an integer of more than 4,300 digits
            # (a guard against slow conversions), which no plan ever holds.
            found = re.search(f"[0-9]{{{sys.get_int_max_str_digits() + 1},}}", text)
            line, col = wire.line_column(text, found.start() if found else 0)
            raise PlanFileError(
                f"{source}:{line}:{col}: not a dropstream-sync plan: a number of "
                f"{len(found.group()) if found else 'too many'} digits"
            ) from None
        except RecursionError:
            # Python's JSON reader recurses per level and gives up near a thousand; a plan
            # is a few levels deep, so this is never one. Found again only on this path.
            line, col = wire.position_beyond(text, cls.MAX_DEPTH)
            raise PlanFileError(
                f"{source}:{line}:{col}: not a dropstream-sync plan: JSON "
                f"nested deeper than {cls.MAX_DEPTH} levels"
            ) from None
        return cls.from_dict(data, source=source)

    @classmethod
    def _read(cls, d: Any) -> Plan:
        r = wire.Reader.top(d)
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise wire.Invalid(
                "format_version",
                f"{version!r} is not {FORMAT_VERSION!r} "
                "(a plan of another version of dropstream-sync?)",
            )
        changes = tuple(Change.from_dict(c.data, c.where) for c in r.objects("changes"))
        _check_ids(changes)
        desired = r.object("desired")
        wire.check_desired(desired)
        return cls(
            changes=changes,
            pending=tuple(Pending.from_dict(p.data, p.where) for p in r.objects("pending")),
            warnings=tuple(r.texts("warnings", default=())),
            blocked_reasons=tuple(r.texts("blocked_reasons", default=())),
            desired=DesiredState.from_dict(dict(desired.data)),
            merchants=tuple(r.texts("merchants", default=())),
            config_digest=r.text("config_digest"),
            fingerprint=LiveFingerprint(
                r.text("live_fingerprint"), r.text_map("live_index", default={})
            ),
            created_at=r.text("created_at", default=""),
            api_url=r.text("api_url", default=""),
            account=r.text("account"),
            tool_version=r.text("tool_version", default=""),
        )


class _KeyTwice(Exception):
    """A JSON object of a saved plan holds `key` twice (not a ValueError: that is the
    reader's own, caught as a number too long)."""

    def __init__(self, key: str, start: int = 0) -> None:
        super().__init__(key)
        self.key = key
        self.start = start


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict, refusing a key written twice. json keeps the last value,
    another reader (or a reviewer's eye) the first, so such a file says two things and
    its digest, of the last, vouches for only one of them."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _KeyTwice(key)
            seen.add(key)
    return found


def _object_with_key_twice(text: str) -> tuple[int, int]:
    """Line and column (1-based) of the opening brace of the first object found holding a
    key twice. Only on that refusal: the C reader tells no positions, so the text is read
    again by the pure-Python one, whose object reader is wrapped to know where it began."""
    import json.decoder
    import json.scanner

    decoder = json.JSONDecoder()

    def parse_object(
        s_and_end: tuple[str, int], strict: bool, scan_once: Any, hook: Any, pairs: Any, memo: Any
    ) -> tuple[dict[str, Any], int]:
        start = s_and_end[1] - 1

        def once_here(found: list[tuple[str, Any]]) -> dict[str, Any]:
            try:
                return _once_each(found)
            except _KeyTwice as twice:
                raise _KeyTwice(twice.key, start) from None

        result: tuple[dict[str, Any], int] = json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, scan_once, None, once_here, memo
        )
        return result

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        decoder.decode(text)
    except _KeyTwice as twice:
        return wire.line_column(text, twice.start)
    except RecursionError:
        # The pure-Python reader takes several frames a level where the C one takes one, so
        # a file the C reader read whole can be too deep for it: the file is refused all the
        # same, at its start.
        pass
    return 1, 1


def plan_digest(document: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a plan document without its own `plan_digest`: keys
    sorted, no spaces, UTF-8, and every whole-number float written as the integer it equals.

    The canonical form is of the values, not of the text, so that reformatting a saved plan
    is not an edit: jq and JavaScript's JSON.stringify write `30.0` as `30` (and `1e2` as
    `100`, `-0.0` as `-0`), which a JSON reader gives back as an int, not the float written;
    escapes (`\\u00e9` or `é`), spaces and key order are gone once the text is parsed. A
    number a tool really changes (jq 1.6 rounds an integer beyond 2**53) is a changed value,
    and stays an edit."""
    return _digest_of(_whole_numbers(document))


def _digest_of(document: Mapping[str, Any]) -> str:
    """The sha256 of `document`'s canonical JSON, without its own `plan_digest`, and of its
    numbers as they are. Encoded piece by piece, as a large plan is written."""
    body = {k: v for k, v in document.items() if k != "plan_digest"}
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256()
    for chunk in encoder.iterencode(body):
        digest.update(chunk.encode())
    return "sha256:" + digest.hexdigest()


def _whole_numbers(value: Any) -> Any:
    """`value` with each float that is a whole number (`30.0`, `-0.0`) as the int it equals;
    a container is copied only where something in it changes (a plan rarely holds a float).
    bool is not a float, and NaN and infinities are not whole numbers: both stay as they are."""
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is dict or kind is list:
        # One rule for both containers: copied (dict or list of the same items) at the first
        # item that changes, and the original returned when none does.
        changed: Any = None
        for key, item in value.items() if kind is dict else enumerate(value):
            if type(item) in _CONTAINERS_AND_FLOAT:
                new = _whole_numbers(item)
                if new is not item:
                    changed = changed if changed is not None else kind(value)
                    changed[key] = new
        return value if changed is None else changed
    return value


_CONTAINERS_AND_FLOAT: Final = (dict, list, float)

# The plan's float fields: the only floats a plan held before whole numbers were written as
# integers. Such a plan's digest is of its numbers as written (`30.0`), so after a reformat
# that wrote `30` it matches only with these fields made floats again.
_FLOAT_FIELDS: Final = ("max_update_percent", "max_disable_percent")


def _digests_as_written_before(d: Mapping[str, Any]) -> Iterator[str]:
    """The digests a plan saved by an earlier version may carry for this content: of its
    numbers as they are, and with each float field that holds an integer made a float again
    (the earlier version wrote a config's `30` as `30.0`, and the default as `30`, so either
    may be the one written). Each is of the same values, so an edited value matches none of
    them. Only asked when the current digest does not match, and one by one (a digest of a
    large plan takes a while), so `in` stops at the first that matches."""
    yield _digest_of(d)
    desired = d.get("desired")
    safety = desired.get("safety") if isinstance(desired, dict) else None
    if not isinstance(desired, dict) or not isinstance(safety, dict):
        return
    # Beyond 2**53 an int has no float of the same value; no percent was ever written so.
    ints = [f for f in _FLOAT_FIELDS if type(safety.get(f)) is int and abs(safety[f]) <= 2**53]
    for mask in range(1, 2 ** len(ints)):
        as_float = {f: float(safety[f]) for i, f in enumerate(ints) if mask >> i & 1}
        yield _digest_of({**d, "desired": {**desired, "safety": {**safety, **as_float}}})


# A detail's integer field naming a live object, by how its name ends (cancel_request_id is
# an authorization request). Field names are checked against this table by a test.
ID_FIELD_TYPES: Final[tuple[tuple[str, str], ...]] = (
    ("request_id", "authorization_request"),
    ("customer_id", "customer"),
    ("store_id", "store"),
    ("warehouse_id", "warehouse"),
    ("connection_id", "connection"),
    ("channel_id", "channel"),
)


def _object_keys(change: Change) -> Iterable[str]:
    if change.target.id is not None:
        yield f"{change.target.type}/{change.target.id}"
    yield from change.detail.other_ids()
    for f in fields(change.detail):  # type: ignore[arg-type]
        value = getattr(change.detail, f.name)
        if f.name in change.detail.OTHER_ID_FIELDS:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            for suffix, type_name in ID_FIELD_TYPES:
                if f.name.endswith(suffix):
                    yield f"{type_name}/{value}"
                    break


def _check_ids(changes: tuple[Change, ...]) -> None:
    """Each id once; every dependency and ref names a change of this plan."""
    seen: set[str] = set()
    for i, c in enumerate(changes):
        if c.id in seen:
            raise wire.Invalid(f"changes[{i}].id", f"duplicate change id {c.id!r}")
        seen.add(c.id)
    for i, c in enumerate(changes):
        for dep in c.depends_on:
            if dep not in seen:
                raise wire.Invalid(
                    f"changes[{i}].depends_on", f"names {dep!r}, which is not a change of this plan"
                )
        for key, ref in c.detail.refs().items():
            if ref not in seen:
                raise wire.Invalid(
                    f"changes[{i}].detail.refs.{key}",
                    f"names {ref!r}, which is not a change of this plan",
                )
