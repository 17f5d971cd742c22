"""The audit report and the plan read the same live state: for every state the sandbox can
seed a store in, and under each of its quirk modes that change what is read, what the report
says a store needs is what the plan does about it.

A disagreement is something a user acts on wrongly: the drift issue asking a merchant to
authorize while the plan invites nobody, or calling a store "invitation pending" while the
next apply sends it a new invitation. One account holds every state (a store per state,
named after it), so a quirk mode is one sandbox, one read and one plan for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from dropstream_sync import workflows
from dropstream_sync.client import SyncReadClient
from dropstream_sync.planner.model import ChangeKind, FieldChange, Plan, TargetType
from dropstream_sync.report import build_report, render_html
from dropstream_sync.report.markdown import render_markdown
from dropstream_sync.report.model import Report, StoreRow
from dropstream_sync.report.text import expiry_text, invitation_text, status_text
from dropstream_sync.timestamps import utc_stamp
from tests.doctor.on_sandbox import Box
from tests.seeded import US

UK = "A1F83G8C2ARO7P"
SELLER = "A1SELLER"
MAIL = "ops@mail.example"
OLD = "old@mail.example"  # an address the merchant no longer uses
# The merchants: one with an email (invited by the plan), one without (authorizes in the
# DropStream UI), one not yet in DropStream.
MAILED, UNMAILED, NEW = "Mail Co", "No Mail Co", "New Co"
SETTINGS = {
    "fulfillment_channel": "MFN",
    "import_order_statuses": ["Unshipped", "PartiallyShipped"],
    "fulfillment_latency": None,
    "fulfillment_channel_code": "DEFAULT",
}
INVITES = frozenset({ChangeKind.INVITE, ChangeKind.REINVITE})
# The changes that put back live state: fields, channels, a store's or connection's switch.
DRIFT = frozenset(
    {
        ChangeKind.UPDATE_STORE,
        ChangeKind.UPDATE_CONNECTION,
        ChangeKind.UPDATE_CHANNEL,
        ChangeKind.ENABLE,
        ChangeKind.DISABLE,
    }
)
UNAUTHORIZED = frozenset({"missing", "expired", "revoked"})


@dataclass(frozen=True)
class Live:
    """A live store of the seed: its authorization, invitations and connection."""

    auth: str = "missing"  # missing | authorized | expired | revoked | lapsed (see _auth)
    expires_in: float | None = 200.0  # days, of an authorization given (None: no expiry)
    invitations: tuple[tuple[str, float], ...] = ()  # (email, days until it expires)
    connection: str | None = None  # its name; None: no connection
    connection_on: bool = True
    store_on: bool = True
    channels_on: bool = True
    latency: int | None = None  # fulfillment_latency live (the config has none)
    market: str = US
    name: str | None = None  # its name live, when not the config's


@dataclass(frozen=True)
class State:
    """A store name in one state: its live stores (seeded in order, the first with the
    lowest id; none: only in the config), its config entry, and the statuses the report
    gives its rows under no quirk (the config's store first, then the others of that name)."""

    statuses: tuple[str, ...]
    lives: tuple[Live, ...]
    market: str | None = "US"  # the config's marketplace code; None: not in the config
    extra: str = ""  # a further line of its config entry ({id}: its first live store's id)


def _s(statuses: str, *lives: Live, market: str | None = "US", extra: str = "") -> State:
    return State(tuple(statuses.split()), lives, market, extra)


def _on(connection: str, expires_in: float | None = 200.0, **more: Any) -> Live:
    """Authorized and connected (the connection named after the store), all of it on."""
    return Live("authorized", expires_in, connection=connection, **more)


# The name says the state.
MAILED_STORES: dict[str, State] = {
    "authorized": _s("authorized", _on("authorized")),
    "authorized, no expiry": _s("authorized", _on("authorized, no expiry", None)),
    "authorized, no connection": _s("authorized", Live("authorized")),
    # A renewal link sent early, by hand: nobody needs to do anything yet.
    "authorized, invited": _s("authorized", _on("authorized, invited", invitations=((MAIL, 5),))),
    "renewal due": _s("authorized", _on("renewal due", 10)),
    "renewal due, invited": _s(
        "authorized", _on("renewal due, invited", 10, invitations=((MAIL, 5),))
    ),
    "renewal due, invited at another address": _s(
        "authorized",
        _on("renewal due, invited at another address", 10, invitations=((OLD, 5),)),
    ),
    # The API still says authorized, but the 365 days are over.
    "lapsed, still authorized": _s(
        "expired", Live("lapsed", connection="lapsed, still authorized")
    ),
    "expired": _s("expired", Live("expired", -20)),
    "revoked": _s("revoked", Live("revoked", 100)),
    "never authorized": _s("missing", Live()),
    "invited": _s("pending", Live(invitations=((MAIL, 5),))),
    "invited, expired before": _s("pending", Live("expired", -20, ((MAIL, 5),))),
    "invited at another address": _s("missing", Live(invitations=((OLD, 5),))),
    "invitation lapsed": _s("missing", Live(invitations=((MAIL, -3),))),
    "invitations lapsed twice": _s("missing", Live(invitations=((MAIL, -30), (MAIL, -3)))),
    "switched off": _s("missing", Live(), extra="enabled: false"),
    "switched off, invited": _s("pending", Live(invitations=((MAIL, 5),)), extra="enabled: false"),
    "switched off, authorized": _s(
        "authorized", _on("switched off, authorized"), extra="enabled: false"
    ),
    "not created yet": _s("missing", market="UK"),
    "not in the config, authorized": _s("authorized", _on("x"), market=None),
    "not in the config, invited": _s("pending", Live(invitations=((MAIL, 5),)), market=None),
    # Two live stores of this name: the config's is the one in its marketplace (UK), the
    # other (US, the lower id) is not in the config.
    "in two marketplaces": _s(
        "missing authorized", _on("in two marketplaces"), Live(market=UK), market="UK"
    ),
    # Two live stores of this name in its marketplace: the plan keeps the first and
    # neutralizes the second.
    "duplicated": _s("missing missing", Live(latency=3), Live()),
    "connection off": _s("authorized", _on("connection off", connection_on=False)),
    "store off": _s("authorized", _on("store off", store_on=False)),
    "channels off": _s(
        "authorized", _on("channels off", channels_on=False), extra="channels: {sales_order: true}"
    ),
    # Pinned by id in the config, and renamed in DropStream since.
    "pinned, renamed": _s(
        "authorized", _on("pinned, renamed", name="pinned, old name"), extra="id: {id}"
    ),
    "connection renamed": _s("authorized", Live("authorized", connection="an old name")),
    "settings drifted": _s("authorized", _on("settings drifted", latency=3)),
    "settings drifted, never authorized": _s("missing", Live(latency=3)),
}
UNMAILED_STORES: dict[str, State] = {
    "authorized": _s("authorized", _on("authorized")),
    "renewal due": _s("authorized", _on("renewal due", 10)),
    "expired": _s("expired", Live("expired", -20)),
    "never authorized": _s("missing", Live()),
    "invited": _s("pending", Live(invitations=((MAIL, 5),))),
}
NEW_STORES: dict[str, State] = {"first store": _s("missing")}
MERCHANTS: dict[str, tuple[str | None, dict[str, State]]] = {
    MAILED: (MAIL, MAILED_STORES),
    UNMAILED: (None, UNMAILED_STORES),
    NEW: ("ops@new.example", NEW_STORES),
}


Key = tuple[str, str]  # (merchant, store name), as the plan's changes and pending items name it


def _at(now: datetime, days: float) -> str:
    return utc_stamp(now + timedelta(days=days))


def _auth(now: datetime, live: Live) -> dict[str, Any]:
    if live.auth == "missing":
        return {"status": "missing"}
    if live.auth == "lapsed":
        # Lapsed an hour ago, written at +14:00: the sandbox compares the stamp as text, so
        # it still answers `authorized`, as a DropStream that does not work the status out
        # on read would; the client reads the time it is.
        lapsed = (now - timedelta(hours=1)).astimezone(timezone(timedelta(hours=14)))
        return {
            "status": "authorized",
            "selling_partner_id": SELLER,
            "authorized_at": _at(now, -366),
            "expires_at": lapsed.strftime("%Y-%m-%dT%H:%M:%S+14:00"),
        }
    given = -165 if live.expires_in is None else live.expires_in - 365
    return {
        "status": live.auth,
        "selling_partner_id": SELLER,
        "authorized_at": _at(now, given),
        "expires_at": None if live.expires_in is None else _at(now, live.expires_in),
    }


def _seed(box: Box, now: datetime) -> None:
    doc: dict[str, list[dict[str, Any]]] = {
        kind: [] for kind in ("customers", "warehouses", "stores", "connections")
    }
    doc["authorization_requests"] = []
    on = _at(now, -100)
    for cid, (merchant, (_, states)) in enumerate(MERCHANTS.items(), 1):
        if merchant == NEW:
            continue  # not in DropStream yet
        doc["customers"].append({"id": cid, "company_name": merchant})
        doc["warehouses"].append(
            {"id": cid, "customer_id": cid, "description": f"{merchant} WH", "enabled_at": on}
        )
        for name, state in states.items():
            for live in state.lives:
                sid = len(doc["stores"]) + 1  # a fresh sandbox numbers them so (_ids)
                adapter: dict[str, Any] = {
                    "marketplace_id": live.market,
                    **SETTINGS,
                    "fulfillment_latency": live.latency,
                    "authorization": _auth(now, live),
                }
                doc["stores"].append(
                    {
                        "id": sid,
                        "customer_id": cid,
                        "name": live.name or name,
                        "enabled_at": on if live.connection and live.store_on else None,
                        "adapter": adapter,
                    }
                )
                if live.connection is not None:
                    channel_on = on if live.channels_on else None
                    doc["connections"].append(
                        {
                            "customer_id": cid,
                            "warehouse_id": cid,
                            "store_id": sid,
                            "name": live.connection,
                            "enabled_at": on if live.connection_on else None,
                            "channels": [
                                {"type": "sales_order", "enabled_at": channel_on},
                                {"type": "shipment", "enabled_at": channel_on},
                            ],
                        }
                    )
                doc["authorization_requests"] += [
                    {
                        "store_id": sid,
                        "email": email,
                        "created_at": _at(now, days - 7),
                        "expires_at": _at(now, days),
                    }
                    for email, days in live.invitations
                ]
    box.admin("POST", "/_sandbox/seed", doc)


def _ids() -> dict[Key, int]:
    """The id of each name's first live store: seeded in this order into a fresh sandbox,
    which numbers stores from 1."""
    ids: dict[Key, int] = {}
    seeded = 0
    for merchant, (_, states) in MERCHANTS.items():
        for name, state in states.items():
            if state.lives:
                ids[(merchant, name)] = seeded + 1
            seeded += len(state.lives)
    return ids


def _config(safety: str) -> str:
    ids = _ids()
    text = f"version: 1\nreauthorize_days: 30\n{safety}merchants:\n"
    for merchant, (email, states) in MERCHANTS.items():
        text += f"  - name: {merchant}\n" + (f"    email: {email}\n" if email else "")
        text += "    stores:\n"
        for name, state in states.items():
            if state.market is not None:
                text += f'      - name: "{name}"\n        marketplace: {state.market}\n'
                extra = state.extra.replace("{id}", str(ids.get((merchant, name))))
                text += f"        {extra}\n" if extra else ""
    return text


@dataclass(frozen=True)
class Read:
    quirk: str
    tight: bool  # the config's safety queues invites and blocks the plan
    plan: Plan
    report: Report

    def rows(self) -> dict[Key, StoreRow]:
        """The report's rows of the config's stores."""
        return {(m.name, s.name): s for m in self.report.merchants for s in m.stores if s.managed}

    def others(self) -> list[tuple[str, StoreRow]]:
        """Its rows of live stores the config does not list (a name may have several)."""
        return [(m.name, s) for m in self.report.merchants for s in m.stores if not s.managed]

    def changed(self, kinds: Iterable[ChangeKind]) -> set[Key]:
        wanted = set(kinds)
        return {(c.merchant, c.store) for c in self.plan.changes if c.kind in wanted and c.store}

    def pending(self, *kinds: str) -> set[Key]:
        return {(p.merchant, p.store) for p in self.plan.pending if not kinds or p.kind in kinds}

    def warned_no_invite(self, merchant: str, row: StoreRow) -> bool:
        """The plan warns that it invites nobody for this store (it could not tell its
        authorization or its invitation)."""
        named = f"store '{row.name}' (id {row.store_id}) of merchant '{merchant}'"
        return any(named in w and "no invite is planned" in w for w in self.plan.warnings)


# (quirk, safety block of the config): the quirk modes that change what a plan reads, and a
# config whose safety checks queue invites and block the plan.
TIGHT = "safety:\n  max_invites_per_run: 2\n  max_disable_percent: 1\n"
CASES = [
    pytest.param(("none", ""), id="as-modelled"),
    *(
        pytest.param((q, ""), id=q)
        for q in (
            "authorization-key",
            "adapter-settings",
            "request-status-case",
            "channel-keys",
            "no-authorization-requests",
            "no-expires-in",
        )
    ),
    pytest.param(("none", TIGHT), id="queued-and-blocked"),
    pytest.param(("request-status-case", TIGHT), id="request-status-case-queued-and-blocked"),
]


@pytest.fixture(scope="module", params=CASES)
def read(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Read:
    quirk, safety = request.param
    folder = tmp_path_factory.mktemp("agree")
    box = Box(folder / "sb")
    _seed(box, datetime.now(UTC).replace(microsecond=0))
    if quirk != "none":
        assert box.quirks(quirk) == [quirk]
    config = folder / "stores.yaml"
    config.write_text(_config(safety))
    with SyncReadClient(box.reader()) as client:
        made = workflows.make_plan_and_live(workflows.load_config([str(config)]), client)
    return Read(quirk, bool(safety), made.plan, build_report(made.plan, made.live, made.now))


def _expected(quirk: str) -> dict[Key, list[str]]:
    """The statuses of each name's rows under `quirk`."""
    expected: dict[Key, list[str]] = {}
    for merchant, (_, states) in MERCHANTS.items():
        for name, state in states.items():
            statuses = list(state.statuses)
            invited = any(days > 0 for live in state.lives for _, days in live.invitations)
            # Authorized, no renewal due: the plan and the report leave its invitation be.
            renewed_early = statuses == ["authorized"] and not name.startswith("renewal due")
            if quirk == "authorization-key" and state.lives:
                statuses = ["unknown"] * len(statuses)  # no authorization can be read
            elif quirk == "request-status-case" and invited and not renewed_early:
                # Its invitation reads "Pending": it may be waiting, or be the renewal link.
                statuses = ["unknown"]
            elif quirk == "no-authorization-requests" and invited:
                # No invitation can be read: the store is what its authorization says.
                statuses = [{"pending": "missing"}.get(s, s) for s in statuses]
                if name == "invited, expired before":
                    statuses = ["expired"]
            expected[(merchant, name)] = statuses
    return expected


def test_the_account_holds_every_state_it_names(read: Read) -> None:
    shown: dict[Key, list[str]] = {}
    for merchant, row in [*((k[0], r) for k, r in read.rows().items()), *read.others()]:
        shown.setdefault((merchant, row.name), []).append(row.status)
    assert shown == _expected(read.quirk)
    summary = read.report.summary()
    assert (summary["blocked"], summary["queued_invites"] > 0) == (read.tight, read.tight)


def test_a_store_the_plan_invites_is_one_the_report_says_needs_inviting(read: Read) -> None:
    rows = read.rows()
    for key in read.changed(INVITES):
        row = rows[key]
        assert row.problem, (key, row.status)
        assert row.status in UNAUTHORIZED or row.in_renewal_window, (key, row.status)
        if row.in_renewal_window:
            # The pages' words for a renewal the next apply sends.
            assert expiry_text(row, read.report.now).endswith(", renewal due"), key
    # An invitation still out there that the plan replaces (it went to another address):
    # the pages say so of exactly those stores, whether the invite is sent or queued.
    replaced = {
        key
        for key, row in rows.items()
        if invitation_text(row, read.report.now).endswith("the plan replaces it")
    }
    queued = {(p.merchant, p.store) for p in read.plan.pending if p.kind == "queued"}
    assert replaced <= read.changed(INVITES) | queued
    if read.quirk == "none":
        assert replaced == {(MAILED, "invited at another address")}


def test_a_store_the_report_says_needs_authorizing_is_taken_care_of_by_the_plan(
    read: Read,
) -> None:
    invited, pending = read.changed(INVITES), read.pending()
    for (merchant, store), row in read.rows().items():
        if not row.wanted or not (row.status in UNAUTHORIZED or row.in_renewal_window):
            continue
        key = (merchant, store)
        assert key in invited or key in pending or read.warned_no_invite(merchant, row), (
            key,
            row.status,
        )
        if row.in_renewal_window:
            # "Renewal due" is a renewal the next apply sends, or one the plan lists as
            # waiting (on the merchant, the UI or the invite budget): never one it only
            # warns it cannot send.
            assert key in invited or key in pending, (key, status_text(row))
        if key in pending and merchant == UNMAILED:
            kinds = {p.kind for p in read.plan.pending if (p.merchant, p.store) == key}
            assert "needs_ui_authorization" in kinds, (key, kinds)


def test_a_pending_or_unknown_store_gets_no_invite(read: Read) -> None:
    invited = read.changed(INVITES)
    waiting = read.pending("awaiting_merchant", "needs_ui_authorization")
    for key, row in read.rows().items():
        if row.status == "pending":
            assert key not in invited, (key, status_text(row))
            if row.wanted:
                # Waiting on the merchant: for the link, or (no email) in the UI.
                assert key in waiting, (key, status_text(row))
        if row.status == "unknown":
            assert key not in invited, (key, status_text(row))
            if row.wanted:
                assert read.warned_no_invite(key[0], row), (key, status_text(row))


def test_the_drift_is_the_fields_the_plan_puts_back(read: Read) -> None:
    planned: dict[tuple[str, str], list[tuple[str, Any, Any]]] = {}
    for c in read.plan.changes:
        if c.kind in DRIFT and c.store:
            prefix = "connection." if c.target.type == TargetType.CONNECTION else ""
            planned.setdefault((c.merchant, c.store), []).extend(
                (prefix + f.path, f.before, f.after) for f in c.fields
            )
    rows = read.rows()
    shown = {
        key: [(d.path, d.before, d.after) for d in row.drift]
        for key, row in rows.items()
        if row.drift
    }
    # The plan updates only the stores of the config: a live store it does not list (a
    # duplicate it neutralizes, a namesake in another marketplace) has no drift.
    assert [(m, row.name, row.store_id) for m, row in read.others() if row.drift] == []
    assert {k: sorted(v, key=str) for k, v in shown.items()} == {
        k: sorted(v, key=str) for k, v in planned.items()
    }
    if read.quirk == "none":
        assert set(shown) == {
            # a channel, a connection or the store switched off in DropStream, and a store
            # the config switches off still on: each one the next apply puts back
            (MAILED, "channels off"),
            (MAILED, "connection off"),
            (MAILED, "store off"),
            (MAILED, "switched off, authorized"),
            (MAILED, "connection renamed"),
            (MAILED, "duplicated"),
            (MAILED, "pinned, renamed"),
            (MAILED, "settings drifted"),
            (MAILED, "settings drifted, never authorized"),
        }
        # What the drift issue shows: the channel that takes no orders, live then config.
        assert rows[(MAILED, "channels off")].drift == (
            FieldChange("connection.channels.sales_order", False, True),
        )
        line = next(
            ln for ln in render_markdown(read.report).splitlines() if "| channels off |" in ln
        )
        assert "connection.channels.sales\\_order: live false, config true" in line


def test_findings_are_the_stores_the_plan_acts_on_or_leaves_to_someone(read: Read) -> None:
    """docs/report-format.md: `findings` counts the stores drifted, or wanted and not
    authorized or due for renewal, plus 1 for a blocked plan. Seen from the plan: the
    stores it invites, reinvites or updates, those it has a pending item for, and those it
    warns it invites nobody for."""
    rows = read.rows()
    acted = read.changed(INVITES | DRIFT) | read.pending()
    acted |= {key for key, row in rows.items() if read.warned_no_invite(key[0], row)}
    needing = {key for key, row in rows.items() if row.problem}
    assert needing == acted
    blocked = bool(read.plan.blocked_reasons)
    assert read.report.findings == len(acted) + blocked
    assert read.report.summary()["blocked"] == blocked


# Why the plan holds back a renewal, in the words the HTML page's timeline gives for it.
HELD_BECAUSE = {
    "awaiting_merchant": "an invitation is already waiting",
    "needs_ui_authorization": "the merchant has no email in the config",
    "queued": "max_invites_per_run holds it back",
    "send_from_ui": "the API has no invite endpoint",
}


def test_the_timeline_says_why_a_renewal_due_is_not_sent(read: Read) -> None:
    """The page says the next apply sends the renewals inside the band: where the plan
    lists one as pending instead, the page names that reason too."""
    page = render_html(read.report)
    due = {key for key, row in read.rows().items() if row.in_renewal_window}
    assert due <= read.changed({ChangeKind.REINVITE}) | read.pending()
    held = {p.kind for p in read.plan.pending if (p.merchant, p.store) in due}
    assert held or not due, "the account has renewals the plan holds back"
    for kind in held:
        assert HELD_BECAUSE[kind] in page, kind


def test_an_invitation_the_plan_cancels_is_marked_so_in_every_table(read: Read) -> None:
    # "switched off, invited" (enabled: false): the invitation is still waiting, so the
    # report lists it, but the next apply cancels it; the pages said only "pending", and a
    # 3PL working down "Pending invitations" chased a merchant for a link about to go.
    canceled = {
        c.target.id: c.fields[0].after
        for c in read.plan.changes
        if c.kind == ChangeKind.CANCEL_INVITE and c.target.id is not None
    }
    marked = {
        i.request_id
        for m in read.report.merchants
        for row in m.stores
        if (i := row.invitation) is not None and i.canceled_by_plan is not None
    }
    assert marked == set(canceled)
    if read.quirk == "none":
        row = read.rows()[(MAILED, "switched off, invited")]
        assert row.invitation is not None and row.invitation.request_id in canceled
        said = "the next apply cancels it (enabled: false: no authorization wanted)"
        assert said in invitation_text(row, read.report.now)
        table = [ln for ln in render_markdown(read.report).splitlines() if said in ln]
        # Its line among the pending invitations (the Markdown lists only the stores that
        # need someone, and a store switched off needs nobody).
        assert len(table) == 1 and table[0].startswith(f"| {MAILED} | switched off, invited |")
        assert said in render_html(read.report)
