"""Convergence in ONE apply: what a plan says is everything the account needs.

test_properties.py allows several rounds (queued invites go out over runs) and draws live
marketplaces independently of the config, so most of its examples end in a PlanError. Here
live stores share the config's marketplace and the invite budget is unlimited, so nearly every
example plans, and a single in-memory apply (then the merchant approving every invite, then
one more apply) must leave nothing to do.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropstream_sync.desired import DesiredMerchant, DesiredState, DesiredStore, Safety
from dropstream_sync.errors import PlanError
from dropstream_sync.live import (
    Authorization,
    Connection,
    Customer,
    LiveState,
    Store,
    Warehouse,
)
from dropstream_sync.planner import plan
from tests.planner.scenario import AUTHORIZED, NOW, account, live_store, merchant, state, store
from tests.planner.simulator import apply_in_memory
from tests.planner.test_properties import (
    drawn_authorization,
    drawn_connection,
    drawn_request,
    settings_st,
)

NAMES = ["A", "B", "C"]
STORES = ["s1", "s2", "s3", "s4"]
MARKET_IDS = {"US": "ATVPDKIKX0DER", "CA": "A2EUQ1WTGCTBG2"}
STATUSES = ["missing", "authorized", "expired", "revoked"]


@st.composite
def accounts(draw: st.DrawFn) -> tuple[DesiredState, LiveState]:
    """A config and a live account that overlap: same merchants, same store names, same
    marketplace per store name, anything else drawn freely."""
    market = {name: draw(st.sampled_from(sorted(MARKET_IDS))) for name in STORES}
    merchants = []
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3)):
        stores = tuple(
            DesiredStore(name, s, market[s], draw(settings_st), enabled=draw(st.booleans()))
            for s in draw(st.lists(st.sampled_from(STORES), unique=True, max_size=4))
        )
        email = draw(st.none() | st.sampled_from([f"{name}@x.example", "z@x.example"]))
        merchants.append(DesiredMerchant(name, email, prune=draw(st.booleans()), stores=stores))
    desired = DesiredState(tuple(merchants), Safety(max_invites_per_run=10_000))

    customers = [
        Customer(i + 1, n)
        for i, n in enumerate(draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3)))
    ]
    stores_, connections, requests = [], [], []
    sid = 100
    for c in customers:
        for name in draw(st.lists(st.sampled_from(STORES), unique=True, max_size=4)):
            sid += 1
            status = draw(st.sampled_from(STATUSES))
            auth = drawn_authorization(draw, status)
            stores_.append(
                Store(
                    sid,
                    c.id,
                    name,
                    marketplace_id=MARKET_IDS[market[name]],
                    authorization=auth,
                    enabled_at=NOW if draw(st.booleans()) else None,
                    fulfillment_latency=draw(st.none() | st.integers(1, 30)),
                )
            )
            if status == "authorized" and draw(st.booleans()):
                connections.append(drawn_connection(draw, sid, c.id, name))
            if status != "authorized" and draw(st.booleans()):
                requests.append(drawn_request(draw, sid, c.id))
    warehouses = tuple(Warehouse(c.id, c.id, f"{c.company_name} Warehouse") for c in customers)
    live = LiveState(
        tuple(customers), warehouses, tuple(stores_), tuple(connections), tuple(requests)
    )
    return desired, live


def merchant_approves_every_invite(live: LiveState) -> LiveState:
    asked = {r.store_id for r in live.authorization_requests}
    granted = Authorization("authorized", "A1SELLER", NOW, NOW + timedelta(days=365))
    stores = tuple(replace(s, authorization=granted) if s.id in asked else s for s in live.stores)
    return replace(live, stores=stores, authorization_requests=())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts())
def test_one_apply_leaves_nothing_to_change(case: tuple[DesiredState, LiveState]) -> None:
    desired, live = case
    try:
        first = plan(desired, live, now=NOW)
    except PlanError:
        return
    after = plan(desired, apply_in_memory(first, live, NOW), now=NOW)
    assert after.changes == (), [(c.kind, c.merchant, c.store) for c in after.changes]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts())
def test_apply_then_approval_then_apply_leaves_only_ui_authorizations(
    case: tuple[DesiredState, LiveState],
) -> None:
    desired, live = case
    try:
        current = plan(desired, live, now=NOW)
    except PlanError:
        return
    live = merchant_approves_every_invite(apply_in_memory(current, live, NOW))
    live = apply_in_memory(plan(desired, live, now=NOW), live, NOW)
    final = plan(desired, live, now=NOW)
    assert final.changes == (), [(c.kind, c.merchant, c.store) for c in final.changes]
    assert {p.kind for p in final.pending} <= {"needs_ui_authorization"}


def test_enabled_false_on_authorized_store_without_connection_switches_the_store_off_too() -> None:
    desired = state(merchant("Acme", store("Acme", "Acme US", enabled=False)))
    live = account(live_store(10, "Acme US", authorization=AUTHORIZED, enabled_at=NOW))

    first = plan(desired, live, now=NOW)

    assert [c.kind for c in first.changes] == ["create_connection", "disable"]
    assert first.changes[0].detail.to_dict()["enable"] is False
    assert plan(desired, apply_in_memory(first, live, NOW), now=NOW).changes == ()


def test_misspelt_warehouse_is_a_plan_error_before_the_store_is_authorized() -> None:
    desired = state(merchant("Acme", store("Acme", "Acme US", warehouse="Acme Warehuose")))
    live = account(live_store(10, "Acme US"))

    try:
        plan(desired, live, now=NOW)
    except PlanError as exc:
        assert "warehouse 'Acme Warehuose' of merchant 'Acme' does not exist" in str(exc)
        assert "'Acme Warehouse'" in str(exc), "the message names the warehouses that exist"
    else:
        raise AssertionError("a misspelt warehouse must stop the plan")


def test_misspelt_warehouse_of_a_connected_store_is_reported_once() -> None:
    desired = state(merchant("Acme", store("Acme", "Acme US", warehouse="Acme Warehuose")))
    live = account(
        live_store(10, "Acme US", authorization=AUTHORIZED, enabled_at=NOW),
        connections=(Connection(5, 1, 10, 1, "Acme US", NOW),),
    )

    try:
        plan(desired, live, now=NOW)
    except PlanError as exc:
        assert len(exc.messages) == 1, exc.messages
    else:
        raise AssertionError("a misspelt warehouse must stop the plan")
