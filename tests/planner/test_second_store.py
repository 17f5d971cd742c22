"""No silent second store in a marketplace (issue 15.4)."""

from __future__ import annotations

from dropstream_sync.planner import Plan, plan
from dropstream_sync.render import render_markdown
from tests.planner.scenario import CA, NOW, account, connected, merchant, state, store


def renamed_in_ui(**safety: float) -> Plan:
    """The config still says "Acme US"; in DropStream someone renamed it "Acme USA"."""
    s, c = connected(1, "Acme USA")
    return plan(
        state(merchant("Acme", store("Acme", "Acme US")), **safety),
        account(s, connections=(c,)),
        now=NOW,
    )


def test_a_store_created_beside_an_unmatched_live_one_is_warned_about_by_name_and_id() -> None:
    p = renamed_in_ui()
    assert [c.kind for c in p.changes] == ["create_store", "invite"]
    [warning] = p.warnings
    assert "store 'Acme US' of merchant 'Acme' would be created in marketplace US" in warning
    assert "live Amazon store 1 ('Acme USA')" in warning
    assert "pin it with `id: 1`" in warning
    assert warning.startswith("stores.yaml:7:9: ")
    assert "Acme USA" in render_markdown(p)


def test_another_marketplace_or_a_matched_store_is_no_warning() -> None:
    us_s, us_c = connected(1, "Acme US")
    ca_s, ca_c = connected(2, "Acme Canada", marketplace=CA)
    desired = state(merchant("Acme", store("Acme", "Acme US"), store("Acme", "Acme UK", "UK")))
    p = plan(desired, account(us_s, ca_s, connections=(us_c, ca_c)), now=NOW)
    assert "create_store" in [c.kind for c in p.changes]
    assert p.warnings == ()  # UK has no live store; the CA one is unmatched but not in UK


def test_pinning_the_id_makes_it_a_rename() -> None:
    s, c = connected(1, "Acme USA")
    p = plan(
        state(merchant("Acme", store("Acme", "Acme US", id=1))),
        account(s, connections=(c,)),
        now=NOW,
    )
    assert [c.kind for c in p.changes] == ["update_store", "update_connection"]
    assert p.warnings == ()


def test_such_creates_count_as_updates_for_the_safety_threshold() -> None:
    # 1 of 1 existing store: 100% > 30% once thresholds apply (min_existing 1).
    p = renamed_in_ui(min_existing=1)
    assert p.blocked
    [reason] = p.blocked_reasons
    assert reason == (
        "the plan would update 1 of 1 existing stores (100% > max_update_percent "
        "30%, including 1 store(s) created beside an unmatched live store of "
        "their marketplace)"
    )
    assert not renamed_in_ui(min_existing=1, max_update_percent=100).blocked
    assert not renamed_in_ui().blocked  # below min_existing, as for updates


def test_the_warning_says_prune_disables_the_live_store_only_when_this_plan_does() -> None:
    on, conn = connected(1, "Acme USA")
    off, idle = connected(1, "Acme USA", enabled=False)
    desired = state(merchant("Acme", store("Acme", "Acme US"), prune=True))
    pruning = plan(desired, account(on, connections=(conn,)), now=NOW)
    assert "disable" in [c.kind for c in pruning.changes]
    assert "(and prune would disable that one)" in pruning.warnings[0]
    # Already off, store and connection: prune changes nothing, and the warning says nothing.
    idle_plan = plan(desired, account(off, connections=(idle,)), now=NOW)
    assert "disable" not in [c.kind for c in idle_plan.changes]
    [warning] = idle_plan.warnings
    assert "live Amazon store 1 ('Acme USA')" in warning and "prune" not in warning
