"""One row model of a Plan, shared by every renderer (text, markdown).

Building the rows once keeps the renderers to layout: each says the same thing about
the same change, in the same order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from dropstream_sync.live import AuthStatus
from dropstream_sync.planner.costs import cost_of
from dropstream_sync.planner.model import (
    CancelInvite,
    Change,
    ChangeKind,
    CreateConnection,
    Disable,
    Enable,
    Invite,
    NeutralizeDuplicate,
    Pending,
    PendingKind,
    Plan,
    Reinvite,
    UpdateChannel,
)
from dropstream_sync.timestamps import FORMAT

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
    pending: list[Row] = field(default_factory=list)  # every item, or one summary row
    pending_count: int = 0  # the items, however many rows show them


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
    settings = tuple(
        f"{f.path}: {value(f.after)}" for f in c.fields if f.path not in ("name", "marketplace")
    )
    return Row("+", f"create store {_quoted(c)} ({market}, created disabled)", settings)


def _update_store(c: Change) -> Row:
    return Row("~", f"update store {_quoted(c)} (id {c.target.id})", _field_lines(c))


def _cancel_invite(c: Change) -> Row:
    d = c.detail_as(CancelInvite)
    return Row("-", f"cancel invite {d.request_id} to {d.email} for {_quoted(c)}", _why(d.reason))


def _neutralize_duplicate(c: Change) -> Row:
    d = c.detail_as(NeutralizeDuplicate)
    what = f"{d.object_type} {d.object_id}"
    lines = [f"name: {value(d.name)} → {value(d.new_name)}"]
    if d.object_type == "customer" and d.store_ids:
        lines.append("disable its store(s) " + ", ".join(map(str, d.store_ids)))
    elif d.store_ids:
        lines.append("enabled: true → false")
    if d.request_ids:
        lines.append("cancel pending invite(s) " + ", ".join(map(str, d.request_ids)))
    return Row(
        "-",
        f"neutralize duplicate {what} of {value(d.name)} (keeps {d.object_type} "
        f"{d.kept_id}, the lowest id)",
        tuple(lines),
    )


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
    return Row("+", f"create connection {_quoted(c)} (warehouse {d.warehouse_id}, {state})")


def _update_connection(c: Change) -> Row:
    return Row("~", f"update connection {_quoted(c)} (id {c.target.id})", _field_lines(c))


def _update_channel(c: Change) -> Row:
    d = c.detail_as(UpdateChannel)
    before, after = ("disabled", "enabled") if d.enable else ("enabled", "disabled")
    return Row("~", f"channel {d.type} on {_quoted(c)}: {before} → {after}")


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
    K.NEUTRALIZE_DUPLICATE: _neutralize_duplicate,
    K.INVITE: _invite,
    K.REINVITE: _reinvite,
    K.CREATE_CONNECTION: _create_connection,
    K.UPDATE_CONNECTION: _update_connection,
    K.UPDATE_CHANNEL: _update_channel,
    K.ENABLE: _enable,
    K.DISABLE: _disable,
}
assert set(_ROWS) == set(ChangeKind), "every change kind has a row"


def change_row(c: Change) -> Row:
    row = _ROWS[c.kind](c)
    # What the change costs follows what it does, in every format (planner/costs.py).
    costs = tuple(f"cost: {label}" for label in cost_of(c.kind))
    return Row(row.symbol, row.text, row.details + costs) if costs else row


# -- pending items -------------------------------------------------------------------------
# A plan at 500 merchants holds thousands of them, the same from one run to the next: by
# default a merchant's pending items are one line of counts, and every time is an age
# relative to the plan's `created_at`, the moment the plan describes.

_PENDING_LABELS: Final[dict[PendingKind, str]] = {
    PendingKind.AWAITING_MERCHANT: "awaiting the merchant",
    PendingKind.QUEUED: "queued for the next run (max_invites_per_run)",
    PendingKind.NEEDS_UI_AUTHORIZATION: "to authorize in the DropStream UI (no email)",
    PendingKind.SEND_FROM_UI: "to send from the DropStream UI (no invite endpoint)",
}
assert set(_PENDING_LABELS) == set(PendingKind), "every pending kind has a label"


def _moment(stamp: object) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.strptime(stamp, FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def span(seconds: float) -> str:
    """A duration as a person reads it: minutes under an hour, hours under a day, else days."""
    s = abs(seconds)
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = round(s / 3600)
    if hours < 24:
        return f"{hours} h"
    return f"{round(s / 86400)} d"


def _ago(event: datetime, now: datetime) -> str:
    seconds = (now - event).total_seconds()
    if abs(seconds) < 30:
        return "just now"
    return f"{span(seconds)} ago" if seconds > 0 else f"in {span(seconds)}"


def _sent_and_expiry(detail: Any, now: datetime | None) -> str | None:
    """'sent 2 d ago, expires in 5 d' from an invitation's times; None without them."""
    sent, expires = _moment(detail.get("created_at")), _moment(detail.get("expires_at"))
    if now is None or sent is None:
        return None
    text = f"sent {_ago(sent, now)}"
    if expires is not None:
        text += (
            f", expires in {span((expires - now).total_seconds())}"
            if expires > now
            else f", expired {_ago(expires, now)}"
        )
    return text


def pending_row(p: Pending, now: datetime | None = None) -> Row:
    """One pending item; an invitation's times as ages from `now` (the plan's time)."""
    if p.kind is PendingKind.AWAITING_MERCHANT:
        when = _sent_and_expiry(p.detail, now)
        email = p.detail.get("email")
        if when is not None and isinstance(email, str):
            return Row("…", f'"{p.store}": waiting for {email}, {when}')
    return Row("…", f'"{p.store}": {p.message}')


def pending_summary(items: Sequence[Pending], now: datetime | None = None) -> Row:
    """A merchant's pending items as one line: counts by reason, the oldest invitation's age."""
    counts = Counter(p.kind for p in items)
    parts = []
    for kind, label in _PENDING_LABELS.items():
        n = counts[kind]
        if not n:
            continue
        part = f"{n} {label}"
        if kind is PendingKind.AWAITING_MERCHANT:
            waiting = [p for p in items if p.kind is kind]
            oldest = min(waiting, key=lambda p: str(p.detail.get("created_at") or "~"))
            when = _sent_and_expiry(oldest.detail, now)
            if when is not None:
                part += f" ({'oldest ' if n > 1 else ''}{when})"
        parts.append(part)
    return Row("…", "; ".join(parts))


def merchant_rows(plan: Plan, *, show_pending: bool = False) -> list[MerchantRows]:
    """The plan's rows per merchant, sorted by name; with `show_pending` every pending item,
    else one summary row per merchant that has any."""
    now = _moment(plan.created_at)
    groups: dict[str, MerchantRows] = {}
    for c in plan.changes:
        groups.setdefault(c.merchant, MerchantRows(c.merchant)).changes.append(change_row(c))
    waiting: dict[str, list[Pending]] = {}
    for p in plan.pending:
        waiting.setdefault(p.merchant, []).append(p)
    for merchant, items in waiting.items():
        group = groups.setdefault(merchant, MerchantRows(merchant))
        group.pending_count = len(items)
        # One item is one line either way, and its own says more than a count.
        group.pending = (
            [pending_row(p, now) for p in items]
            if show_pending or len(items) == 1
            else [pending_summary(items, now)]
        )
    return [groups[name] for name in sorted(groups)]


_SUMMARY: Final[tuple[tuple[tuple[ChangeKind, ...], str], ...]] = (
    ((K.CREATE_MERCHANT,), "merchant(s) to create"),
    ((K.CREATE_STORE,), "store(s) to create"),
    ((K.UPDATE_STORE, K.UPDATE_CONNECTION, K.UPDATE_CHANNEL), "to update"),
    ((K.ENABLE,), "to enable"),
    ((K.DISABLE,), "to disable"),
    ((K.INVITE, K.REINVITE), "invite(s)"),
    ((K.CANCEL_INVITE,), "invite(s) to cancel"),
    ((K.NEUTRALIZE_DUPLICATE,), "duplicate(s) to neutralize"),
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
    billed = []
    if s["connections_billed"]:
        billed.append(f"+{s['connections_billed']} connection(s) billed")
    still = s["billing"]["connections_disabled_still_billed"]
    if still:
        billed.append(f"{still} disabled connection(s) still billed")
    if billed:
        text += f" ({'; '.join(billed)})"
    if pending:
        text += f"; {pending}"
    return text + "."
