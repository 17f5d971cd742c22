"""Properties over generated desired and live states: plan never crashes, and applying
its changes (in memory) converges to a state that plans no changes."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dropstream_sync import catalog
from dropstream_sync.desired import (
    DesiredMerchant,
    DesiredState,
    DesiredStore,
    Safety,
    StoreSettings,
)
from dropstream_sync.errors import PlanError
from dropstream_sync.live import (
    Authorization,
    AuthorizationRequest,
    Connection,
    Customer,
    LiveState,
    Store,
    Warehouse,
)
from dropstream_sync.planner import plan
from tests.planner.scenario import NOW
from tests.planner.simulator import apply_in_memory

NAMES = ["A", "B", "C"]
STORES = ["s1", "s2", "s3", "s4"]
MARKETS = ["US", "CA", "UK", "JP"]
settings_st = st.builds(
    StoreSettings,
    fulfillment_channel=st.sampled_from(["MFN", "AFN"]),
    import_order_statuses=st.frozensets(
        st.sampled_from(catalog.ORDER_STATUSES), min_size=1, max_size=3
    ),
    fulfillment_latency=st.none() | st.integers(1, 30),
    fulfillment_channel_code=st.sampled_from(["DEFAULT", "LOC-1"]),
)


@st.composite
def desired_states(draw: st.DrawFn) -> DesiredState:
    merchants = []
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3)):
        stores = tuple(
            DesiredStore(
                name,
                s,
                draw(st.sampled_from(MARKETS)),
                draw(settings_st),
                enabled=draw(st.booleans()),
            )
            for s in draw(st.lists(st.sampled_from(STORES), unique=True, max_size=4))
        )
        merchants.append(
            DesiredMerchant(
                name,
                draw(st.none() | st.just(f"{name}@x.example")),
                prune=draw(st.booleans()),
                stores=stores,
                reauthorize_days=draw(st.integers(0, 60)),
            )
        )
    return DesiredState(tuple(merchants), Safety(max_invites_per_run=draw(st.integers(0, 3))))


# The parts of a drawn live account both property suites share (test_convergence too).


def drawn_authorization(draw: st.DrawFn, status: str) -> Authorization:
    return Authorization(
        status,
        None,
        NOW - timedelta(days=5),
        NOW + timedelta(days=draw(st.integers(1, 360))),
    )


def drawn_connection(draw: st.DrawFn, store_id: int, customer_id: int, name: str) -> Connection:
    """A connection of the store to its customer's warehouse, named as the store or not."""
    return Connection(
        store_id + 1000,
        customer_id,
        store_id,
        customer_id,
        draw(st.sampled_from([name, "other"])),
        NOW if draw(st.booleans()) else None,
    )


def drawn_request(draw: st.DrawFn, store_id: int, customer_id: int) -> AuthorizationRequest:
    """A pending request for the store, sent up to ten days ago (so maybe expired)."""
    age = draw(st.integers(0, 10))
    return AuthorizationRequest(
        store_id + 2000,
        store_id,
        customer_id,
        draw(st.sampled_from(["A@x.example", "z@x.example"])),
        "pending",
        NOW - timedelta(days=age),
        NOW - timedelta(days=age - 7),
    )


@st.composite
def live_states(draw: st.DrawFn) -> LiveState:
    customers = [
        Customer(i + 1, n)
        for i, n in enumerate(draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3)))
    ]
    warehouses = [Warehouse(c.id, c.id, f"{c.company_name} Warehouse") for c in customers]
    stores, connections, requests = [], [], []
    sid = 100
    for c in customers:
        for name in draw(st.lists(st.sampled_from(STORES), unique=True, max_size=4)):
            sid += 1
            status = draw(st.sampled_from(["missing", "authorized", "expired", "revoked"]))
            auth = drawn_authorization(draw, status)
            on = NOW if draw(st.booleans()) else None
            code = draw(st.sampled_from(MARKETS))
            stores.append(
                Store(
                    sid,
                    c.id,
                    name,
                    marketplace_id=catalog.BY_CODE[code].marketplace_id,
                    authorization=auth,
                    enabled_at=on,
                    fulfillment_latency=draw(st.none() | st.integers(1, 30)),
                )
            )
            if status == "authorized" and draw(st.booleans()):
                connections.append(drawn_connection(draw, sid, c.id, name))
            # On an authorized store a pending request is a renewal the merchant has not
            # answered yet.
            if draw(st.booleans()):
                requests.append(drawn_request(draw, sid, c.id))
    return LiveState(
        tuple(customers), tuple(warehouses), tuple(stores), tuple(connections), tuple(requests)
    )


@settings(max_examples=300, deadline=None)
@given(desired=desired_states(), live=live_states())
def test_plan_never_raises_anything_but_plan_error(desired: DesiredState, live: LiveState) -> None:
    try:
        plan(desired, live, now=NOW)
    except PlanError as exc:
        assert exc.messages


@settings(max_examples=300, deadline=None)
@given(desired=desired_states(), live=live_states())
def test_applying_a_plan_converges_to_no_changes(desired: DesiredState, live: LiveState) -> None:
    try:
        current = plan(desired, live, now=NOW)
    except PlanError:
        return
    state = live
    # Queued invites go out over later runs; everything else converges in one.
    for _ in range(len(STORES) * len(NAMES) + 2):
        if not current.changes:
            break
        state = apply_in_memory(current, state, NOW)
        current = plan(desired, state, now=NOW)
    assert current.changes == (), [c.kind for c in current.changes]
