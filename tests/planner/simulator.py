"""A pure in-memory DropStream: applies a Plan's changes to a LiveState, for property tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from dropstream_sync.live import (
    AuthorizationRequest,
    Connection,
    Customer,
    LiveState,
    Store,
    Warehouse,
)
from dropstream_sync.planner import Plan


def apply_in_memory(plan: Plan, live: LiveState, now: datetime) -> LiveState:
    customers = list(live.customers)
    warehouses = list(live.warehouses)
    stores = {s.id: s for s in live.stores}
    connections = {c.id: c for c in live.connections}
    requests = {r.id: r for r in live.authorization_requests}
    created: dict[str, int] = {}
    ids: list[int] = [0, *(c.id for c in customers), *(w.id for w in warehouses), *stores,
                      *connections, *requests]
    next_id = 1 + max(ids)

    def new_id() -> int:
        nonlocal next_id
        next_id += 1
        return next_id

    def ref(detail: Any, key: str) -> int:
        value = detail.get(key)
        return int(value) if value is not None else created[str(detail["refs"][key])]

    for c in plan.changes:
        d = c.detail
        if c.kind == "create_merchant":
            cid = new_id()
            customers.append(Customer(cid, d["company_name"]))
            warehouses.append(Warehouse(new_id(), cid, f"{d['company_name']} Warehouse"))
            created[c.id] = cid
        elif c.kind == "create_store":
            sid = new_id()
            s = d["settings"]
            stores[sid] = Store(sid, ref(d, "customer_id"), d["name"],
                                marketplace_id=d["marketplace_id"],
                                fulfillment_channel=s["fulfillment_channel"],
                                import_order_statuses=tuple(s["import_order_statuses"]),
                                fulfillment_latency=s["fulfillment_latency"],
                                fulfillment_channel_code=s["fulfillment_channel_code"])
            created[c.id] = sid
        elif c.kind == "update_store":
            assert c.target.id is not None
            st = stores[c.target.id]
            patch = dict(d.get("settings_patch", {}))
            if "import_order_statuses" in patch:
                patch["import_order_statuses"] = tuple(patch["import_order_statuses"])
            stores[st.id] = replace(st, name=d.get("name", st.name), **patch)
        elif c.kind == "cancel_invite":
            requests.pop(int(d["request_id"]), None)
        elif c.kind in ("invite", "reinvite"):
            if d.get("cancel_request_id") is not None:
                requests.pop(int(d["cancel_request_id"]), None)
            sid = ref(d, "store_id")
            rid = new_id()
            requests[rid] = AuthorizationRequest(rid, sid, stores[sid].customer_id, d["email"],
                                                 "pending", now, now + timedelta(days=7))
        elif c.kind == "create_connection":
            nid = new_id()
            on = now if d["enable"] else None
            connections[nid] = Connection(nid, d["customer_id"], d["store_id"], d["warehouse_id"],
                                          d["name"], on)
            if on:
                stores[d["store_id"]] = replace(stores[d["store_id"]], enabled_at=on)
        elif c.kind == "update_connection":
            assert c.target.id is not None
            connections[c.target.id] = replace(connections[c.target.id], name=d["name"])
        elif c.kind in ("enable", "disable"):
            on = now if c.kind == "enable" else None
            if d.get("store"):
                stores[d["store_id"]] = replace(stores[d["store_id"]], enabled_at=on)
            if d.get("connection") and d.get("connection_id") is not None:
                cid = int(d["connection_id"])
                connections[cid] = replace(connections[cid], enabled_at=on)
    return LiveState(tuple(customers), tuple(warehouses), tuple(stores.values()),
                     tuple(connections.values()), tuple(requests.values()))
