"""Issue 15.1/15.2 in the planner: channels per connection, and every connection of a store
(several warehouses, enabled: false, unnamed warehouses, prune)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from dropstream_sync.live import Channel, Connection, LiveState, Warehouse
from dropstream_sync.planner import Plan, plan
from dropstream_sync.planner.model import (
    ChangeKind,
    CreateConnection,
    Disable,
    Enable,
    UpdateChannel,
)
from dropstream_sync.render import render
from tests.planner.scenario import (
    AUTHORIZED,
    NOW,
    account,
    connected,
    live_store,
    merchant,
    state,
    store,
)

K = ChangeKind
ON = NOW - timedelta(days=2)


def channels(cid: int, **enabled: bool) -> tuple[Channel, ...]:
    return tuple(
        Channel(cid * 10 + i, kind, ON if on else None)
        for i, (kind, on) in enumerate(enabled.items())
    )


def two_warehouses(live: LiveState) -> LiveState:
    return replace(
        live, warehouses=(Warehouse(1, 1, "Acme Warehouse"), Warehouse(2, 1, "Acme East"))
    )


def kinds(p: Plan) -> list[str]:
    return [str(c.kind) for c in p.changes]


def test_a_channel_that_differs_is_one_update_channel_shown_per_connection() -> None:
    s, c = connected(1, "Acme US")
    c = replace(
        c, channels=channels(101, sales_order=True, shipment=False, sales_order_return=True)
    )
    desired = state(
        merchant("Acme", store("Acme", "Acme US", channels={"shipment": True, "sales_order": True}))
    )
    p = plan(desired, account(s, connections=(c,)), now=NOW)
    assert kinds(p) == ["update_channel"]
    d = p.changes[0].detail
    assert isinstance(d, UpdateChannel)
    assert (d.connection_id, d.channel_id, d.type, d.enable) == (101, 1011, "shipment", True)
    assert '~ channel shipment on "Acme US": disabled → enabled' in render(p, "text")
    # Read back from its JSON exactly.
    again = Plan.from_json(json.dumps(p.to_dict()), "saved.json")
    assert again.changes == p.changes


def test_a_channel_the_config_does_not_name_is_left_as_it_is() -> None:
    s, c = connected(1, "Acme US")
    c = replace(c, channels=channels(101, sales_order=True, shipment=False))
    desired = state(merchant("Acme", store("Acme", "Acme US", channels={"sales_order": True})))
    assert plan(desired, account(s, connections=(c,)), now=NOW).changes == ()


def test_an_enabled_connection_with_no_channel_enabled_is_warned_about() -> None:
    s, c = connected(1, "Acme US")
    c = replace(c, channels=channels(101, sales_order=True, shipment=False))
    desired = state(merchant("Acme", store("Acme", "Acme US", channels={"sales_order": False})))
    p = plan(desired, account(s, connections=(c,)), now=NOW)
    assert kinds(p) == ["update_channel"]
    assert any("no orders will flow" in w for w in p.warnings)
    # None managed, all live ones off: the same warning, and no change.
    off = replace(c, channels=channels(101, sales_order=False, shipment=False))
    p = plan(
        state(merchant("Acme", store("Acme", "Acme US"))), account(s, connections=(off,)), now=NOW
    )
    assert p.changes == () and any("no orders will flow" in w for w in p.warnings)


def test_a_connection_listed_without_channels_is_unknown_and_left_alone() -> None:
    s, c = connected(1, "Acme US")
    desired = state(merchant("Acme", store("Acme", "Acme US", channels={"shipment": True})))
    p = plan(desired, account(s, connections=(replace(c, channels=None),)), now=NOW)
    assert p.changes == ()
    assert any("without its channels" in w for w in p.warnings)


def test_finalize_carries_the_channels_and_a_new_connection_without_any_is_warned() -> None:
    s = live_store(1, "Acme US", authorization=AUTHORIZED)
    desired = state(
        merchant(
            "Acme", store("Acme", "Acme US", channels={"sales_order": True, "shipment": False})
        )
    )
    p = plan(desired, account(s), now=NOW)
    assert kinds(p) == ["create_connection"]
    d = p.changes[0].detail
    assert isinstance(d, CreateConnection) and d.channels == {
        "sales_order": True,
        "shipment": False,
    }
    assert not any("no orders" in w for w in p.warnings)
    assert Plan.from_json(json.dumps(p.to_dict()), "saved.json").changes == p.changes
    bare = plan(state(merchant("Acme", store("Acme", "Acme US"))), account(s), now=NOW)
    assert any("no orders will flow" in w for w in bare.warnings)


def test_enabled_false_disables_every_connection_of_the_store() -> None:
    s, c = connected(1, "Acme US")
    second = Connection(202, 1, 1, 2, "Acme US", ON)
    live = two_warehouses(account(s, connections=(c, second)))
    desired = state(merchant("Acme", store("Acme", "Acme US", enabled=False)))
    p = plan(desired, live, now=NOW)
    disabled = {
        d.connection_id for c2 in p.changes if isinstance(d := c2.detail, Disable) and d.connection
    }
    assert disabled == {101, 202}
    assert sum(1 for c2 in p.changes if isinstance(c2.detail, Disable) and c2.detail.store) == 1


def test_several_warehouses_each_get_a_connection_and_each_is_renamed_and_enabled() -> None:
    s, c = connected(1, "Acme US", enabled=False)
    live = two_warehouses(account(s, connections=(replace(c, name="Old"),)))
    desired = state(
        merchant("Acme", store("Acme", "Acme US", warehouses=("Acme Warehouse", "Acme East")))
    )
    p = plan(desired, live, now=NOW)
    assert sorted(kinds(p)) == ["create_connection", "enable", "update_connection"]
    created = next(c2.detail for c2 in p.changes if isinstance(c2.detail, CreateConnection))
    assert created.warehouse_id == 2 and created.enable
    enabled = next(c2.detail for c2 in p.changes if isinstance(c2.detail, Enable))
    assert (enabled.connection_id, enabled.store, enabled.connection) == (101, True, True)


def test_a_connection_to_a_warehouse_the_config_does_not_name_is_reported_or_pruned() -> None:
    s, c = connected(1, "Acme US")
    other = Connection(202, 1, 1, 2, "Acme US", ON)
    live = two_warehouses(account(s, connections=(c, other)))
    named = store("Acme", "Acme US", warehouse="Acme Warehouse")
    p = plan(state(merchant("Acme", named)), live, now=NOW)
    assert p.changes == ()
    assert any("(202) to warehouse 2, which the config does not name" in w for w in p.warnings)
    pruned = plan(state(merchant("Acme", named, prune=True)), live, now=NOW)
    assert [(str(c2.kind), c2.target.id) for c2 in pruned.changes] == [("disable", 202)]
    d = pruned.changes[0].detail
    assert isinstance(d, Disable) and not d.store and d.connection


def test_prune_of_an_unlisted_store_disables_all_its_connections() -> None:
    s, c = connected(1, "Acme US")
    kept, kept_c = connected(2, "Acme CA", marketplace="A2EUQ1WTGCTBG2")
    other = Connection(202, 1, 1, 2, "Acme US", ON)
    live = two_warehouses(account(s, kept, connections=(c, other, kept_c)))
    p = plan(state(merchant("Acme", store("Acme", "Acme CA", "CA"), prune=True)), live, now=NOW)
    disabled = {d.connection_id for c2 in p.changes if isinstance(d := c2.detail, Disable)}
    assert disabled == {101, 202}


def test_with_no_warehouse_named_every_live_connection_is_managed_not_duplicated() -> None:
    s, c = connected(1, "Acme US")
    east = Connection(202, 1, 1, 2, "Acme US (east)", None)
    live = two_warehouses(account(s, connections=(c, east)))
    p = plan(state(merchant("Acme", store("Acme", "Acme US"))), live, now=NOW)
    assert sorted(kinds(p)) == ["enable", "update_connection"]
    assert not any(isinstance(c2.detail, CreateConnection) for c2 in p.changes)


def test_a_changed_channel_makes_a_saved_plan_stale() -> None:
    # The live index covers channels: a saved plan goes stale when one changes.
    s, c = connected(1, "Acme US")
    c = replace(c, channels=channels(101, shipment=False))
    desired = state(merchant("Acme", store("Acme", "Acme US")))
    before = plan(desired, account(s, connections=(c,)), now=NOW)
    after = plan(
        desired,
        account(s, connections=(replace(c, channels=channels(101, shipment=True)),)),
        now=NOW,
    )
    assert before.live_fingerprint != after.live_fingerprint
    assert "channel/1010" in before.live_index


def test_switching_off_the_orders_of_every_store_is_blocked_like_any_update() -> None:
    # One line of `defaults:` turns sales_order off on every connection: no store is
    # "updated" by a setting, but none takes orders any more.
    pairs = [connected(i, f"S{i}") for i in range(1, 11)]
    live = account(
        *(s for s, _ in pairs),
        connections=tuple(replace(c, channels=channels(c.id, sales_order=True)) for _, c in pairs),
    )
    off = {"sales_order": False}
    p = plan(
        state(merchant("Acme", *(store("Acme", f"S{i}", channels=off) for i in range(1, 11)))),
        live,
        now=NOW,
    )
    assert kinds(p) == ["update_channel"] * 10
    assert p.blocked_reasons == (
        "the plan would update 10 of 10 existing stores (100% > max_update_percent 30%)",
    )
    # A store counts once, however many of its channels change; renaming its connection
    # after it (which a first run may do to every connection) is not an update of it.
    one = plan(
        state(
            merchant(
                "Acme",
                store("Acme", "S1", channels=off),
                *(store("Acme", f"S{i}") for i in range(2, 11)),
            )
        ),
        replace(
            live, connections=(replace(live.connections[0], name="old"), *live.connections[1:])
        ),
        now=NOW,
    )
    assert sorted(kinds(one)) == ["update_channel", "update_connection"] and not one.blocked
    renamed = plan(
        state(merchant("Acme", *(store("Acme", f"S{i}") for i in range(1, 11)))),
        replace(live, connections=tuple(replace(c, name="Old") for c in live.connections)),
        now=NOW,
    )
    assert kinds(renamed) == ["update_connection"] * 10 and not renamed.blocked


def test_no_orders_warning_is_only_given_for_a_connection_that_ends_enabled() -> None:
    # Revoked: the disabled connection stays off (the merchant is invited again), so the
    # plan must not say it "is enabled with no channel enabled".
    s, c = connected(1, "Acme US", enabled=False)
    c = replace(c, channels=channels(101, sales_order=False))
    revoked = replace(s, authorization=replace(AUTHORIZED, status="revoked"))
    desired = state(merchant("Acme", store("Acme", "Acme US")))
    p = plan(desired, account(revoked, connections=(c,)), now=NOW)
    assert kinds(p) == ["invite"] and p.warnings == ()
    # Authorized, it is enabled by this plan, and the warning is true.
    p = plan(desired, account(s, connections=(c,)), now=NOW)
    assert kinds(p) == ["enable"]
    (warning,) = p.warnings
    assert "connection 101 (warehouse 1) is enabled with no channel enabled" in warning
