"""Import: the live account written as configuration.

The YAML pins every store id and leaves out settings equal to the built-in defaults, so
that planning it against the same account gives no changes. What the API cannot tell
(a merchant's invite email) is filled in where live state shows it (a pending request's
email) and otherwise left out, with a comment.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from dropstream_sync import catalog
from dropstream_sync.config import yamlsafe
from dropstream_sync.desired import StoreSettings
from dropstream_sync.live import (
    PLATFORM_AMAZON,
    AuthStatus,
    Connection,
    LiveState,
    RequestStatus,
    Store,
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
    live: LiveState, merchant_names: Collection[str] | None = None
) -> dict[str, Any]:
    """The config document (version 1) for the merchants with Amazon stores, or those named."""
    wanted = set(merchant_names) if merchant_names else None
    stores_by_customer: dict[int, list[Store]] = {}
    for store in live.stores:
        if store.platform == PLATFORM_AMAZON:
            stores_by_customer.setdefault(store.customer_id, []).append(store)
    first_warehouse: dict[int, int] = {}
    warehouse_name: dict[int, str] = {}
    for wh in sorted(live.warehouses, key=lambda w: w.id):
        first_warehouse.setdefault(wh.customer_id, wh.id)
        warehouse_name[wh.id] = wh.description
    connection_of = {c.store_id: c for c in sorted(live.connections, key=lambda c: c.id)}
    email_of: dict[int, str] = {}
    for request in sorted(live.authorization_requests, key=lambda r: r.id):
        if request.status == RequestStatus.PENDING:
            email_of[request.customer_id] = request.email

    merchants = []
    for customer in sorted(live.customers, key=lambda c: (c.company_name, c.id)):
        if wanted is not None and customer.company_name not in wanted:
            continue
        stores = sorted(stores_by_customer.get(customer.id, []), key=lambda s: (s.name, s.id))
        if not stores:
            continue
        merchant: dict[str, Any] = {"name": customer.company_name}
        if customer.id in email_of:
            merchant["email"] = email_of[customer.id]
        merchant["stores"] = [
            _store(s, connection_of.get(s.id), first_warehouse.get(customer.id), warehouse_name)
            for s in stores
            if s.marketplace_id in catalog.BY_ID
        ]
        merchants.append(merchant)
    return {"version": 1, "merchants": merchants}


def _store(
    store: Store, connection: Connection | None, default_wh: int | None, names: dict[int, str]
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": store.name,
        "id": store.id,
        "marketplace": catalog.BY_ID[store.marketplace_id or ""].code,
    }
    entry.update(_settings(store))
    if connection is not None and connection.warehouse_id != default_wh:
        entry["warehouse"] = names.get(connection.warehouse_id, str(connection.warehouse_id))
    # `enabled: true` only enables a store that is authorized and connected, so only there
    # does a switched-off store need `enabled: false` to plan no change.
    if (
        connection is not None
        and store.authorization.status == AuthStatus.AUTHORIZED
        and not store.enabled
        and not connection.enabled
    ):
        entry["enabled"] = False
    return entry


def _settings(store: Store) -> dict[str, Any]:
    """The store's settings that differ from the built-in defaults (left out: planning the
    file then gives no changes), statuses in their canonical spelling and Amazon's order."""
    out: dict[str, Any] = {}
    for name in StoreSettings.names():
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
