"""The connections of one matched store: one per warehouse the config names, and their
channels (product.md §2: create_connection, update_connection, update_channel, enable,
disable).

- The config names no warehouse: the store's live connections are all managed (whatever
  warehouse they go to), and a store with none gets one to the merchant's default warehouse.
- It names some (`warehouse:` or `warehouses:`): one connection to each is managed; a live
  connection to another warehouse is reported, and disabled only under `prune` (or with
  `enabled: false`, which switches off every connection of the store).
- `channels:` sets the named channel types on every managed connection; a type left out is
  left as it is. Channels come with the connection objects of the one list read; an object
  without them is reported as unknown, never read one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dropstream_sync.desired import DesiredMerchant, DesiredStore
from dropstream_sync.live import Connection, Customer, Store, Warehouse, name_key
from dropstream_sync.planner import health
from dropstream_sync.planner.model import (
    CreateConnection,
    Disable,
    Enable,
    FieldChange,
    Target,
    TargetType,
    UpdateChannel,
    UpdateConnection,
)

if TYPE_CHECKING:
    from dropstream_sync.planner.plan import _Planner

T = TargetType
NO_ORDERS = "no orders will flow"


def warehouse_ids(
    p: _Planner, m: DesiredMerchant, s: DesiredStore, customer: Customer
) -> list[int] | None:
    """The ids of the warehouses `s` names (empty: it names none); None when one of them
    does not exist (the error is recorded)."""
    warehouses = p.ix.warehouses.get(customer.id, [])
    ids: list[int] = []
    for name in s.warehouse_names():
        # Compared as merchant and store names are (product.md §1: after NFC): "Café DC"
        # typed precomposed is the warehouse DropStream holds with a combining accent.
        key = name_key(name)
        found = next((w for w in warehouses if name_key(w.description) == key), None)
        if found is None:
            known = ", ".join(repr(w.description) for w in warehouses) or "none"
            p.errors.append(
                f"{s.source}: warehouse '{name}' of merchant '{m.name}' does "
                f"not exist (its warehouses: {known})"
            )
            return None
        ids.append(found.id)
    return ids


def default_warehouse(
    p: _Planner, m: DesiredMerchant, s: DesiredStore, customer: Customer
) -> int | None:
    warehouses: Sequence[Warehouse] = p.ix.warehouses.get(customer.id, [])
    if not warehouses:
        p.errors.append(
            f"{s.source}: merchant '{m.name}' has no warehouse in DropStream to "
            f"connect store '{s.name}' to"
        )
        return None
    return warehouses[0].id


def plan_connections(
    p: _Planner, m: DesiredMerchant, s: DesiredStore, customer: Customer, ls: Store
) -> None:
    connections = p.ix.connections.get(ls.id, ())
    named = p.warehouses_named.get(id(s), ())  # no entry: it names no warehouse
    if named is None:
        return  # a warehouse it names does not exist (the error is recorded)
    if s.enabled and not named and not connections and not p.connectable(m, ls):
        return  # nothing to create, rename or switch: a store still waiting to be authorized
    chosen = _managed(p, m, s, customer, ls, connections, named)
    if chosen is None:
        return
    managed, others = chosen
    for wid, conn in managed:
        if conn is None:
            create(p, m, s, customer, ls, wid)
        else:
            existing(p, m, s, ls, conn)
    _switch(p, m, s, ls, [c for _, c in managed if c is not None], others)


def _managed(
    p: _Planner,
    m: DesiredMerchant,
    s: DesiredStore,
    customer: Customer,
    ls: Store,
    connections: Sequence[Connection],
    named: Sequence[int],
) -> tuple[list[tuple[int, Connection | None]], list[Connection]] | None:
    """The connections the config manages (warehouse id, live connection or None to
    create) and the store's other live `connections`, given the ids of the warehouses
    the config names; None when the plan cannot say."""
    if named:
        by_warehouse = {c.warehouse_id: c for c in reversed(connections)}
        wanted = set(named)
        return (
            [(wid, by_warehouse.get(wid)) for wid in dict.fromkeys(named)],
            [c for c in connections if c.warehouse_id not in wanted],
        )
    if connections:
        # No warehouse named: every connection the store has is the config's.
        return [(c.warehouse_id, c) for c in connections], []
    if not p.connectable(m, ls):
        return [], []
    wid = default_warehouse(p, m, s, customer)
    return None if wid is None else ([(wid, None)], [])


def _switch(
    p: _Planner,
    m: DesiredMerchant,
    s: DesiredStore,
    ls: Store,
    live_managed: list[Connection],
    others: list[Connection],
) -> None:
    """Enable or disable the store and its live connections as `enabled:` says."""
    if s.enabled:
        enable(p, m, s, ls, live_managed)
        unmanaged(p, m, s, ls, others)
        return
    to_disable = [c for c in (*live_managed, *others) if c.enabled]
    if ls.enabled or to_disable:
        disable(p, m, s.name, ls, to_disable, s.protect, "enabled: false")


def create(
    p: _Planner,
    m: DesiredMerchant,
    s: DesiredStore,
    customer: Customer,
    ls: Store,
    warehouse_id: int,
) -> None:
    if not p.connectable(m, ls):
        return  # the wizard's Finalize waits for the merchant's (expected seller's) approval
    fields = [FieldChange("name", None, s.name), FieldChange("warehouse_id", None, warehouse_id)]
    if s.enabled:
        fields.append(FieldChange("enabled", False, True))
    channels = dict(sorted(s.channels.items()))
    fields.extend(FieldChange(f"channels.{kind}", None, on) for kind, on in channels.items())
    p.add(
        CreateConnection(customer.id, ls.id, warehouse_id, s.name, s.enabled, channels or None),
        m.name,
        s.name,
        Target(T.CONNECTION),
        fields,
    )
    if s.enabled and not any(channels.values()):
        # New connections' channels start disabled [assumed]: without a channel asked for,
        # the connection is live and idle.
        p.warnings.append(
            f"{s.source}: store '{s.name}' of merchant '{m.name}': the new connection to "
            f"warehouse {warehouse_id} is enabled with no channel enabled: {NO_ORDERS} "
            "(new channels start disabled; add `channels: {sales_order: true, ...}`)"
        )


def existing(p: _Planner, m: DesiredMerchant, s: DesiredStore, ls: Store, conn: Connection) -> None:
    if conn.name != s.name:
        p.add(
            UpdateConnection(s.name),
            m.name,
            s.name,
            Target(T.CONNECTION, conn.id),
            [FieldChange("name", conn.name, s.name)],
        )
    final = channels(p, m, s, conn)
    # Only of a connection that is or will be enabled: one that stays off (its store not
    # authorized, or by another seller) is not "enabled", and takes no orders anyway.
    # health.seller_mismatch, not p.connectable: asked again, without its warning.
    ends_on = conn.enabled or (p.authorized(ls) and health.seller_mismatch(m, ls) is None)
    if s.enabled and ends_on and final is not None and final and not any(final.values()):
        p.warnings.append(
            f"{s.source}: store '{s.name}' of merchant '{m.name}': connection {conn.id} "
            f"(warehouse {conn.warehouse_id}) is enabled with no channel enabled: {NO_ORDERS}"
        )


def channels(
    p: _Planner, m: DesiredMerchant, s: DesiredStore, conn: Connection
) -> Mapping[str, bool] | None:
    """Plan the managed channels of `conn`; returns every channel's state after the plan
    (None: the connection's channels are unknown)."""
    if conn.channels is None:
        if s.channels:
            p.warnings.append(
                f"{s.source}: store '{s.name}' of merchant '{m.name}': the API listed "
                f"connection {conn.id} without its channels, or with channels of another "
                "shape, so `channels:` is not checked for it (the tool reads channels with "
                "the connection list only, never one connection at a time; "
                "`dropstream-sync doctor` shows the shape)"
            )
        return None
    final = {ch.type: ch.enabled for ch in conn.channels}
    by_type = {ch.type: ch for ch in conn.channels}
    for kind, on in sorted(s.channels.items()):
        ch = by_type.get(kind)
        if ch is None:
            if on:
                have = ", ".join(sorted(by_type)) or "none"
                p.warnings.append(
                    f"{s.source}: store '{s.name}' of merchant '{m.name}': connection "
                    f"{conn.id} has no {kind} channel (its channels: {have}); DropStream "
                    "offers a channel only when both platforms support it"
                )
            continue
        final[kind] = on
        if ch.enabled != on:
            p.add(
                UpdateChannel(conn.id, ch.id, kind, on),
                m.name,
                s.name,
                Target(T.CONNECTION, conn.id),
                [FieldChange(f"channels.{kind}", ch.enabled, on)],
            )
    return final


def enable(
    p: _Planner, m: DesiredMerchant, s: DesiredStore, ls: Store, conns: Sequence[Connection]
) -> None:
    """One `enable` per disabled connection; the store's own switch rides on the first."""
    if not conns or not p.connectable(m, ls):
        return
    off = [c for c in conns if not c.enabled]
    store_off = not ls.enabled
    if store_off and not off:
        p.add(
            Enable(ls.id, conns[0].id, True, False),
            m.name,
            s.name,
            Target(T.STORE, ls.id),
            [FieldChange("enabled", False, True)],
        )
        return
    for i, conn in enumerate(off):
        first = i == 0
        target = Target(T.STORE, ls.id) if first else Target(T.CONNECTION, conn.id)
        p.add(
            Enable(ls.id, conn.id, store_off and first, True),
            m.name,
            s.name,
            target,
            [FieldChange("enabled", False, True)],
        )


def disable(
    p: _Planner,
    m: DesiredMerchant,
    store: str,
    ls: Store,
    conns: Sequence[Connection],
    protect: bool,
    reason: str,
) -> None:
    """Switch off the store and each of `conns` (the enabled ones): one `disable` for the
    store (with its first connection), one more per further connection."""
    first = conns[0] if conns else None
    p.add(
        Disable(ls.id, first.id if first else None, ls.enabled, first is not None, reason),
        m.name,
        store,
        Target(T.STORE, ls.id),
        [FieldChange("enabled", True, False)],
    )
    for conn in conns[1:]:
        p.add(
            Disable(ls.id, conn.id, False, True, reason),
            m.name,
            store,
            Target(T.CONNECTION, conn.id),
            [FieldChange("enabled", True, False)],
        )
    if protect:
        p.blocked.append(
            f"store '{store}' of merchant '{m.name}' is protected "
            "(protect: true) and would be disabled"
        )


def unmanaged(
    p: _Planner, m: DesiredMerchant, s: DesiredStore, ls: Store, others: Sequence[Connection]
) -> None:
    """Live connections of the store to warehouses the config does not name."""
    for conn in others:
        if conn.enabled and m.prune and not s.protect:
            p.add(
                Disable(
                    ls.id,
                    conn.id,
                    False,
                    True,
                    f"pruned: warehouse {conn.warehouse_id} is not in the config",
                ),
                m.name,
                s.name,
                Target(T.CONNECTION, conn.id),
                [FieldChange("enabled", True, False)],
            )
            continue
        kept = (
            "disabled; left as it is"
            if not conn.enabled
            else "kept: the store is protected"
            if m.prune
            else "left enabled (prune: true disables it)"
        )
        p.warnings.append(
            f"{s.source}: store '{s.name}' of merchant '{m.name}' has a connection "
            f"({conn.id}) to warehouse {conn.warehouse_id}, which the config does not name: "
            f"{kept}"
        )


def prunable(p: _Planner, ls: Store) -> bool:
    """Whether prune_store would disable anything of `ls`: it, or a connection, is on."""
    return ls.enabled or any(c.enabled for c in p.ix.connections.get(ls.id, []))


def prune_store(p: _Planner, m: DesiredMerchant, ls: Store) -> bool:
    """A live store the config does not list: off, with every enabled connection."""
    conns = [c for c in p.ix.connections.get(ls.id, []) if c.enabled]
    if prunable(p, ls):
        disable(p, m, ls.name, ls, conns, False, "pruned: the store is not in the config")
        return True
    return False
