"""The planner, one behaviour per test, on literal models (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import PlanError
from dropstream_sync.live import Authorization, Customer
from dropstream_sync.planner import Plan, plan
from dropstream_sync.render import render_json, render_markdown, render_text
from tests.planner.scenario import (
    AUTHORIZED,
    CA,
    NOW,
    US,
    account,
    connected,
    live_store,
    merchant,
    request,
    rich,
    state,
    store,
)


def kinds(p: Plan) -> list[str]:
    return [c.kind for c in p.changes]


def run(desired, live, **kw) -> Plan:  # type: ignore[no-untyped-def]
    return plan(desired, live, now=NOW, **kw)


def test_new_merchant_gets_created_with_its_stores_and_invites() -> None:
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(customers=()))
    assert kinds(p) == ["create_merchant", "create_store", "invite"]
    merchant_change, store_change, invite = p.changes
    assert store_change.depends_on == (merchant_change.id,)
    assert store_change.detail.to_dict()["refs"] == {"customer_id": merchant_change.id}
    assert invite.depends_on == (store_change.id,)
    assert store_change.detail.to_dict()["marketplace_id"] == US


def test_unchanged_config_against_its_applied_state_plans_nothing() -> None:
    s, c = connected(1, "Acme US")
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(c,)))
    assert p.changes == () and p.pending == ()


def test_status_set_order_and_spelling_never_make_a_change() -> None:
    s, c = connected(1, "Acme US", import_order_statuses=("PARTIALLY_SHIPPED", "unshipped"))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(c,)))
    assert p.changes == ()


@pytest.mark.parametrize(
    ("live_settings", "updated"),
    [
        ({}, []),
        ({"import_order_statuses": ("PartiallyShipped", "Unshipped", "Unshipped")}, []),
        # The same number of words, but one repeated and one missing: not the config's set.
        ({"import_order_statuses": ("Unshipped", "Unshipped")}, ["import_order_statuses"]),
        ({"import_order_statuses": ("Unshipped",)}, ["import_order_statuses"]),
        ({"fulfillment_channel": "AFN"}, ["fulfillment_channel"]),
        ({"fulfillment_channel": None}, ["fulfillment_channel"]),
        ({"fulfillment_latency": 0}, ["fulfillment_latency"]),
        ({"fulfillment_channel_code": "PRIME"}, ["fulfillment_channel_code"]),
    ],
)
def test_a_live_setting_is_updated_exactly_when_it_differs_from_the_config(
    live_settings: dict[str, Any], updated: list[str]
) -> None:
    s, c = connected(1, "Acme US", **live_settings)
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(c,)))
    assert [f.path for ch in p.changes for f in ch.fields] == updated
    assert kinds(p) == (["update_store"] if updated else [])


def test_a_setting_not_read_is_warned_of_even_when_the_defaults_standing_for_it_agree() -> None:
    # The values a store that was not fully read holds are defaults, equal to the config's:
    # still no "no change" in silence, the plan says the setting was not compared.
    s, c = connected(1, "Acme US", unread_settings=("fulfillment_latency",))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(c,)))
    assert p.changes == ()
    assert any("fulfillment_latency could not be read" in w for w in p.warnings)


def test_changed_setting_is_an_update_with_before_and_after() -> None:
    s, c = connected(1, "Acme US", fulfillment_latency=5)
    desired = state(
        merchant("Acme", store("Acme", "Acme US", settings=StoreSettings(fulfillment_latency=2)))
    )
    p = run(desired, account(s, connections=(c,)))
    assert kinds(p) == ["update_store"]
    field = p.changes[0].fields[0]
    assert (field.path, field.before, field.after) == ("fulfillment_latency", 5, 2)
    assert p.changes[0].detail.to_dict()["settings_patch"] == {"fulfillment_latency": 2}


def test_rename_with_pinned_id_updates_store_and_connection() -> None:
    s, c = connected(1, "Old name")
    p = run(state(merchant("Acme", store("Acme", "New name", id=1))), account(s, connections=(c,)))
    assert sorted(kinds(p)) == ["update_connection", "update_store"]


def test_plan_invites_when_authorization_missing_and_no_request_pending() -> None:
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(live_store(1, "Acme US")))
    assert kinds(p) == ["invite"] and p.changes[0].detail.to_dict()["email"] == "ops@acme.example"


@pytest.mark.parametrize("status", ["expired", "revoked"])
def test_plan_invites_when_authorization_expired_or_revoked(status: str) -> None:
    live = account(live_store(1, "Acme US", authorization=Authorization(status)))
    assert kinds(run(state(merchant("Acme", store("Acme", "Acme US"))), live)) == ["invite"]


@pytest.mark.parametrize("pending", [(), (request(9, 1, age_days=10),)])
def test_an_authorization_status_the_model_does_not_know_sends_no_email(
    pending: tuple[object, ...],
) -> None:
    # The client passes an unknown word through; it may be a state in which the store is
    # authorized, and an invite (or a reinvite of an expired link) cannot be unsent.
    live = account(
        live_store(1, "Acme US", authorization=Authorization("suspended")),
        requests=pending,  # type: ignore[arg-type]
    )
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    assert kinds(p) == [] and p.pending == ()
    [warning] = p.warnings
    assert "store 'Acme US' (id 1) of merchant 'Acme'" in warning
    assert "authorization reads 'suspended', which this tool does not know" in warning


def test_new_store_with_enabled_false_is_created_but_nobody_is_invited() -> None:
    p = run(state(merchant("Acme", store("Acme", "Acme US", enabled=False))), account())
    assert kinds(p) == ["create_store"] and p.pending == ()


def test_unauthorized_store_with_enabled_false_gets_no_invite_and_its_request_is_canceled() -> None:
    live = account(live_store(1, "Acme US"), requests=(request(9, 1),))
    p = run(state(merchant("Acme", store("Acme", "Acme US", enabled=False))), live)
    assert kinds(p) == ["cancel_invite"] and p.pending == ()


def test_prune_of_already_disabled_stores_does_not_block() -> None:
    s, c = connected(1, "Acme Old", enabled=False)
    p = run(state(merchant("Acme", prune=True)), account(s, connections=(c,)))
    assert p.changes == () and not p.blocked


def test_pending_request_is_shown_as_awaiting_merchant_not_a_change() -> None:
    live = account(live_store(1, "Acme US"), requests=(request(9, 1, age_days=3),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    assert p.changes == ()
    assert [x.kind for x in p.pending] == ["awaiting_merchant"]
    assert p.pending[0].detail["age_days"] == 3


def test_plan_reinvites_when_the_pending_request_expired() -> None:
    live = account(live_store(1, "Acme US"), requests=(request(9, 1, age_days=8),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    assert kinds(p) == ["reinvite"] and p.changes[0].detail.to_dict()["cancel_request_id"] == 9


def test_plan_reinvites_when_email_changed() -> None:
    live = account(live_store(1, "Acme US"), requests=(request(9, 1, "old@acme.example"),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"), email="new@acme.example")), live)
    assert kinds(p) == ["reinvite"]
    assert p.changes[0].detail.to_dict() == {
        "store_id": 1,
        "email": "new@acme.example",
        "cancel_request_id": 9,
        "reason": "the invitation went to old@acme.example",
    }


def test_request_to_the_same_email_in_other_letter_case_is_still_awaited() -> None:
    live = account(live_store(1, "Acme US"), requests=(request(9, 1, "ops@acme.example"),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"), email="Ops@Acme.example")), live)
    assert p.changes == () and [x.kind for x in p.pending] == ["awaiting_merchant"]


def expiring(days: int) -> Authorization:
    return replace(AUTHORIZED, expires_at=NOW + timedelta(days=days))


def test_plan_reinvites_when_authorization_expires_within_reauthorize_days() -> None:
    s, c = connected(1, "Acme US", authorization=expiring(10))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(c,)))
    assert kinds(p) == ["reinvite"]
    expires = (NOW + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert p.changes[0].detail.to_dict() == {
        "store_id": 1,
        "email": "ops@acme.example",
        "cancel_request_id": None,
        "reason": f"the authorization expires {expires} (in 10 days)",
        "authorization_expires_at": expires,
    }


def test_authorization_expiring_after_reauthorize_days_plans_nothing() -> None:
    s, c = connected(1, "Acme US", authorization=expiring(31))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(c,)))
    assert p.changes == () and p.pending == ()


def test_reauthorize_days_is_the_merchants_own_window() -> None:
    s, c = connected(1, "Acme US", authorization=expiring(45))
    wide = state(merchant("Acme", store("Acme", "Acme US"), reauthorize_days=60))
    off = state(merchant("Acme", store("Acme", "Acme US"), reauthorize_days=0))
    assert kinds(run(wide, account(s, connections=(c,)))) == ["reinvite"]
    assert kinds(run(off, account(replace(s, authorization=expiring(1)), connections=(c,)))) == []


def test_renewal_request_already_pending_is_awaited_not_resent() -> None:
    s, c = connected(1, "Acme US", authorization=expiring(10))
    live = account(s, connections=(c,), requests=(request(9, 1, age_days=2),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    assert p.changes == () and [x.kind for x in p.pending] == ["awaiting_merchant"]


def test_expired_renewal_request_is_reinvited_with_the_old_one_canceled() -> None:
    s, c = connected(1, "Acme US", authorization=expiring(10))
    live = account(s, connections=(c,), requests=(request(9, 1, age_days=8),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    assert kinds(p) == ["reinvite"] and p.changes[0].detail.to_dict()["cancel_request_id"] == 9


def test_expiring_authorization_of_merchant_without_email_needs_the_ui() -> None:
    s, c = connected(1, "Acme US", authorization=expiring(10))
    p = run(
        state(merchant("Acme", store("Acme", "Acme US"), email=None)), account(s, connections=(c,))
    )
    assert p.changes == () and [x.kind for x in p.pending] == ["needs_ui_authorization"]
    assert "re-authorizes" in p.pending[0].message


def test_expiring_authorization_of_disabled_store_is_not_renewed() -> None:
    s, c = connected(1, "Acme US", authorization=expiring(10), enabled=False)
    p = run(
        state(merchant("Acme", store("Acme", "Acme US", enabled=False))),
        account(s, connections=(c,)),
    )
    assert p.changes == () and p.pending == ()


def test_renewal_keeps_the_connection_and_bills_nothing_new() -> None:
    s, c = connected(1, "Acme US", authorization=expiring(10))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(c,)))
    assert p.summary()["connections_billed"] == 0
    assert 're-invite ops@acme.example to authorize "Acme US"' in render_text(p)


def test_merchant_without_email_needs_ui_authorization_and_cancels_old_requests() -> None:
    live = account(live_store(1, "Acme US"), requests=(request(9, 1),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"), email=None)), live)
    assert kinds(p) == ["cancel_invite"]
    assert [x.kind for x in p.pending] == ["needs_ui_authorization"]


def test_authorized_store_without_connection_gets_one_enabled() -> None:
    live = account(live_store(1, "Acme US", authorization=AUTHORIZED))
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), live)
    assert kinds(p) == ["create_connection"]
    assert p.changes[0].detail.to_dict() == {
        "customer_id": 1,
        "store_id": 1,
        "warehouse_id": 1,
        "name": "Acme US",
        "enable": True,
    }
    assert p.summary()["connections_billed"] == 1


def test_no_connection_for_a_store_that_is_not_authorized() -> None:
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(live_store(1, "Acme US")))
    assert "create_connection" not in kinds(p)


def test_disabled_store_with_connection_gets_enabled() -> None:
    s, c = connected(1, "Acme US", enabled=False)
    p = run(state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(c,)))
    assert kinds(p) == ["enable"]
    assert p.changes[0].detail.to_dict()["store"] and p.changes[0].detail.to_dict()["connection"]


def test_enabled_false_disables_store_and_connection() -> None:
    s, c = connected(1, "Acme US")
    p = run(
        state(merchant("Acme", store("Acme", "Acme US", enabled=False))),
        account(s, connections=(c,)),
    )
    assert kinds(p) == ["disable"]
    assert p.changes[0].detail.to_dict()["connection_id"] == c.id


def test_prune_true_disables_an_unlisted_store_and_cancels_its_request() -> None:
    keep, keep_c = connected(1, "Acme US")
    gone, gone_c = connected(2, "Acme CA", marketplace=CA)
    live = account(keep, gone, connections=(keep_c, gone_c), requests=(request(9, 2),))
    p = run(state(merchant("Acme", store("Acme", "Acme US"), prune=True)), live)
    assert kinds(p) == ["cancel_invite", "disable"]
    assert p.changes[1].target.id == 2


def test_prune_false_leaves_unlisted_store_alone() -> None:
    keep, keep_c = connected(1, "Acme US")
    other, other_c = connected(2, "Acme CA", marketplace=CA)
    p = run(
        state(merchant("Acme", store("Acme", "Acme US"))),
        account(keep, other, connections=(keep_c, other_c)),
    )
    assert p.changes == ()


def test_prune_only_touches_listed_merchants() -> None:
    s, c = connected(1, "Other US", customer=2)
    live = account(s, connections=(c,), customers=(Customer(1, "Acme"), Customer(2, "Other")))
    p = run(state(merchant("Acme", prune=True)), live)
    assert p.changes == ()


def test_disabling_protected_store_blocks_plan() -> None:
    s, c = connected(1, "Acme US")
    p = run(
        state(merchant("Acme", store("Acme", "Acme US", enabled=False, protect=True))),
        account(s, connections=(c,)),
    )
    assert p.blocked and "protected" in p.blocked_reasons[0]


def test_prune_that_disables_everything_blocks_plan() -> None:
    s, c = connected(1, "Acme US")
    p = run(state(merchant("Acme", prune=True)), account(s, connections=(c,)))
    assert p.blocked and any("every store" in r for r in p.blocked_reasons)


def test_update_threshold_applies_only_from_min_existing() -> None:
    pairs = [connected(i, f"S{i}", fulfillment_latency=9) for i in range(1, 5)]
    live = account(*(s for s, _ in pairs), connections=tuple(c for _, c in pairs))
    desired_stores = [store("Acme", f"S{i}") for i in range(1, 5)]
    below = run(state(merchant("Acme", *desired_stores), min_existing=10), live)
    assert not below.blocked and len(below.changes) == 4
    above = run(state(merchant("Acme", *desired_stores), min_existing=2), live)
    assert above.blocked and "max_update_percent" in above.blocked_reasons[0]


def test_two_pruned_stores_of_one_name_count_as_two_disables() -> None:
    # Two live stores left unlisted may share a name (made in the UI, or a copy): each is a
    # store switched off, so 2 of 10 is over the default 10%, not 1 of 10.
    pairs = [connected(i, f"S{i}" if i <= 8 else "Old") for i in range(1, 11)]
    live = account(*(s for s, _ in pairs), connections=tuple(c for _, c in pairs))
    p = run(
        state(merchant("Acme", *(store("Acme", f"S{i}") for i in range(1, 9)), prune=True)), live
    )
    assert kinds(p) == ["disable", "disable"]
    assert p.blocked_reasons == (
        "the plan would disable 2 of 10 existing stores (20% > max_disable_percent 10%)",
    )


def test_invites_over_the_budget_are_queued() -> None:
    live = account(*(live_store(i, f"S{i}") for i in range(1, 6)))
    p = run(
        state(
            merchant("Acme", *(store("Acme", f"S{i}") for i in range(1, 6))), max_invites_per_run=2
        ),
        live,
    )
    assert kinds(p) == ["invite", "invite"]
    assert [x.kind for x in p.pending] == ["queued"] * 3


def test_changed_marketplace_is_a_plan_error_pointing_at_the_yaml() -> None:
    with pytest.raises(PlanError, match=r"stores.yaml:7:9: .*another marketplace is another"):
        run(
            state(merchant("Acme", store("Acme", "Acme US", "CA"))),
            account(live_store(1, "Acme US")),
        )


def test_missing_warehouse_is_a_plan_error() -> None:
    live = account(live_store(1, "Acme US", authorization=AUTHORIZED))
    with pytest.raises(PlanError, match="warehouse 'Main' of merchant 'Acme' does not exist"):
        run(state(merchant("Acme", store("Acme", "Acme US", warehouse="Main"))), live)


def test_two_live_stores_matching_one_desired_store_with_an_enabled_connection_stop_the_plan() -> (
    None
):
    # The extra one takes orders: neutralizing it would stop them, so a person decides.
    _s, conn = connected(2, "Acme US")
    live = account(live_store(1, "Acme US"), _s, connections=(conn,))
    with pytest.raises(
        PlanError,
        match=r"matches 2 live stores .*store 2 has an enabled "
        r"connection",
    ):
        run(state(merchant("Acme", store("Acme", "Acme US"))), live)


def test_pinned_id_of_another_merchant_is_a_plan_error() -> None:
    live = account(
        live_store(5, "X", customer=2), customers=(Customer(1, "Acme"), Customer(2, "Other"))
    )
    with pytest.raises(PlanError, match="store id 5"):
        run(state(merchant("Acme", store("Acme", "X", id=5))), live)


def test_merchant_scope_does_not_prune_a_store_another_merchant_pins() -> None:
    # Store 5 moved (in the DropStream UI) from Acme, whose entry still pins it, to Bella.
    # The whole plan stops at Acme's pin; `--merchant Bella` must not disable it instead.
    pairs = [connected(i, f"B{i}", customer=2) for i in range(1, 21)]
    live = account(
        *(s for s, _ in pairs),
        connections=tuple(c for _, c in pairs),
        customers=(Customer(1, "Acme"), Customer(2, "Bella")),
    )
    desired = state(
        merchant("Acme", store("Acme", "Acme US", id=5)),
        merchant("Bella", *(store("Bella", f"B{i}") for i in range(1, 21) if i != 5), prune=True),
    )
    with pytest.raises(PlanError, match="store id 5 \\('Acme US'\\)"):
        run(desired, live)
    with pytest.raises(PlanError) as scoped:
        run(desired, live, merchants=["Bella"])
    assert scoped.value.messages == (
        "stores.yaml:7:9: store id 5 ('Acme US') of merchant 'Acme' is live store 'B5' of "
        "merchant 'Bella', which this plan (--merchant) includes: remove the id, or list the "
        "store under 'Bella'; the plan of the whole config stops here too",
    )
    # Without the pin, the scoped plan prunes it as the whole one would.
    unpinned = state(merchant("Acme"), *desired.merchants[1:])
    assert kinds(run(unpinned, live, merchants=["Bella"])) == ["disable"]


def test_pinned_id_under_a_merchant_that_does_not_exist_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match=r"store id 1 .*does not exist yet"):
        run(
            state(merchant("New Co", store("New Co", "New US", id=1))),
            account(live_store(1, "Acme US")),
        )


def test_merchant_filter_limits_the_plan() -> None:
    desired = state(merchant("Acme", store("Acme", "A")), merchant("Beta", store("Beta", "B")))
    p = run(desired, account(customers=()), merchants=["Beta"])
    assert {c.merchant for c in p.changes} == {"Beta"} and p.merchants == ("Beta",)


def test_same_inputs_give_byte_identical_outputs_and_stable_ids() -> None:
    desired, live = rich()
    a, b = run(desired, live), run(desired, live)
    assert render_text(a) == render_text(b)
    assert render_markdown(a) == render_markdown(b)
    assert render_json(a) == render_json(b)
    reordered = replace(live, stores=tuple(reversed(live.stores)))
    assert [c.id for c in run(desired, reordered).changes] == [c.id for c in a.changes]


def test_rich_plan_has_every_change_and_pending_kind() -> None:
    p = run(*rich())
    from dropstream_sync.planner.model import CHANGE_KINDS, PENDING_KINDS, PendingKind

    assert set(kinds(p)) == set(CHANGE_KINDS)
    # send_from_ui needs an API without the invite endpoint: tests/doctor/test_no_invite_endpoint
    assert {x.kind for x in p.pending} == set(PENDING_KINDS) - {PendingKind.SEND_FROM_UI}
    assert p.blocked


def test_saved_plan_round_trips_exactly() -> None:
    p = run(*rich())
    again = Plan.from_dict(p.to_dict())
    assert again.to_dict() == p.to_dict()
    assert again.desired.digest() == p.config_digest


def test_fingerprint_changes_when_a_live_object_changes() -> None:
    desired, live = rich()
    before = run(desired, live).live_fingerprint
    changed = replace(live, stores=(replace(live.stores[0], name="Renamed"), *live.stores[1:]))
    assert run(desired, changed).live_fingerprint != before
    assert run(desired, live).live_fingerprint == before
    assert CA


def test_invite_budget_sends_renewals_first_soonest_expiry_first() -> None:
    late, late_c = connected(1, "Acme A", authorization=expiring(20))
    soon, soon_c = connected(2, "Acme B", authorization=expiring(5))
    desired = state(
        merchant(
            "Acme", store("Acme", "Acme 0 new"), store("Acme", "Acme A"), store("Acme", "Acme B")
        ),
        max_invites_per_run=1,
    )
    p = run(desired, account(late, soon, connections=(late_c, soon_c)))
    assert [(c.kind, c.store) for c in p.changes if "invite" in c.kind] == [("reinvite", "Acme B")]
    assert sorted(x.store for x in p.pending if x.kind == "queued") == ["Acme 0 new", "Acme A"]


def test_a_share_just_over_the_threshold_is_shown_over_it() -> None:
    # 21 of 200 is 10.5%: rounded to "10%" the reason would read "10% > ... 10%".
    pairs = [connected(i, f"S{i}") for i in range(1, 201)]
    live = account(*(s for s, _ in pairs), connections=tuple(c for _, c in pairs))
    kept = (store("Acme", f"S{i}") for i in range(1, 180))
    p = run(state(merchant("Acme", *kept, prune=True)), live)
    assert p.blocked_reasons == (
        "the plan would disable 21 of 200 existing stores (10.5% > max_disable_percent 10%)",
    )
