"""The report as data: what build_report(plan, live, now) says about a known account."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from dropstream_sync.report import build_report, render_json
from dropstream_sync.report.model import Report, StoreRow
from tests.report.report_cases import EVIL, NOW, account, report

ROOT = Path(__file__).resolve().parents[2]


def store(r: Report, name: str) -> StoreRow:
    return next(s for s in r.stores if s.name == name)


def test_summary_counts_each_authorization_state_and_the_drift() -> None:
    s = report().summary()
    assert (s["merchants"], s["stores"]) == (2, 8)
    # authorized: US, CA; expired: UK; revoked: DE; pending: EVIL, Fish IT;
    # missing: MX (not created) and Fish ES (live, not in the config)
    assert {k: s[k] for k in ("authorized", "pending", "missing", "expired", "revoked")} == {
        "authorized": 2,
        "pending": 2,
        "missing": 2,
        "expired": 1,
        "revoked": 1,
    }
    assert s["connections_billed"] == 3 and s["drift"] == 1 and s["renewals_due"] == 1
    assert s["already_expired"] == 1 and not s["blocked"]


def test_each_store_says_its_expiry_seller_invitation_connection_channels_and_drift() -> None:
    r = report()
    us = store(r, "Acme US")
    assert (us.status, us.days_to_expiry, us.in_renewal_window, us.seller_id) == (
        "authorized",
        10,
        True,
        "A1SELLER",
    )
    assert [(d.path, d.before, d.after) for d in us.drift] == [("fulfillment_latency", 4, 2)]
    assert [
        (c.id, c.enabled, [(ch.type, ch.enabled) for ch in c.channels]) for c in us.connections
    ] == [(111, True, [("sales_order", True), ("shipment", False)])]
    ca = store(r, "Acme CA")
    assert (ca.days_to_expiry, ca.in_renewal_window, ca.problem) == (200, False, False)
    assert store(r, "Acme UK").status == "expired" and store(r, "Acme UK").days_to_expiry == -3
    evil = store(r, EVIL)
    assert evil.status == "pending" and evil.invitation is not None
    assert (evil.invitation.age_days, evil.invitation.expires_in_days) == (9, 21)
    mx = store(r, "Acme MX")
    assert (mx.store_id, mx.status, mx.problem) == (None, "missing", True)
    es = store(r, "Fish ES")
    assert (es.managed, es.wanted, es.problem) == (False, False, False)


def test_the_timeline_puts_each_expiry_in_its_week_and_marks_the_renewal_window() -> None:
    r = report()
    assert len(r.timeline) == 53
    lapsing = {w.index: w.lapsing for w in r.timeline if w.lapsing}
    assert lapsing == {1: 1, 28: 1}  # 10 days -> week 1 (from 0), 200 days -> week 28
    assert [w.index for w in r.timeline if w.in_window] == [0, 1, 2, 3, 4]  # 30 days
    assert r.timeline[1].start == NOW + timedelta(days=7)


def test_pending_invitations_are_sorted_oldest_first() -> None:
    assert [(i.store, i.age_days) for i in report().invitations] == [(EVIL, 9), ("Fish IT", 2)]


def test_a_merchant_whose_invitations_expired_twice_is_named_once_is_not() -> None:
    repeated = report().repeated_expiries
    assert [(r.merchant, r.expired, r.stores) for r in repeated] == [
        ("Fish & <b>Chips</b>", 2, ((EVIL, 2),))
    ]


def test_a_clean_account_has_no_findings() -> None:
    r = report()
    assert r.findings == sum(1 for s in r.stores if s.problem) == 6
    desired, live, _ = account()
    from dropstream_sync.planner import plan

    only_ca = type(desired)(
        merchants=(
            type(desired.merchants[0])(
                "Acme", email="x@example.com", stores=(desired.merchants[0].stores[1],), prune=False
            ),
        )
    )
    p = plan(only_ca, live, now=NOW)
    clean = build_report(p, live, NOW)
    # Acme's other live stores are not in this config: reported, not findings.
    assert clean.findings == 0 and clean.summary()["stores"] == 4


def test_json_is_versioned_and_every_key_is_documented() -> None:
    doc = json.loads(render_json(report()))
    assert doc["format_version"] == "1" and doc["kind"] == "report"
    spec = (ROOT / "docs" / "report-format.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", spec))
    keys = set(doc) | set(doc["summary"]) | set(doc["timeline"][0])
    keys |= set(doc["merchants"][0]) | set(doc["merchants"][0]["stores"][0])
    keys |= set(doc["pending_invitations"][0]) | set(doc["repeated_expiries"][0])
    keys |= set(doc["merchants"][0]["stores"][0]["connections"][0])
    assert keys - documented == set()


def test_the_same_inputs_give_the_same_report_and_digest() -> None:
    assert render_json(report()) == render_json(report())
    assert report().findings_digest() == report().findings_digest()


def test_look_alike_live_names_are_the_stores_the_planner_matched() -> None:
    """A customer and a store spelt with a combining accent and a stray space live, and
    precomposed in the config, are one merchant and one store to the planner (live.name_key):
    the report shows that live store, authorized, not a missing store beside an unlisted one."""
    from dropstream_sync.desired import DesiredMerchant, DesiredState, DesiredStore
    from dropstream_sync.live import Customer, LiveState, Store, Warehouse
    from dropstream_sync.planner import plan
    from tests.report.report_cases import authorized, market

    desired = DesiredState(
        merchants=(
            DesiredMerchant(
                "Café", stores=(DesiredStore("Café", "Café FR", "FR"),), email="c@example.com"
            ),
        )
    )
    live = LiveState(
        customers=(Customer(7, "Cafe\u0301 "),),
        warehouses=(Warehouse(1, 7, "WH"),),
        stores=(
            Store(
                70, 7, "Cafe\u0301 FR", marketplace_id=market("FR"), authorization=authorized(200)
            ),
        ),
    )
    r = build_report(plan(desired, live, now=NOW), live, NOW)
    (row,) = r.stores
    assert (row.name, row.store_id, row.managed, row.status) == ("Café FR", 70, True, "authorized")
    assert r.merchants[0].exists
