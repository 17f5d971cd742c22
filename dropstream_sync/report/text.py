"""The words each renderer puts in a store's cells, so html and markdown agree."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from dropstream_sync.live import AUTH_WORDS
from dropstream_sync.planner.plan import (
    CHECK_THE_STORE,
    unknown_authorization,
    unknown_invitation,
)
from dropstream_sync.render.rows import value
from dropstream_sync.report.model import Invitation, StoreRow

STATUS_WORDS = {
    "authorized": "authorized",
    "pending": "invitation pending",
    "missing": "not authorized",
    "expired": "expired",
    "revoked": "revoked",
    # Not "not authorized": nobody knows, and the merchant is asked for nothing.
    "unknown": "authorization unreadable",
}
_UNAUTHORIZED = frozenset({"missing", "expired", "revoked"})
# What the pages say of the `unknown` stores, beside their count (the plan's own words).
UNKNOWN_NOTE = (
    "store(s) whose Amazon authorization, or invitation, this tool could not read: the plan "
    f"invites nobody for them; {CHECK_THE_STORE}"
)


def status_text(s: StoreRow) -> str:
    # `unknown` of a store known to be not authorized: it is the invitation nobody can read.
    unread_invitation = s.status == "unknown" and s.authorization in AUTH_WORDS
    text = "invitation unreadable" if unread_invitation else STATUS_WORDS[s.status]
    if s.store_id is None:
        text += " (store not created yet)"
    elif not s.managed:
        text += " (not in the config)"
    if s.status == "pending" and s.authorization not in ("missing", "authorized"):
        text += f" (was {s.authorization})"
    elif s.status == "unknown":
        if unread_invitation and s.invitation is not None:
            i = s.invitation
            text += f": {s.authorization}, and its {unknown_invitation(i.request_id, i.status)}"
        else:
            text += f": it {unknown_authorization(s.authorization)}"
        # The plan warns of a store it wants authorized; one it does not want needs no one.
        text += f"; {CHECK_THE_STORE}" if s.wanted else ""
    return text


def expiry_text(s: StoreRow, now: datetime) -> str:
    if s.expires_at is None or s.days_to_expiry is None:
        return "-"
    when = f"{s.expires_at:%Y-%m-%d}"
    if s.expires_at <= now:
        # Lapsed (this very second too, when the days to expiry are still 0). The whole
        # days since, rounded down like every count: the days to expiry round the other
        # way (lapsed 5 days and a minute ago is -6 days to expiry).
        return f"lapsed {when} ({(now - s.expires_at).days} days ago)"
    text = f"{when} (in {s.days_to_expiry} days)"
    return text + ", renewal due" if s.in_renewal_window else text


def canceled_text(i: Invitation) -> str:
    """What the tables add of an invitation the plan cancels: it is still waiting, and
    listed as such, but nobody should chase the merchant over it."""
    if i.canceled_by_plan is None:
        return ""
    return f"; the next apply cancels it ({i.canceled_by_plan})"


def invitation_text(s: StoreRow, now: datetime) -> str:
    i = s.invitation
    if i is None:
        return "-"
    state = f"expires {i.expires_at:%Y-%m-%d}" if i.expires_in_days >= 0 else "expired"
    if i.canceled_by_plan is not None:
        state += canceled_text(i)
    elif i.status != "pending":
        state += f", reads {i.status!a}"
    elif s.status in _UNAUTHORIZED and i.expires_at > now:
        # Still waiting, yet the store is not counted pending: the link went to another
        # address than the config's, and the plan's `reinvite` replaces it.
        state += "; not the config's email: the plan replaces it"
    return f"to {i.email}, {i.age_days} days old, {state}"


def connection_text(s: StoreRow) -> str:
    store = "" if s.store_enabled is None else ("store on" if s.store_enabled else "store off")
    if not s.connections:
        return f"no connection, {store}" if store else "no connection"
    parts = [
        f"#{c.id} warehouse {c.warehouse_id} {'enabled' if c.enabled else 'disabled'}"
        for c in s.connections
    ]
    return "; ".join(parts) + (f"; {store}" if store else "")


def channels_text(s: StoreRow) -> str:
    channels = [ch for c in s.connections for ch in c.channels]
    if not channels:
        return "-"
    return ", ".join(f"{ch.type} {'on' if ch.enabled else 'off'}" for ch in channels)


def value_text(v: object) -> str:
    """A value as the plan's text spells it (render/rows.py), but a text bare: in a table
    cell the quotes the plan puts around one with spaces would only be noise."""
    return str(v) if isinstance(v, str) else value(v)


def drift_text(s: StoreRow) -> str:
    if not s.drift:
        return "-"
    return "; ".join(
        f"{d.path}: live {value_text(d.before)}, config {value_text(d.after)}" for d in s.drift
    )


class StoreCells(NamedTuple):
    """A store row's cells after its name and market, in the order both pages show them."""

    status: str
    expiry: str
    invitation: str
    seller: str
    connection: str
    channels: str
    drift: str


def store_cells(s: StoreRow, now: datetime) -> StoreCells:
    return StoreCells(
        status_text(s),
        expiry_text(s, now),
        invitation_text(s, now),
        s.seller_id or "-",
        connection_text(s),
        channels_text(s),
        drift_text(s),
    )
