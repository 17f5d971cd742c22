"""Import: the live account written as configuration.

The YAML pins every store id and leaves out settings equal to the built-in defaults, so
that planning it against the same account gives no changes. Every connection of a store
is written (`warehouses:` when there are several; none, with a note, when one of them has a
description the config cannot name it by), with the channels they agree on, and a
switched-off store is written `enabled: false`. What the API cannot tell (a merchant's
invite email) is taken from the merchant's pending authorization request, else its most
recent request of any status (left out, with a note, when the config would refuse it),
and otherwise left out, with a comment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from dropstream_sync import catalog
from dropstream_sync.config import yamlsafe
from dropstream_sync.config.models import is_email, is_name
from dropstream_sync.desired import CHANNEL_TYPES, StoreSettings
from dropstream_sync.live import (
    PLATFORM_AMAZON,
    UNREAD_SETTINGS_CHECK,
    UNREAD_SETTINGS_WHY,
    AuthorizationRequest,
    AuthStatus,
    Connection,
    LiveState,
    RequestStatus,
    Store,
    Warehouse,
    name_key,
)

_DEFAULTS = StoreSettings()
_STATUS_ORDER = {s: i for i, s in enumerate(catalog.ORDER_STATUSES)}

HEADER = """\
# Written by `dropstream-sync import` from the live DropStream account.
# Store ids are pinned, so renaming a store here is an update, not a new store.
# Add `email:` to a merchant to send it Amazon authorization invites.
# For editor completion: `dropstream-sync schema > stores.schema.json` and a first line
# `# yaml-language-server: $schema=stores.schema.json`.
"""


def live_to_config(
    live: LiveState,
    merchant_names: Collection[str] | None = None,
    history: Iterable[AuthorizationRequest] = (),
) -> dict[str, Any]:
    """The config document (version 1) for the merchants with Amazon stores, or those named;
    `history`: authorization requests of any status (one list read), for the emails."""
    wanted = _wanted(merchant_names)
    stores_by_customer: dict[int, list[Store]] = {}
    for store in live.stores:
        if store.platform == PLATFORM_AMAZON:
            stores_by_customer.setdefault(store.customer_id, []).append(store)
    first_warehouse = _first_warehouses(live)
    warehouse_name = _nameable(live.warehouses)
    connections_of = _connections_of(live)
    pending = {r.store_id for r in live.authorization_requests if r.status == RequestStatus.PENDING}
    email_of = _held_emails(live, _invite_emails(live, history))

    merchants = []
    for customer in sorted(live.customers, key=lambda c: (c.company_name, c.id)):
        if not _in_scope(customer.company_name, wanted):
            continue
        stores = sorted(stores_by_customer.get(customer.id, []), key=lambda s: (s.name, s.id))
        if not stores:
            continue
        merchant: dict[str, Any] = {"name": _merchant_name(customer.company_name)}
        if customer.id in email_of:
            merchant["email"] = email_of[customer.id]
        merchant["stores"] = [
            _store(
                s,
                connections_of.get(s.id, []),
                first_warehouse.get(customer.id),
                warehouse_name,
                s.id in pending or customer.id not in email_of,
            )
            for s in stores
            if s.marketplace_id in catalog.BY_ID
        ]
        merchants.append(merchant)
    return {"version": 1, "merchants": merchants}


def _invite_emails(live: LiveState, history: Iterable[AuthorizationRequest]) -> dict[int, str]:
    """Customer id -> the email its invitations went to, as the file would write it."""
    email_of: dict[int, str] = {}
    # A pending invitation's email wins (the newest, if several): another email would make
    # the first plan cancel it and send a new one. Without one, the most recent request
    # of any status: a merchant whose last invitation was completed keeps its email, so
    # renewals can be sent again.
    requests = {r.id: r for r in (*history, *live.authorization_requests)}.values()
    for request in sorted(
        requests, key=lambda r: (r.status == RequestStatus.PENDING, r.created_at, r.id)
    ):
        if request.email:
            email_of[request.customer_id] = request.email
    return email_of


def _held_emails(live: LiveState, emails: Mapping[int, str]) -> dict[int, str]:
    """The emails the file writes, of the invitations' `emails` (_invite_emails): an old
    invitation's email the config would refuse
    (DropStream keeps what it was sent: a space, no dot in the domain) is left out, with a
    note (left_out): written, it made the whole file fail to validate and plan, for a hint
    the account does not need; left out, the merchant is one with no email, as planned.
    A pending invitation's is written all the same: left out, the plan would cancel the
    invitation the merchant may be about to accept, so the file says it must be fixed."""
    waiting = _waiting(live)
    return {c: e for c, e in emails.items() if is_email(e) or c in waiting}


def _waiting(live: LiveState) -> set[int]:
    """Customer ids with a pending invitation."""
    return {r.customer_id for r in live.authorization_requests if r.status == RequestStatus.PENDING}


def _wanted(merchant_names: Collection[str] | None) -> set[str] | None:
    """The merchants asked for (`--merchant`), as names are compared (live.name_key): the
    client reads "Café" typed precomposed as the live customer spelt with a combining
    accent, so the document must hold it too, not drop it as another merchant."""
    return {name_key(n) for n in merchant_names} if merchant_names else None


def _in_scope(merchant: str, wanted: set[str] | None) -> bool:
    """Whether the merchant of this company name is one the document is for: every
    merchant when none was asked for, else one of `wanted` (_wanted), compared by name_key."""
    return wanted is None or name_key(merchant) in wanted


def _first_warehouses(live: LiveState) -> dict[int, int]:
    """Customer id -> its first (default) warehouse: the one a store names none for."""
    first: dict[int, int] = {}
    for wh in sorted(live.warehouses, key=lambda w: w.id):
        first.setdefault(wh.customer_id, wh.id)
    return first


def _connections_of(live: LiveState) -> dict[int, list[Connection]]:
    """Store id -> its connections, oldest first (the document and its notes agree)."""
    of: dict[int, list[Connection]] = {}
    for c in sorted(live.connections, key=lambda c: c.id):
        of.setdefault(c.store_id, []).append(c)
    return of


def _nameable(warehouses: Iterable[Warehouse]) -> dict[int, Warehouse]:
    """Warehouse id -> the warehouse, for the warehouses a config can name: `warehouse:`
    is a description, looked up among the merchant's warehouses (the first of that
    description wins), and must be a valid config name. Two warehouses described alike
    (the UI allows it), or a description of spaces, name neither."""
    warehouses = list(warehouses)
    alike = _alike(warehouses)
    return {
        w.id: w
        for w in warehouses
        if alike[(w.customer_id, name_key(w.description))] == 1 and is_name(w.description)
    }


def _alike(warehouses: Iterable[Warehouse]) -> Counter[tuple[int, str]]:
    """How many of a merchant's warehouses have each description, compared as the planner
    looks one up (live.name_key: "Café" precomposed or with a combining accent is one)."""
    return Counter((w.customer_id, name_key(w.description)) for w in warehouses)


def _named_for(nameable: dict[int, Warehouse], warehouse_id: int, store: Store) -> bool:
    """Whether the store's config entry can name this warehouse: one of its merchant's,
    with a description the config can hold (`_nameable`)."""
    warehouse = nameable.get(warehouse_id)
    return warehouse is not None and warehouse.customer_id == store.customer_id


def _written(warehouses: list[int], default_wh: int | None) -> bool:
    """Whether a store connected to `warehouses` names them: not when it has no connection,
    or one, to the merchant's default warehouse (what naming none means)."""
    return bool(warehouses) and warehouses != [default_wh]


def _why_unnamed(
    warehouse: Warehouse | None, customer_id: int, alike: Counter[tuple[int, str]]
) -> str:
    if warehouse is None or warehouse.customer_id != customer_id:
        return "is not one of the merchant's warehouses"
    if alike[(customer_id, name_key(warehouse.description))] > 1:
        return f"is described {warehouse.description!r} like another of the merchant's"
    return f"is described {warehouse.description!r} (not a name the config can hold)"


def left_out(
    live: LiveState,
    merchant_names: Collection[str] | None = None,
    history: Iterable[AuthorizationRequest] = (),
) -> list[str]:
    """One line per live Amazon store the document cannot hold: its marketplace is not one
    the config can name (unreadable, or another adapter shape). Said, never silent: the file
    is the account's record, and `prune: true` on it would disable such a store. And one
    per store written without its warehouse, which the config cannot name."""
    wanted = _wanted(merchant_names)
    names = {c.id: c.company_name for c in live.customers}
    lines = _unnamed_warehouses(live, names, wanted)
    for store in sorted(live.stores, key=lambda s: s.id):
        merchant = names.get(store.customer_id)
        if (
            store.platform != PLATFORM_AMAZON
            or store.marketplace_id in catalog.BY_ID
            or merchant is None
            or not _in_scope(merchant, wanted)
        ):
            continue
        lines.append(
            f"note: store {store.id} {store.name!r} of {merchant!r} is not in the file: its "
            f"marketplace ({store.marketplace_id or 'none read'}) is not an Amazon marketplace "
            "the config can name; run `dropstream-sync doctor` to see the adapter's keys"
        )
    lines += _unread_settings(live, names, wanted)
    lines += _unheld_emails(live, history, wanted)
    return _unheld_merchant_names(live, wanted) + lines


def _unheld_emails(
    live: LiveState, history: Iterable[AuthorizationRequest], wanted: set[str] | None
) -> list[str]:
    """One line per written merchant whose last invitation went to an email the config
    cannot hold, so the file has no `email:` for it (_held_emails)."""
    amazon = {s.customer_id for s in live.stores if s.platform == PLATFORM_AMAZON}
    emails = _invite_emails(live, history)
    held = _held_emails(live, emails)
    lines = []
    for customer in sorted(live.customers, key=lambda c: (c.company_name, c.id)):
        email = emails.get(customer.id)
        if (
            email is None
            or customer.id in held
            or customer.id not in amazon
            or not _in_scope(customer.company_name, wanted)
        ):
            continue
        lines.append(
            f"note: merchant {customer.company_name!r} is written without `email:`: its last "
            f"invitation went to {email!r}, which is not an email address the config can "
            "hold; with no email the plan sends it no invites: add `email:` with its "
            "address to send them"
        )
    return lines


def _written_merchant(store: Store, names: dict[int, str], wanted: set[str] | None) -> str | None:
    """The merchant of a store the document holds (an Amazon store of a marketplace the
    config can name, of a merchant in scope), else None."""
    merchant = names.get(store.customer_id)
    if (
        store.platform != PLATFORM_AMAZON
        or store.marketplace_id not in catalog.BY_ID
        or merchant is None
        or not _in_scope(merchant, wanted)
    ):
        return None
    return merchant


def _unread_settings(live: LiveState, names: dict[int, str], wanted: set[str] | None) -> list[str]:
    """One line per written store whose adapter does not carry some settings (Store.
    unread_settings): the file leaves them out, which reads as the defaults, so an AFN store
    would be recorded as MFN; the plan leaves them alone, but the file is not their record."""
    lines = []
    for store in sorted(live.stores, key=lambda s: s.id):
        merchant = _written_merchant(store, names, wanted)
        if merchant is None or not store.unread_settings:
            continue
        lines.append(
            f"note: store {store.id} {store.name!r} of {merchant!r} is written without "
            f"{', '.join(store.unread_settings)}: they {UNREAD_SETTINGS_WHY}, so the file "
            f"shows the defaults, not what DropStream holds; {UNREAD_SETTINGS_CHECK}"
        )
    return lines


def _store(
    store: Store,
    connections: list[Connection],
    default_wh: int | None,
    names: dict[int, Warehouse],
    no_invite: bool,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": store.name,
        "id": store.id,
        "marketplace": catalog.BY_ID[store.marketplace_id or ""].code,
    }
    entry.update(_settings(store))
    warehouses = list(dict.fromkeys(c.warehouse_id for c in connections))
    # A warehouse the config cannot name (left_out() says which) is not written, nor are
    # the store's others: naming none keeps every live connection of the store as it is,
    # where another warehouse's description would plan a new, billed connection to that.
    if _written(warehouses, default_wh) and all(_named_for(names, w, store) for w in warehouses):
        if len(warehouses) > 1:
            entry["warehouses"] = [names[w].description for w in warehouses]
        else:
            entry["warehouse"] = names[warehouses[0]].description
    channels = _channels(connections)
    if channels:
        entry["channels"] = channels
    # A switched-off store stays off: `enabled: true` would invite or enable it. Left
    # enabled only where that plans no invite: a store not yet authorized that waits for
    # its merchant (a pending request, which `enabled: false` would cancel, or no email:
    # the merchant authorizes in the UI, and the plan keeps showing that).
    authorized = store.authorization.status == AuthStatus.AUTHORIZED
    if not store.enabled and not (no_invite and not authorized):
        entry["enabled"] = False
    return entry


def _channels(connections: list[Connection]) -> dict[str, bool]:
    """The channel states every connection of the store agrees on (one `channels:` applies
    to all of them; a type they differ on is left out: not managed, left as it is)."""
    known = [c.channels for c in connections if c.channels is not None]
    if not known:
        return {}
    states: dict[str, set[bool]] = {}
    for channels in known:
        for ch in channels:
            states.setdefault(ch.type, set()).add(ch.enabled)
    present = [{ch.type for ch in channels} for channels in known]
    order = {kind: i for i, kind in enumerate(CHANNEL_TYPES)}
    return {
        kind: next(iter(values))
        for kind, values in sorted(states.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
        if len(values) == 1 and all(kind in p for p in present) and kind in order
    }


def _settings(store: Store) -> dict[str, Any]:
    """The store's settings that differ from the built-in defaults (left out: planning the
    file then gives no changes), statuses in their canonical spelling and Amazon's order."""
    out: dict[str, Any] = {}
    for name in StoreSettings.names():
        if name in store.unread_settings:
            continue  # not read: its value is a default, not the store's (left_out() says)
        value = getattr(store, name)
        default = getattr(_DEFAULTS, name)
        if name == "import_order_statuses":
            canonical = {catalog.canonical_status(s) or s for s in value}
            if not canonical or canonical == set(default):
                continue
            value = sorted(canonical, key=lambda s: _STATUS_ORDER.get(s, 99))
        elif value is None or value == default:
            continue
        out[name] = value
    return out


def render_config(document: dict[str, Any]) -> str:
    body = yamlsafe.dump(document, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def _unnamed_warehouses(
    live: LiveState, names: dict[int, str], wanted: set[str] | None
) -> list[str]:
    nameable = _nameable(live.warehouses)
    by_id = {w.id: w for w in live.warehouses}
    alike = _alike(live.warehouses)
    first_warehouse = _first_warehouses(live)
    connections_of = _connections_of(live)
    lines = []
    for store in sorted(live.stores, key=lambda s: s.id):
        merchant = _written_merchant(store, names, wanted)
        connections = connections_of.get(store.id, [])
        warehouses = list(dict.fromkeys(c.warehouse_id for c in connections))
        unnamed = next(
            (c for c in connections if not _named_for(nameable, c.warehouse_id, store)), None
        )
        if (
            unnamed is None
            or not _written(warehouses, first_warehouse.get(store.customer_id))
            or merchant is None
        ):
            continue
        why = _why_unnamed(by_id.get(unnamed.warehouse_id), store.customer_id, alike)
        lines.append(
            f"note: store {store.id} {store.name!r} of {merchant!r} is written without "
            f"`warehouse:`: its connection {unnamed.id} goes to warehouse "
            f"{unnamed.warehouse_id}, which {why} (the config names a warehouse by its "
            "description); with no warehouse named, the plan keeps the store's connections "
            "as they are"
        )
    return lines


def _merchant_name(name: str) -> str:
    """The name a merchant is written by: its company name, or, when the config refuses that
    (" Acme", a zero-width space in it) but not the name the planner matches it by
    (live.name_key: surrounding spaces and invisible format characters dropped), that one:
    the plan finds the customer by it and says how DropStream spells it, where the name as
    spelt made the whole file fail to validate and plan."""
    if is_name(name):
        return name
    key = name_key(name)
    return key if is_name(key) else name


def _unheld_merchant_names(live: LiveState, wanted: set[str] | None) -> list[str]:
    """One line per written merchant whose name the config refuses: written as the planner
    matches it (_merchant_name), or, when even that cannot be held ("Love ❤️": a variation
    selector), as it is, which cannot be planned. A store is renamed from the file (its id
    is pinned), a merchant is not: it is found by its name, and another name in the file
    would plan a new merchant, so the note says to rename it in DropStream."""
    amazon = {s.customer_id for s in live.stores if s.platform == PLATFORM_AMAZON}
    lines = []
    for customer in sorted(live.customers, key=lambda c: (c.company_name, c.id)):
        name = customer.company_name
        if is_name(name) or customer.id not in amazon or not _in_scope(name, wanted):
            continue
        written = _merchant_name(name)
        if written != name:
            lines.append(
                f"note: merchant {name!a} (customer {customer.id}) is written as "
                f"{written!r}, the name the plan finds it by: the config cannot hold "
                "surrounding spaces or invisible characters (each plan warns of the "
                "spelling until the customer is renamed in DropStream to match)"
            )
            continue
        lines.append(
            f"note: merchant {name!a} (customer {customer.id}) is written with a name the "
            "config cannot hold (the error below says why); a merchant is found by its "
            "name, so another name in this file would plan a new merchant: rename the "
            "customer in DropStream to a name the config can hold, then import again"
        )
    return lines
