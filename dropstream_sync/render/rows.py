"""One row model of a Plan, shared by every renderer (text, markdown).

Building the rows once keeps the renderers to layout: each says the same thing about
the same change, in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from dropstream_sync.live import AuthStatus
from dropstream_sync.planner.model import (
    CancelInvite,
    Change,
    ChangeKind,
    CreateConnection,
    Disable,
    Enable,
    Invite,
    Pending,
    Plan,
    Reinvite,
)

K = ChangeKind


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


def _quoted(c: Change) -> str:
    return f'"{c.store}"'


def _field_lines(c: Change) -> tuple[str, ...]:
    return tuple(f"{f.path}: {value(f.before)} → {value(f.after)}" for f in c.fields)


def _why(reason: str | None) -> tuple[str, ...]:
    return (reason,) if reason else ()


def _parts(store: bool, connection: bool) -> str:
    return " and ".join(p for p, on in (("store", store), ("connection", connection)) if on)


def _create_merchant(c: Change) -> Row:
    return Row("+", f'create merchant "{c.merchant}"')


def _create_store(c: Change) -> Row:
    market = next((f.after for f in c.fields if f.path == "marketplace"), "")
    # From `fields`, not the detail's settings: a list keeps its order through a saved
    # plan, a dict does not (sort_keys), and `show` must print what `plan` printed.
    settings = tuple(f"{f.path}: {value(f.after)}" for f in c.fields
                     if f.path not in ("name", "marketplace"))
    return Row("+", f"create store {_quoted(c)} ({market}, created disabled)", settings)


def _update_store(c: Change) -> Row:
    return Row("~", f"update store {_quoted(c)} (id {c.target.id})", _field_lines(c))


def _cancel_invite(c: Change) -> Row:
    d = c.detail_as(CancelInvite)
    return Row("-", f"cancel invite {d.request_id} to {d.email} for {_quoted(c)}", _why(d.reason))


def _invite(c: Change) -> Row:
    d = c.detail_as(Invite)
    # A store that was authorized once (expired, revoked) says so: a merchant who revoked
    # the app may need a call, not just an email. "missing" is every new store: left out.
    why = _why(d.reason if d.reason != f"authorization {AuthStatus.MISSING}" else None)
    return Row(">", f"invite {d.email} to authorize {_quoted(c)}", why)


def _reinvite(c: Change) -> Row:
    d = c.detail_as(Reinvite)
    return Row(">", f"re-invite {d.email} to authorize {_quoted(c)}", _why(d.reason))


def _create_connection(c: Change) -> Row:
    d = c.detail_as(CreateConnection)
    state = "enabled" if d.enable else "disabled"
    return Row("+", f"create connection {_quoted(c)} (warehouse {d.warehouse_id}, "
                    f"{state}; billed)")


def _update_connection(c: Change) -> Row:
    return Row("~", f"update connection {_quoted(c)} (id {c.target.id})", _field_lines(c))


def _enable(c: Change) -> Row:
    d = c.detail_as(Enable)
    return Row("~", f"enable {_quoted(c)} ({_parts(d.store, d.connection)})")


def _disable(c: Change) -> Row:
    d = c.detail_as(Disable)
    return Row("-", f"disable {_quoted(c)} ({_parts(d.store, d.connection)})", _why(d.reason))


_ROWS: Final[dict[ChangeKind, Callable[[Change], Row]]] = {
    K.CREATE_MERCHANT: _create_merchant,
    K.CREATE_STORE: _create_store,
    K.UPDATE_STORE: _update_store,
    K.CANCEL_INVITE: _cancel_invite,
    K.INVITE: _invite,
    K.REINVITE: _reinvite,
    K.CREATE_CONNECTION: _create_connection,
    K.UPDATE_CONNECTION: _update_connection,
    K.ENABLE: _enable,
    K.DISABLE: _disable,
}
assert set(_ROWS) == set(ChangeKind), "every change kind has a row"


def change_row(c: Change) -> Row:
    return _ROWS[c.kind](c)


def pending_row(p: Pending) -> Row:
    return Row("…", f'"{p.store}": {p.message}')


def merchant_rows(plan: Plan) -> list[MerchantRows]:
    groups: dict[str, MerchantRows] = {}
    for c in plan.changes:
        groups.setdefault(c.merchant, MerchantRows(c.merchant)).changes.append(change_row(c))
    for p in plan.pending:
        groups.setdefault(p.merchant, MerchantRows(p.merchant)).pending.append(pending_row(p))
    return [groups[name] for name in sorted(groups)]


_SUMMARY: Final[tuple[tuple[tuple[ChangeKind, ...], str], ...]] = (
    ((K.CREATE_MERCHANT,), "merchant(s) to create"),
    ((K.CREATE_STORE,), "store(s) to create"),
    ((K.UPDATE_STORE, K.UPDATE_CONNECTION), "to update"),
    ((K.ENABLE,), "to enable"),
    ((K.DISABLE,), "to disable"),
    ((K.INVITE, K.REINVITE), "invite(s)"),
    ((K.CANCEL_INVITE,), "invite(s) to cancel"),
    ((K.CREATE_CONNECTION,), "connection(s) to create"),
)


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    pending = f"{s['pending']} pending" if s["pending"] else ""
    if not plan.changes:
        return "No changes." + (f" {pending}." if pending else "")
    parts = []
    for kinds, label in _SUMMARY:
        n = sum(s[k] for k in kinds)
        if n:
            parts.append(f"{n} {label}")
    text = "Plan: " + ", ".join(parts)
    if s["connections_billed"]:
        text += f" (+{s['connections_billed']} connection(s) billed)"
    if pending:
        text += f"; {pending}"
    return text + "."
