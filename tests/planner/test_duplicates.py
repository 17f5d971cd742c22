"""Duplicates of a desired customer or store (a concurrent apply, or by hand) are not a dead
end: the plan keeps the lowest id and proposes `neutralize_duplicate` for the others."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from dropstream_sync.errors import PlanError, PlanFileError
from dropstream_sync.live import Customer, LiveState
from dropstream_sync.planner import Plan, plan
from dropstream_sync.planner.details import NAME_LIMIT, neutralized_name
from dropstream_sync.planner.model import ChangeKind, NeutralizeDuplicate
from dropstream_sync.render import render_markdown, render_text
from tests.planner.scenario import (
    AUTHORIZED,
    NOW,
    account,
    connected,
    live_store,
    merchant,
    request,
    state,
    store,
)
from tests.planner.simulator import apply_in_memory

K = ChangeKind


def run(desired: Any, live: LiveState, **kw: Any) -> Plan:
    return plan(desired, live, now=NOW, **kw)


def neutralizations(p: Plan) -> list[NeutralizeDuplicate]:
    return [c.detail_as(NeutralizeDuplicate) for c in p.changes if c.kind == K.NEUTRALIZE_DUPLICATE]


def test_a_duplicate_store_is_neutralized_and_the_lowest_id_is_planned_against() -> None:
    live = account(
        live_store(1, "Acme US", fulfillment_latency=5),
        live_store(2, "Acme US", enabled_at=NOW),
        requests=(request(60, 2),),
    )
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    [n] = neutralizations(p)
    assert (n.object_type, n.object_id, n.kept_id) == ("store", 2, 1)
    assert n.new_name == "Acme US [duplicate of 1, neutralized by dropstream-sync]"
    assert n.store_ids == (2,) and n.request_ids == (60,)  # switched off, its invite canceled
    # The rest of the plan is about store 1: its setting is updated, and it is invited.
    update = next(c for c in p.changes if c.kind == K.UPDATE_STORE)
    assert update.target.id == 1
    invite = next(c for c in p.changes if c.kind == K.INVITE)
    assert invite.target.id == 1
    assert 'neutralize duplicate store 2 of "Acme US" (keeps store 1' in render_text(p)
    assert "`neutralize_duplicate` | 1" in render_markdown(p)


def test_a_duplicate_customer_is_neutralized_with_its_stores_and_invites() -> None:
    customers = (Customer(1, "Acme"), Customer(2, "Acme"))
    live = account(
        live_store(5, "Acme US", customer=2, enabled_at=NOW),
        live_store(6, "Acme CA", customer=2),
        requests=(replace(request(61, 6), customer_id=2),),
        customers=customers,
    )
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    [n] = neutralizations(p)
    assert (n.object_type, n.object_id, n.kept_id) == ("customer", 2, 1)
    assert n.store_ids == (5,) and n.request_ids == (61,)
    # The merchant is planned against customer 1, which has no store yet.
    create = next(c for c in p.changes if c.kind == K.CREATE_STORE)
    assert create.detail.customer_id == 1  # type: ignore[attr-defined]


def test_a_duplicate_customer_with_an_enabled_connection_stops_the_plan() -> None:
    s, conn = connected(5, "Acme US", customer=2)
    live = account(s, connections=(conn,), customers=(Customer(1, "Acme"), Customer(2, "Acme")))
    with pytest.raises(
        PlanError,
        match=r"2 DropStream customers have this company name "
        r"\(ids 1, 2\), and customer 2 has an enabled connection",
    ):
        run(state(merchant("Acme", store("Acme", "Acme US"))), live)


def test_three_copies_keep_the_lowest_and_neutralize_both_others() -> None:
    live = account(live_store(9, "Acme US"), live_store(3, "Acme US"), live_store(4, "Acme US"))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    assert sorted((n.object_id, n.kept_id) for n in neutralizations(p)) == [(4, 3), (9, 3)]


def test_a_neutralized_duplicate_is_not_also_pruned() -> None:
    live = account(
        live_store(1, "Acme US", enabled_at=NOW), live_store(2, "Acme US", enabled_at=NOW)
    )
    p = run(state(merchant("Acme", store("Acme", "Acme US"), prune=True)), live)
    assert [c.kind for c in p.changes if c.target.id == 2] == [K.NEUTRALIZE_DUPLICATE]


def test_a_neutralization_counts_as_a_disable_for_the_safety_threshold() -> None:
    stores = [live_store(i, f"Acme {i}", authorization=AUTHORIZED) for i in range(1, 10)]
    live = account(*stores, live_store(20, "Acme 1"))
    desired = state(
        merchant("Acme", *(store("Acme", f"Acme {i}") for i in range(1, 10))),
        min_existing=1,
        max_disable_percent=5,
    )
    p = run(desired, live)
    assert [n.object_id for n in neutralizations(p)] == [20]
    assert any("disable 1 of 10" in r for r in p.blocked_reasons)


def test_applying_the_plan_leaves_nothing_to_do() -> None:
    customers = (Customer(1, "Acme"), Customer(2, "Acme"))
    live = account(
        live_store(5, "Acme US", customer=2),
        live_store(7, "Acme US"),
        live_store(8, "Acme US"),
        customers=customers,
    )
    desired = state(merchant("Acme", store("Acme", "Acme US")))
    first = run(desired, live)
    assert len(neutralizations(first)) == 2
    after = apply_in_memory(first, live, NOW)
    again = run(desired, after)
    assert [c.kind for c in again.changes] == []


def test_the_neutralized_name_always_fits_and_keeps_its_suffix() -> None:
    long = "N" * NAME_LIMIT
    name = neutralized_name(long, 123456789)
    assert len(name) == NAME_LIMIT
    assert name.endswith(" [duplicate of 123456789, neutralized by dropstream-sync]")


def test_a_saved_neutralization_round_trips_and_an_edited_one_is_refused() -> None:
    live = account(live_store(1, "Acme US"), live_store(2, "Acme US"), requests=(request(60, 2),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    document = p.to_dict()
    assert Plan.from_dict(document).to_dict() == document
    [detail] = [c["detail"] for c in document["changes"] if c["kind"] == "neutralize_duplicate"]
    assert detail["request_ids"] == [60] and detail["store_ids"] == []
    detail["request_ids"] = ["60"]
    with pytest.raises(PlanFileError, match=r"detail\.request_ids: must be a list of integers"):
        Plan.from_dict(document)
    detail["request_ids"] = [60]
    detail["object_type"] = "warehouse"
    with pytest.raises(PlanFileError, match=r"detail\.object_type: must be one of"):
        Plan.from_dict(document)


@pytest.mark.parametrize("us_id", [1, 3], ids=["us-first", "ca-first"])
def test_a_namesake_in_another_marketplace_is_another_store_not_a_duplicate(us_id: int) -> None:
    # "Acme" in US (connected) and "Acme" in CA, still waiting for the merchant's approval:
    # two stores, not one made twice. The CA one is not renamed, disabled or uninvited.
    us, conn = connected(us_id, "Acme")
    ca = live_store(2, "Acme", marketplace="A2EUQ1WTGCTBG2")
    live = account(us, ca, connections=(conn,), requests=(request(7, 2),))
    p = run(state(merchant("Acme", store("Acme", "Acme"))), live)
    assert p.changes == () and p.warnings == ()
    # Unlisted, it is pruned like any other store the config leaves out.
    pruned = run(state(merchant("Acme", store("Acme", "Acme"), prune=True)), live)
    assert [(c.kind, c.target.id) for c in pruned.changes] == [(K.CANCEL_INVITE, 7)]
