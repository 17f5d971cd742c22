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
from dropstream_sync.planner.model import ChangeKind, Plan
from dropstream_sync.report import build_report
from dropstream_sync.report.model import Report, StoreRow
from dropstream_sync.report.text import expiry_text, invitation_text, status_text
from dropstream_sync.timestamps import utc_stamp
from tests.doctor.on_sandbox import Box
from tests.seeded import US

UK = "A1F83G8C2ARO7P"
SELLER = "A1SELLER"
MAIL = "ops@mail.example"
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
DRIFT = frozenset({ChangeKind.UPDATE_STORE, ChangeKind.UPDATE_CONNECTION})
UNAUTHORIZED = frozenset({"missing", "expired", "revoked"})


@dataclass(frozen=True)
class Live:
    """A live store of the seed: its authorization, invitations and connection."""

    auth: str = "missing"  # missing | authorized | expired | revoked | lapsed (see _auth)
    expires_in: float = 200.0  # days, of an authorization given
    invitations: tuple[tuple[str, float], ...] = ()  # (email, days until it expires)
    connection: str | None = None  # its name; None: no connection
    connection_on: bool = True
    store_on: bool = True
    channels_on: bool = True
    latency: int | None = None  # fulfillment_latency live (the config has none)


# store name -> (its live state, or None: in the config only; its config line, or None:
# not in the config). The name says the state.
MAILED_STORES: dict[str, tuple[Live | None, str | None]] = {
    "authorized": (Live("authorized", connection="authorized"), ""),
    "authorized, no connection": (Live("authorized"), ""),
    "renewal due": (Live("authorized", 10, connection="renewal due"), ""),
    "renewal due, invited": (
        Live("authorized", 10, ((MAIL, 5),), connection="renewal due, invited"),
        "",
    ),
    # The API still says authorized, but the 365 days are over.
    "lapsed, still authorized": (Live("lapsed", connection="lapsed, still authorized"), ""),
    "expired": (Live("expired", -20), ""),
    "revoked": (Live("revoked", 100), ""),
    "never authorized": (Live(), ""),
    "invited": (Live(invitations=((MAIL, 5),)), ""),
    "invited, expired before": (Live("expired", -20, ((MAIL, 5),)), ""),
    "invited at another address": (Live(invitations=(("old@mail.example", 5),)), ""),
    "invitation lapsed": (Live(invitations=((MAIL, -3),)), ""),
    "invitations lapsed twice": (Live(invitations=((MAIL, -30), (MAIL, -3))), ""),
    "switched off": (Live(), "enabled: false"),
    "switched off, invited": (Live(invitations=((MAIL, 5),)), "enabled: false"),
    "switched off, authorized": (
        Live("authorized", connection="switched off, authorized"),
        "enabled: false",
    ),
    "not created yet": (None, ""),
    "not in the config, authorized": (Live("authorized", connection="x"), None),
    "not in the config, invited": (Live(invitations=((MAIL, 5),)), None),
    "connection off": (Live("authorized", connection="connection off", connection_on=False), ""),
    "store off": (Live("authorized", connection="store off", store_on=False), ""),
    "channels off": (
        Live("authorized", connection="channels off", channels_on=False),
        "channels: {sales_order: true}",
    ),
    "connection renamed": (Live("authorized", connection="an old name"), ""),
    "settings drifted": (Live("authorized", connection="settings drifted", latency=3), ""),
    "settings drifted, never authorized": (Live(latency=3), ""),
}
UNMAILED_STORES: dict[str, tuple[Live | None, str | None]] = {
    "authorized": (Live("authorized", connection="authorized"), ""),
    "renewal due": (Live("authorized", 10, connection="renewal due"), ""),
    "expired": (Live("expired", -20), ""),
    "never authorized": (Live(), ""),
    "invited": (Live(invitations=((MAIL, 5),)), ""),
}
# Under no quirk: the status the report gives each store (the seed is the state it names).
STATUS = {
    (MAILED, "authorized"): "authorized",
    (MAILED, "authorized, no connection"): "authorized",
    (MAILED, "renewal due"): "authorized",
    (MAILED, "renewal due, invited"): "authorized",
    (MAILED, "lapsed, still authorized"): "expired",
    (MAILED, "expired"): "expired",
    (MAILED, "revoked"): "revoked",
    (MAILED, "never authorized"): "missing",
    (MAILED, "invited"): "pending",
    (MAILED, "invited, expired before"): "pending",
    (MAILED, "invited at another address"): "missing",
    (MAILED, "invitation lapsed"): "missing",
    (MAILED, "invitations lapsed twice"): "missing",
    (MAILED, "switched off"): "missing",
    (MAILED, "switched off, invited"): "pending",
    (MAILED, "switched off, authorized"): "authorized",
    (MAILED, "not created yet"): "missing",
    (MAILED, "not in the config, authorized"): "authorized",
    (MAILED, "not in the config, invited"): "pending",
    (MAILED, "connection off"): "authorized",
    (MAILED, "store off"): "authorized",
    (MAILED, "channels off"): "authorized",
    (MAILED, "connection renamed"): "authorized",
    (MAILED, "settings drifted"): "authorized",
    (MAILED, "settings drifted, never authorized"): "missing",
    (UNMAILED, "authorized"): "authorized",
    (UNMAILED, "renewal due"): "authorized",
    (UNMAILED, "expired"): "expired",
    (UNMAILED, "never authorized"): "missing",
    (UNMAILED, "invited"): "pending",
    (NEW, "first store"): "missing",
}


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
    return {
        "status": live.auth,
        "selling_partner_id": SELLER,
        "authorized_at": _at(now, live.expires_in - 365),
        "expires_at": _at(now, live.expires_in),
    }


def _seed(box: Box, now: datetime) -> None:
    doc: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("customers", "warehouses", "stores", "connections")
    }
    doc["authorization_requests"] = []
    on = _at(now, -100)
    for cid, (merchant, stores) in enumerate(
        ((MAILED, MAILED_STORES), (UNMAILED, UNMAILED_STORES)), 1
    ):
        doc["customers"].append({"id": cid, "company_name": merchant})
        doc["warehouses"].append(
            {"id": cid, "customer_id": cid, "description": f"{merchant} WH", "enabled_at": on}
        )
        for name, (live, _) in stores.items():
            if live is None:
                continue
            sid = len(doc["stores"]) + 1
            doc["stores"].append(
                {
                    "id": sid,
                    "customer_id": cid,
                    "name": name,
                    "enabled_at": on if live.connection and live.store_on else None,
                    "adapter": {
                        "marketplace_id": US,
                        **SETTINGS,
                        "fulfillment_latency": live.latency,
                        "authorization": _auth(now, live),
                    },
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
            for email, days in live.invitations:
                doc["authorization_requests"].append(
                    {
                        "store_id": sid,
                        "email": email,
                        "created_at": _at(now, days - 7),
                        "expires_at": _at(now, days),
                    }
                )
    box.admin("POST", "/_sandbox/seed", doc)


def _config(safety: str) -> str:
    def stores(listed: dict[str, tuple[Live | None, str | None]]) -> str:
        lines = []
        for name, (live, extra) in listed.items():
            if extra is None:
                continue
            lines.append(
                f'      - name: "{name}"\n        marketplace: {"UK" if live is None else "US"}\n'
            )
            if extra:
                lines.append(f"        {extra}\n")
        return "".join(lines)

    return (
        f"version: 1\nreauthorize_days: 30\n{safety}merchants:\n"
        f"  - name: {MAILED}\n    email: {MAIL}\n    stores:\n{stores(MAILED_STORES)}"
        f"  - name: {UNMAILED}\n    stores:\n{stores(UNMAILED_STORES)}"
        f"  - name: {NEW}\n    email: ops@new.example\n    stores:\n"
        '      - name: "first store"\n        marketplace: US\n'
    )


@dataclass(frozen=True)
class Read:
    quirk: str
    plan: Plan
    report: Report

    def rows(self) -> dict[tuple[str, str], StoreRow]:
        return {(m.name, s.name): s for m in self.report.merchants for s in m.stores}

    def changed(self, kinds: Iterable[ChangeKind]) -> set[tuple[str, str]]:
        wanted = set(kinds)
        return {(c.merchant, c.store) for c in self.plan.changes if c.kind in wanted and c.store}

    def pending(self) -> set[tuple[str, str]]:
        return {(p.merchant, p.store) for p in self.plan.pending}

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
    return Read(quirk, made.plan, build_report(made.plan, made.live, made.now))


def test_the_account_holds_every_state_it_names(read: Read) -> None:
    statuses = {key: row.status for key, row in read.rows().items()}
    assert statuses.keys() == STATUS.keys()
    if read.quirk == "none":
        assert statuses == STATUS
    # Each way the plan has of dealing with a store is exercised somewhere.
    if read.plan.blocked_reasons:
        assert read.report.summary()["queued_invites"] > 0


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
    for (merchant, store), row in read.rows().items():
        if row.status == "pending":
            assert (merchant, store) not in invited, (merchant, store, status_text(row))
        if row.status == "unknown":
            assert (merchant, store) not in invited, (merchant, store, status_text(row))
            if row.wanted:
                assert read.warned_no_invite(merchant, row), (merchant, store)


def test_the_drift_is_the_fields_the_plan_puts_back(read: Read) -> None:
    planned: dict[tuple[str, str], list[tuple[str, Any, Any]]] = {}
    for c in read.plan.changes:
        if c.kind in DRIFT and c.store:
            prefix = "connection." if c.kind == ChangeKind.UPDATE_CONNECTION else ""
            planned.setdefault((c.merchant, c.store), []).extend(
                (prefix + f.path, f.before, f.after) for f in c.fields
            )
    shown = {
        key: [(d.path, d.before, d.after) for d in row.drift]
        for key, row in read.rows().items()
        if row.drift
    }
    assert {k: sorted(v, key=str) for k, v in shown.items()} == {
        k: sorted(v, key=str) for k, v in planned.items()
    }
    if read.quirk == "none":
        assert set(shown) == {
            (MAILED, "connection renamed"),
            (MAILED, "settings drifted"),
            (MAILED, "settings drifted, never authorized"),
        }


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
