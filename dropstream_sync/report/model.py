"""The report as data: `build_report(plan, live, now)` -> Report. Pure: no I/O, no clock.

Everything a renderer shows is decided here (statuses, day counts, the timeline's weeks,
sort orders), so html, markdown and json say the same thing and the report is tested as
data. `to_dict()` is the JSON document of docs/report-format.md (format_version "1").
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import Field, dataclass, field, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final

from dropstream_sync import catalog
from dropstream_sync.desired import DesiredMerchant, DesiredStore
from dropstream_sync.live import (
    AUTH_WORDS,
    REQUEST_WORDS,
    AuthorizationRequest,
    Connection,
    LiveState,
    RequestStatus,
    Store,
    listed_as,
    name_key,
)
from dropstream_sync.planner import health
from dropstream_sync.planner.fingerprint import LiveFingerprint
from dropstream_sync.planner.model import (
    CancelInvite,
    ChangeKind,
    FieldChange,
    PendingKind,
    Plan,
    TargetType,
)
from dropstream_sync.planner.plan import renewal_due, same_address
from dropstream_sync.timestamps import utc_stamp

FORMAT_VERSION: Final = "1"
WEEKS: Final = 53  # 365 days, in weeks from now (the last one is a single day long)
HORIZON_DAYS: Final = 365
# `unknown`: the authorization could not be read, or reads a word the model does not know
# (not live.AuthStatus). The plan invites nobody for such a store (it may be authorized), so
# the report must not count it `missing`, which tells the merchant to authorize.
STATUSES: Final = ("authorized", "pending", "missing", "expired", "revoked", "unknown")
# Drift is what `apply` would put back: a field someone changed in DropStream, a channel
# switched off, a store or connection switched on or off. Connections are made enabled and
# with their channels once the store is authorized, so none of these is a step of the
# lifecycle: each is live state that differs from the config (a sales_order channel off
# means no orders flow, and must not leave the drift issue closed).
DRIFT_KINDS: Final = frozenset(
    {
        ChangeKind.UPDATE_STORE,
        ChangeKind.UPDATE_CONNECTION,
        ChangeKind.UPDATE_CHANNEL,
        ChangeKind.ENABLE,
        ChangeKind.DISABLE,
    }
)
# The API statuses whose `expires_at` is when the authorization lapses (or lapsed): a
# revoked one ended when the merchant revoked it, whatever its old expiry says.
_LAPSES: Final = frozenset({"authorized", "expired"})


def _days(delta: timedelta) -> int:
    """Whole days, rounded down (an authorization lapsing in 23 hours has 0 days left)."""
    return delta.days


def _plain(value: Any) -> Any:
    """A field's value in the JSON document: a time as its UTC stamp, a row as its dict, a
    tuple as a list, anything else as it is."""
    if isinstance(value, datetime):
        return utc_stamp(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    return value if to_dict is None else to_dict()


class _Row:
    """A row of the report whose JSON is its fields, in their order, under their own names
    (as docs/report-format.md lists them, but for `_KEYS`): a field added here is added to
    the document."""

    __slots__ = ()
    # A field whose name in the document is not its own: field name -> key.
    _KEYS: ClassVar[Mapping[str, str]] = {}
    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def to_dict(self) -> dict[str, Any]:
        return {self._KEYS.get(f.name, f.name): _plain(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Invitation(_Row):
    merchant: str
    store: str
    email: str
    request_id: int
    created_at: datetime
    expires_at: datetime
    age_days: int
    expires_in_days: int
    # `pending`, or a word the model does not know as the API answered it to the list of
    # pending requests (live.REQUEST_WORDS): the store is then `unknown` (if not authorized,
    # or due for renewal), and the plan invites nobody for it, since it may well be a
    # pending link.
    status: str
    # Why the plan cancels it (its `cancel_invite`: the store switched off or pruned, the
    # merchant without an email), or None: nobody should chase a merchant over it.
    canceled_by_plan: str | None


# A drifted field is the change the plan would make to put it back (a connection's fields
# prefixed `connection.`), in the plan's own form.
Drift = FieldChange


@dataclass(frozen=True, slots=True)
class ChannelState(_Row):
    type: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class ConnectionState(_Row):
    id: int
    name: str
    warehouse_id: int
    enabled: bool
    channels: tuple[ChannelState, ...] = ()


# Not frozen: a report has a row per store, and a frozen dataclass's __init__ (a call per
# field) is about nine times slower. Nothing changes a row once build_report has made it.
@dataclass(slots=True)
class StoreRow(_Row):
    name: str
    marketplace: str
    store_id: int | None  # None: in the config, not yet in DropStream
    managed: bool  # in the config (False: a live store of the merchant the config omits)
    wanted: bool  # the config wants it authorized (listed, and not `enabled: false`)
    status: str  # one of STATUSES
    # The API's own status (missing | authorized | expired | revoked), another word as it came,
    # or live.AUTH_UNREADABLE.
    authorization: str
    seller_id: str | None
    authorized_at: datetime | None
    expires_at: datetime | None
    days_to_expiry: int | None
    in_renewal_window: bool
    store_enabled: bool | None
    invitation: Invitation | None
    connections: tuple[ConnectionState, ...]
    drift: tuple[Drift, ...]

    @property
    def problem(self) -> bool:
        """Whether the store needs someone: drifted, or wanted and not authorized or due
        for renewal (a store switched off in the config, or not in it, needs no authorization)."""
        return bool(self.drift) or (
            self.wanted and (self.status != "authorized" or self.in_renewal_window)
        )


@dataclass(frozen=True, slots=True)
class MerchantSection(_Row):
    name: str
    email: str | None
    reauthorize_days: int
    exists: bool  # a DropStream customer of this name exists
    stores: tuple[StoreRow, ...]


@dataclass(frozen=True, slots=True)
class Week(_Row):
    _KEYS: ClassVar[Mapping[str, str]] = {"index": "week", "in_window": "in_renewal_window"}

    index: int  # 0: the seven days from now
    start: datetime
    lapsing: int  # authorizations whose expiry falls in this week
    in_window: bool  # the week starts inside the reauthorize_days window


@dataclass(frozen=True, slots=True)
class RepeatedExpiry:
    """A merchant who let an invitation expire unanswered more than once."""

    merchant: str
    expired: int  # expired invitations, all stores
    stores: tuple[tuple[str, int], ...]  # store name -> its expired invitations
    last_expired_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "merchant": self.merchant,
            "expired": self.expired,
            "stores": [{"store": s, "expired": n} for s, n in self.stores],
            "last_expired_at": utc_stamp(self.last_expired_at),
        }


@dataclass(frozen=True, slots=True)
class Report:
    created_at: str
    api_url: str
    tool_version: str
    config_digest: str
    # The plan's, worked out only if the report is written as JSON (the one format that
    # shows it): an HTML or markdown report never pays for it.
    fingerprint: LiveFingerprint
    reauthorize_days: int  # the widest window of the merchants in scope (the chart's mark)
    merchants: tuple[MerchantSection, ...]
    timeline: tuple[Week, ...]
    already_expired: int  # authorizations lapsed before now (not on the timeline)
    invitations: tuple[Invitation, ...]  # pending, oldest first
    repeated_expiries: tuple[RepeatedExpiry, ...]
    blocked_reasons: tuple[str, ...]
    connections_billed: int  # live connections of the merchants in scope
    connections_to_bill: int  # what the plan's create_connection changes would add
    queued_invites: int
    needs_ui: int
    # The moment the report describes (the API's clock, `created_at`), for the pages' words
    # ("lapsed 6 days ago"); the JSON has it as `created_at`.
    now: datetime
    warnings: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def stores(self) -> Iterable[StoreRow]:
        return (s for m in self.merchants for s in m.stores)

    @property
    def drifted(self) -> int:
        return sum(1 for s in self.stores if s.drift)

    @property
    def findings(self) -> int:
        """Stores that need someone (drift, no authorization, a renewal due), plus a
        blocked plan: 0 means the account is clean."""
        return sum(1 for s in self.stores if s.problem) + (1 if self.blocked_reasons else 0)

    def headline(self) -> str:
        """The account in one line, as the demo ends with it."""
        s = self.summary()
        unknown = f", {s['unknown']} unreadable" if s["unknown"] else ""
        return (
            f"{s['stores']} stores: {s['authorized']} authorized, {s['pending']} pending, "
            f"{s['missing']} not authorized{unknown}; {s['renewals_due']} renewal(s) due; "
            f"{s['drift']} drifted"
        )

    def summary(self) -> dict[str, Any]:
        return {
            "merchants": len(self.merchants),
            "stores": sum(len(m.stores) for m in self.merchants),
            "connections_billed": self.connections_billed,
            "connections_to_bill": self.connections_to_bill,
            **{s: self.counts.get(s, 0) for s in STATUSES},
            "drift": self.drifted,
            "renewals_due": sum(1 for s in self.stores if s.in_renewal_window),
            "already_expired": self.already_expired,
            "queued_invites": self.queued_invites,
            "needs_ui_authorization": self.needs_ui,
            "blocked": bool(self.blocked_reasons),
            "findings": self.findings,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "report",
            "tool_version": self.tool_version,
            "created_at": self.created_at,
            "api_url": self.api_url,
            "config_digest": self.config_digest,
            "live_fingerprint": self.fingerprint.digest,
            "reauthorize_days": self.reauthorize_days,
            "summary": self.summary(),
            "blocked_reasons": list(self.blocked_reasons),
            "timeline": [w.to_dict() for w in self.timeline],
            "pending_invitations": [i.to_dict() for i in self.invitations],
            "repeated_expiries": [r.to_dict() for r in self.repeated_expiries],
            "merchants": [m.to_dict() for m in self.merchants],
            "warnings": list(self.warnings),
        }

    def findings_digest(self) -> str:
        """A digest of everything the report shows except when it was made: the same
        account on another day with nothing changed gives another digest only where a
        day count moved."""
        shown = self.to_dict()
        del shown["created_at"]
        # Each week starts a whole number of weeks after `created_at`, to the second: kept,
        # every report would differ from the last one, a minute apart or not.
        for week in shown["timeline"]:
            del week["start"]
        text = json.dumps(shown, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- building ----------------------------------------------------------------------------


_BY_ID: Final = operator.attrgetter("id")
_NAME: Final = operator.attrgetter("name")
_MANAGED: Final = operator.attrgetter("managed")


def _marketplace(ls: Store) -> str:
    m = catalog.BY_ID.get(ls.marketplace_id or "")
    return m.code if m else (ls.marketplace_id or "?")


class _Live:
    """The live lists indexed once, so a report of 10,000 stores stays linear."""

    def __init__(self, live: LiveState, names: set[str], canceled: Mapping[int, str]) -> None:
        self.canceled = canceled  # request id -> why the plan cancels it
        # Desired merchant name -> its customer, matched as the planner matches (by
        # live.name_key, the lowest id of look-alikes kept).
        wanted = {name_key(n): n for n in names}
        self.customers = {
            wanted[key]: c
            for c in sorted(live.customers, key=lambda c: -c.id)
            if (key := name_key(c.company_name)) in wanted
        }
        ids = {c.id for c in self.customers.values()}
        self.stores: dict[int, list[Store]] = defaultdict(list)
        self.store_by_id: dict[int, Store] = {}
        for s in sorted(live.stores, key=_BY_ID):
            if s.customer_id in ids and s.platform == "amazon":
                self.stores[s.customer_id].append(s)
                self.store_by_id[s.id] = s
        self.connections: dict[int, list[Connection]] = defaultdict(list)
        for c in sorted(live.connections, key=_BY_ID):
            if c.store_id in self.store_by_id:
                self.connections[c.store_id].append(c)
        self.requests: dict[int, AuthorizationRequest] = {}
        # Listed as pending with a word the model does not know: the newest per store, which
        # the planner warns of (and invites nobody) when no pending one is listed.
        self.unknown: dict[int, AuthorizationRequest] = {}
        for r in sorted(live.authorization_requests, key=_BY_ID):
            if r.store_id not in self.store_by_id:
                continue
            if r.status == RequestStatus.PENDING:
                self.requests[r.store_id] = r  # the newest pending one, as the planner uses
            elif r.status not in REQUEST_WORDS:
                self.unknown[r.store_id] = r


def _match(m: DesiredMerchant, live_stores: list[Store]) -> dict[int, DesiredStore]:
    """Live store id -> the desired store it is (pinned id, else the name), as the planner
    matches; a store the planner refused to match stops the plan before a report exists."""
    by_name: dict[str, list[Store]] = defaultdict(list)
    pinned = {s.id for s in m.stores if s.id is not None}
    for ls in live_stores:
        if ls.id not in pinned:
            by_name[name_key(ls.name)].append(ls)
    ids = {ls.id for ls in live_stores}
    out: dict[int, DesiredStore] = {}
    for s in m.stores:
        if s.id is not None:
            if s.id in ids:
                out[s.id] = s
        elif same := by_name.get(name_key(s.name)):
            # Namesakes in other marketplaces are other stores (the planner's rule): the
            # config's is the first one in its own marketplace, if there is one.
            here = [ls for ls in same if health.marketplace_code(ls) == s.marketplace]
            out[(here or same)[0].id] = s
    return out


def build_report(
    plan: Plan,
    live: LiveState,
    now: datetime,
) -> Report:
    """The report of `plan`, made from `live` at `now` (the plan's own inputs). The live
    state's expired invitations (`status=expired`) give the merchants who let one expire
    more than once."""
    in_scope = set(plan.merchants)
    merchants = [
        m for m in sorted(plan.desired.merchants, key=lambda m: m.name) if m.name in in_scope
    ]
    canceled = {
        d.request_id: d.reason for c in plan.changes if isinstance(d := c.detail, CancelInvite)
    }
    ix = _Live(live, in_scope, canceled)
    drift = _drift_by_store(plan)
    tally = _Tally(now)
    sections = [_section(m, ix, now, drift, tally) for m in merchants]
    window = max((m.reauthorize_days for m in merchants), default=30)
    timeline = tuple(
        Week(i, now + timedelta(days=7 * i), tally.lapsing[i], 7 * i < window) for i in range(WEEKS)
    )
    invitations = sorted(
        tally.invitations, key=lambda i: (-i.age_days, i.created_at, i.merchant, i.store)
    )
    summary = plan.summary()
    return Report(
        created_at=plan.created_at or utc_stamp(now),
        api_url=plan.api_url,
        tool_version=plan.tool_version,
        config_digest=plan.config_digest,
        fingerprint=plan.fingerprint,
        reauthorize_days=window,
        merchants=tuple(sections),
        timeline=timeline,
        already_expired=tally.already_expired,
        invitations=tuple(invitations),
        repeated_expiries=_repeated(
            live.expired_authorization_requests, ix, {m.name for m in merchants}
        ),
        blocked_reasons=plan.blocked_reasons,
        connections_billed=tally.billed,
        connections_to_bill=int(summary["connections_billed"]),
        queued_invites=summary["pending_by_kind"][PendingKind.QUEUED],
        needs_ui=summary["pending_by_kind"][PendingKind.NEEDS_UI_AUTHORIZATION],
        now=now,
        warnings=plan.warnings,
        counts=tally.counts,
    )


def _drift_by_store(plan: Plan) -> dict[tuple[str, str], list[Drift]]:
    """The fields the plan would put back, per (merchant, store): the drift."""
    drift: dict[tuple[str, str], list[Drift]] = defaultdict(list)
    for c in plan.changes:
        if c.kind in DRIFT_KINDS and c.store is not None:
            # A connection's fields start with `connection.`; a store-targeted enable or
            # disable switches the store and its first connection, and reads `enabled`.
            prefix = "connection." if c.target.type == TargetType.CONNECTION else ""
            drift[(c.merchant, c.store)].extend(
                Drift(prefix + f.path, f.before, f.after) for f in c.fields
            )
    return drift


class _Tally:
    """The account-wide figures, added up store row by store row."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.invitations: list[Invitation] = []
        self.lapsing = [0] * WEEKS
        self.already_expired = 0
        self.billed = 0

    def add(self, row: StoreRow, live: Store | None) -> None:
        self.counts[row.status] += 1
        self.billed += len(row.connections)
        if row.invitation is not None and row.invitation.status == RequestStatus.PENDING:
            self.invitations.append(row.invitation)
        if live is None or row.authorization not in _LAPSES or not row.expires_at:
            return
        left = row.expires_at - self.now
        if left <= timedelta(0) or row.authorization == "expired":
            self.already_expired += 1
        elif left <= timedelta(days=HORIZON_DAYS):
            # An authorization given this second lapses at the very end of the 365th day
            # (week 52): on the chart, not missing from it.
            self.lapsing[min(left.days // 7, WEEKS - 1)] += 1


def _section(
    m: DesiredMerchant,
    ix: _Live,
    now: datetime,
    drift: dict[tuple[str, str], list[Drift]],
    tally: _Tally,
) -> MerchantSection:
    customer = ix.customers.get(m.name)
    live_stores = ix.stores[customer.id] if customer else []
    matched = _match(m, live_stores)
    by_desired = {id(s): ix.store_by_id[ls_id] for ls_id, s in matched.items()}
    pairs: list[tuple[str, Store | None, DesiredStore | None]] = [
        (s.name, by_desired.get(id(s)), s) for s in m.stores
    ]
    pairs += [(ls.name, ls, None) for ls in live_stores if ls.id not in matched]
    rows: list[StoreRow] = []
    for name, ls, wanted in pairs:
        # The plan updates only the config's stores; a live one it does not list may share
        # the name (a duplicate, a namesake in another marketplace), never the drift.
        fields = drift.get((m.name, name), ()) if wanted is not None else ()
        row = _store_row(m, name, ls, wanted, ix, now, fields)
        tally.add(row, ls)
        rows.append(row)
    # The managed stores first, each part by name: two stable sorts on C-level keys.
    rows.sort(key=_NAME)
    rows.sort(key=_MANAGED, reverse=True)
    return MerchantSection(m.name, m.email, m.reauthorize_days, customer is not None, tuple(rows))


def _store_row(
    m: DesiredMerchant,
    name: str,
    ls: Store | None,
    wanted: DesiredStore | None,
    ix: _Live,
    now: datetime,
    drift: Iterable[Drift],
) -> StoreRow:
    managed = wanted is not None
    wants_enabled = wanted is not None and wanted.enabled
    if ls is None:
        marketplace = wanted.marketplace if wanted else "?"
        return StoreRow(
            name,
            marketplace,
            None,
            True,
            wants_enabled,
            "missing",
            "missing",
            None,
            None,
            None,
            None,
            False,
            None,
            None,
            (),
            tuple(drift),
        )
    a = ls.authorization
    request = ix.requests.get(ls.id) or ix.unknown.get(ls.id)
    invitation = _invitation(m, name, request, now, ix.canceled)
    # The address the plan wants the invitation at: it replaces one sent elsewhere (a
    # `reinvite`) for a store it wants authorized, and leaves any other store's alone.
    status = _status(ls, invitation, now, m.email if wants_enabled else None, m.reauthorize_days)
    days_left = None
    if a.status in _LAPSES and a.expires_at is not None:
        # An expired authorization keeps its expiry: its days are negative whether or not
        # the API has flipped its status yet (docs/report-format.md: "negative days: lapsed").
        days_left = _days(a.expires_at - now)
    # Due by the planner's own rule for a `reinvite`, not by the rounded-down day count:
    # 30.5 days left is outside a 30-day window, and the report must not call due a renewal
    # the next apply does not send.
    renewal = (
        status == "authorized"
        and a.expires_at is not None
        and renewal_due(a.expires_at, now, m.reauthorize_days)
    )
    return StoreRow(
        name,
        _marketplace(ls),
        ls.id,
        managed,
        wants_enabled,
        status,
        a.status,
        a.selling_partner_id,
        a.authorized_at,
        a.expires_at,
        days_left,
        renewal,
        ls.enabled,
        invitation,
        _connections(ix.connections.get(ls.id, [])),
        tuple(drift),
    )


def _invitation(
    m: DesiredMerchant,
    name: str,
    request: AuthorizationRequest | None,
    now: datetime,
    canceled: Mapping[int, str],
) -> Invitation | None:
    if request is None:
        return None
    return Invitation(
        m.name,
        name,
        request.email,
        request.id,
        request.created_at,
        request.expires_at,
        _days(now - request.created_at),
        _days(request.expires_at - now),
        str(request.status),
        canceled.get(request.id),
    )


def _status(
    ls: Store, invitation: Invitation | None, now: datetime, email: str | None, window: int
) -> str:
    """The store's authorization as the report counts it: an authorization past its
    expiry is expired even before the API says so, and a live invitation is pending, unless
    it went to another address than `email` (the plan then sends a new one, so nobody is
    waiting on it). One the tool cannot read or does not know is unknown, invitation or
    not: the store may be authorized, and the plan leaves it to a person (it warns, as the
    report's page says). So is one not authorized, or due for renewal (within `window`
    days), whose invitation reads a word the tool does not know: it may be a pending link,
    and the plan invites nobody for it."""
    a = ls.authorization
    lapsed = a.status == "authorized" and a.expires_at is not None and a.expires_at <= now
    unread = invitation is not None and invitation.status != RequestStatus.PENDING
    if a.status == "authorized" and not lapsed:
        # Not "renewal due", which the next apply would send: the plan warns instead.
        due = unread and a.expires_at is not None and renewal_due(a.expires_at, now, window)
        return "unknown" if due else "authorized"
    if a.status not in AUTH_WORDS or unread:
        return "unknown"
    if invitation is not None and invitation.expires_at > now and not _elsewhere(invitation, email):
        return "pending"
    return "expired" if lapsed else a.status


def _elsewhere(invitation: Invitation, email: str | None) -> bool:
    """Sent to another address than `email`, compared as the planner does; never, without
    one."""
    return email is not None and not same_address(invitation.email, email)


def _connections(connections: Sequence[Connection]) -> tuple[ConnectionState, ...]:
    if not connections:
        return ()  # most stores of a first run: no generator for nothing
    return tuple(
        ConnectionState(
            c.id,
            c.name,
            c.warehouse_id,
            c.enabled,
            tuple(
                ChannelState(ch.type, ch.enabled)
                for ch in sorted(c.channels or (), key=lambda ch: (ch.type, ch.id))
            ),
        )
        for c in connections
    )


def _repeated(
    expired: Iterable[AuthorizationRequest], ix: _Live, names: set[str]
) -> tuple[RepeatedExpiry, ...]:
    by_customer = {c.id: name for name, c in ix.customers.items() if name in names}
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    last: dict[str, datetime] = {}
    for r in expired:
        merchant = by_customer.get(r.customer_id)
        store = ix.store_by_id.get(r.store_id)
        # An expired one, or one the expired list answered with a word the model does not
        # know ("Expired"), as the client keeps it and the plan reinvites on it.
        if merchant is None or not listed_as(r, RequestStatus.EXPIRED):
            continue
        per[merchant][store.name if store else f"store {r.store_id}"] += 1
        last[merchant] = max(last.get(merchant, r.expires_at), r.expires_at)
    out = [
        RepeatedExpiry(m, sum(stores.values()), tuple(sorted(stores.items())), last[m])
        for m, stores in per.items()
        if sum(stores.values()) > 1
    ]
    out.sort(key=lambda r: (-r.expired, r.merchant))
    return tuple(out)
