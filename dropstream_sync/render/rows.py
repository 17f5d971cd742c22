"""One row model of a Plan, shared by every renderer (text, markdown).

Building the rows once keeps the renderers to layout: each says the same thing about
the same change, in the same order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dropstream_sync.planner.model import Change, Pending, Plan

SYMBOL = {
    "create_merchant": "+", "create_store": "+", "create_connection": "+",
    "update_store": "~", "update_connection": "~", "enable": "~",
    "invite": ">", "reinvite": ">", "cancel_invite": "-", "disable": "-",
}


@dataclass(frozen=True)
class Row:
    symbol: str
    text: str
    details: tuple[str, ...] = ()


@dataclass
class MerchantRows:
    merchant: str
    changes: list[Row] = field(default_factory=list)
    pending: list[Row] = field(default_factory=list)


def value(v: Any) -> str:
    if v is None:
        return "(unset)"
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v) if isinstance(v, str) and not v.isidentifier() else str(v)


def change_row(c: Change) -> Row:
    d = c.detail
    store = f'"{c.store}"'
    fields = tuple(f"{f.path}: {value(f.before)} → {value(f.after)}" for f in c.fields)
    if c.kind == "create_merchant":
        return Row("+", f'create merchant "{c.merchant}"')
    if c.kind == "create_store":
        market = next((f.after for f in c.fields if f.path == "marketplace"), "")
        # From `fields`, not `detail["settings"]`: a list keeps its order through a saved
        # plan, a dict does not (sort_keys), and `show` must print what `plan` printed.
        settings = tuple(f"{f.path}: {value(f.after)}" for f in c.fields
                         if f.path not in ("name", "marketplace"))
        return Row("+", f"create store {store} ({market}, created disabled)", settings)
    if c.kind == "update_store":
        return Row("~", f"update store {store} (id {c.target.id})", fields)
    if c.kind == "cancel_invite":
        return Row("-", f"cancel invite {d.get('request_id')} to {d.get('email')} for {store}",
                   (d["reason"],) if d.get("reason") else ())
    if c.kind == "invite":
        # A store that was authorized once (expired, revoked) says so: a merchant who revoked
        # the app may need a call, not just an email. "missing" is every new store: left out.
        reason = d.get("reason")
        why = (reason,) if reason and reason != "authorization missing" else ()
        return Row(">", f"invite {d.get('email')} to authorize {store}", why)
    if c.kind == "reinvite":
        why = (d["reason"],) if d.get("reason") else ()
        return Row(">", f"re-invite {d.get('email')} to authorize {store}", why)
    if c.kind == "create_connection":
        state = "enabled" if d.get("enable") else "disabled"
        return Row("+", f"create connection {store} (warehouse {d.get('warehouse_id')}, "
                        f"{state}; billed)")
    if c.kind == "update_connection":
        return Row("~", f"update connection {store} (id {c.target.id})", fields)
    if c.kind == "enable":
        parts = [p for p, on in (("store", d.get("store")), ("connection", d.get("connection")))
                 if on]
        return Row("~", f"enable {store} ({' and '.join(parts)})")
    if c.kind == "disable":
        parts = [p for p, on in (("store", d.get("store")), ("connection", d.get("connection")))
                 if on]
        why = (d["reason"],) if d.get("reason") else ()
        return Row("-", f"disable {store} ({' and '.join(parts)})", why)
    return Row("?", f"{c.kind} {store}", fields)


def pending_row(p: Pending) -> Row:
    return Row("…", f'"{p.store}": {p.message}')


def merchant_rows(plan: Plan) -> list[MerchantRows]:
    groups: dict[str, MerchantRows] = {}
    for c in plan.changes:
        groups.setdefault(c.merchant, MerchantRows(c.merchant)).changes.append(change_row(c))
    for p in plan.pending:
        groups.setdefault(p.merchant, MerchantRows(p.merchant)).pending.append(pending_row(p))
    return [groups[name] for name in sorted(groups)]


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    pending = f"{s['pending']} pending" if s["pending"] else ""
    if not plan.changes:
        return "No changes." + (f" {pending}." if pending else "")
    parts = []
    for kinds, label in (
        (("create_merchant",), "merchant(s) to create"),
        (("create_store",), "store(s) to create"),
        (("update_store", "update_connection"), "to update"),
        (("enable",), "to enable"),
        (("disable",), "to disable"),
        (("invite", "reinvite"), "invite(s)"),
        (("cancel_invite",), "invite(s) to cancel"),
        (("create_connection",), "connection(s) to create"),
    ):
        n = sum(s[k] for k in kinds)
        if n:
            parts.append(f"{n} {label}")
    text = "Plan: " + ", ".join(parts)
    if s["connections_billed"]:
        text += f" (+{s['connections_billed']} connection(s) billed)"
    if pending:
        text += f"; {pending}"
    return text + "."
