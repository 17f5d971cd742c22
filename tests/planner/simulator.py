"""A pure in-memory DropStream: applies a Plan's changes to a LiveState, for property tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from dropstream_sync.desired import StoreSettings
from dropstream_sync.live import (
    AuthorizationRequest,
    Connection,
    Customer,
    LiveState,
    Store,
    Warehouse,
)
from dropstream_sync.planner import Plan
from dropstream_sync.planner.model import (
    CancelInvite,
    CreateConnection,
    CreateMerchant,
    CreateStore,
    Disable,
    Enable,
    Invite,
    NeutralizeDuplicate,
    Reinvite,
    UpdateChannel,
    UpdateConnection,
    UpdateStore,
)


def apply_in_memory(plan: Plan, live: LiveState, now: datetime) -> LiveState:
    customers = list(live.customers)
    warehouses = list(live.warehouses)
    stores = {s.id: s for s in live.stores}
    connections = {c.id: c for c in live.connections}
    requests = {r.id: r for r in live.authorization_requests}
    created: dict[str, int] = {}
    ids: list[int] = [
        0,
        *(c.id for c in customers),
        *(w.id for w in warehouses),
        *stores,
        *connections,
        *requests,
    ]
    next_id = 1 + max(ids)

    def new_id() -> int:
        nonlocal next_id
        next_id += 1
        return next_id

    def ref(value: int | None, ref: str | None) -> int:
        return value if value is not None else created[str(ref)]

    for c in plan.changes:
        d = c.detail
        if isinstance(d, CreateMerchant):
            cid = new_id()
            customers.append(Customer(cid, d.company_name))
            warehouses.append(Warehouse(new_id(), cid, f"{d.company_name} Warehouse"))
            created[c.id] = cid
        elif isinstance(d, CreateStore):
            sid = new_id()
            settings = {name: getattr(d.settings, name) for name in StoreSettings.names()}
            settings["import_order_statuses"] = tuple(sorted(d.settings.import_order_statuses))
            stores[sid] = Store(
                sid,
                ref(d.customer_id, d.customer_ref),
                d.name,
                marketplace_id=d.marketplace_id,
                **settings,
            )
            created[c.id] = sid
        elif isinstance(d, UpdateStore):
            assert c.target.id is not None
            st = stores[c.target.id]
            patch = dict(d.settings_patch)
            if "import_order_statuses" in patch:
                patch["import_order_statuses"] = tuple(patch["import_order_statuses"])
            stores[st.id] = replace(st, name=d.name or st.name, **patch)
        elif isinstance(d, CancelInvite):
            requests.pop(d.request_id, None)
        elif isinstance(d, NeutralizeDuplicate):
            for rid in d.request_ids:
                requests.pop(rid, None)
            for sid in d.store_ids:
                stores[sid] = replace(stores[sid], enabled_at=None)
            if d.object_type == "store":
                stores[d.object_id] = replace(stores[d.object_id], name=d.new_name)
            else:
                customers = [
                    Customer(x.id, d.new_name) if x.id == d.object_id else x for x in customers
                ]
        elif isinstance(d, Invite | Reinvite):
            if isinstance(d, Reinvite) and d.cancel_request_id is not None:
                requests.pop(d.cancel_request_id, None)
            sid = ref(d.store_id, d.store_ref if isinstance(d, Invite) else None)
            rid = new_id()
            requests[rid] = AuthorizationRequest(
                rid, sid, stores[sid].customer_id, d.email, "pending", now, now + timedelta(days=7)
            )
        elif isinstance(d, CreateConnection):
            nid = new_id()
            on = now if d.enable else None
            connections[nid] = Connection(
                nid, d.customer_id, d.store_id, d.warehouse_id, d.name, on
            )
            if on:
                stores[d.store_id] = replace(stores[d.store_id], enabled_at=on)
        elif isinstance(d, UpdateConnection):
            assert c.target.id is not None
            connections[c.target.id] = replace(connections[c.target.id], name=d.name)
        elif isinstance(d, UpdateChannel):
            conn = connections[d.connection_id]
            connections[conn.id] = replace(
                conn,
                channels=tuple(
                    replace(ch, enabled_at=now if d.enable else None)
                    if ch.id == d.channel_id
                    else ch
                    for ch in conn.channels or ()
                ),
            )
        elif isinstance(d, Enable | Disable):
            on = now if isinstance(d, Enable) else None
            if d.store:
                stores[d.store_id] = replace(stores[d.store_id], enabled_at=on)
            if d.connection and d.connection_id is not None:
                connections[d.connection_id] = replace(connections[d.connection_id], enabled_at=on)
    return LiveState(
        tuple(customers),
        tuple(warehouses),
        tuple(stores.values()),
        tuple(connections.values()),
        tuple(requests.values()),
    )
