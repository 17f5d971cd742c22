"""The `/_sandbox/` control surface's data operations, the seed loader and the merchant page.

Seeding is built for volume: every kind is inserted with one `executemany` in the one write
transaction the app opened, so 100,000 objects load in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import secrets
import sqlite3
from collections.abc import Iterable
from typing import Any

from .api import complete_request, request_status
from .catalog import AUTHORIZATION_DAYS, CHANNEL_TYPES, MARKETPLACE_NAMES
from .context import Html, Reply
from .errors import ApiError, not_found
from .store import OBJECT_TABLES, create_account, fmt_ts, parse_ts
from .validation import AMAZON_ADAPTER_KEYS, Fields, amazon_adapter, valid_email

SEED_KINDS = ("customers", "warehouses", "stores", "connections", "authorization_requests")
AUTH_STATUSES = ("missing", "authorized", "expired", "revoked")


def outbox(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT recipient, subject, link, authorization_request_id, sent_at FROM outbox ORDER BY id"
    )
    return [
        {
            "to": r[0],
            "subject": r[1],
            "link": r[2],
            "authorization_request_id": r[3],
            "sent_at": r[4],
        }
        for r in rows
    ]


def complete(conn: sqlite3.Connection, now: dt.datetime, request_id: int, body: Any) -> Reply:
    fields = Fields(body if body is not None else {}, ("selling_partner_id",))
    partner = fields.string("selling_partner_id", max_len=64)
    fields.done()
    row = conn.execute(
        "SELECT * FROM authorization_requests WHERE id = ?", (request_id,)
    ).fetchone()
    if row is None:
        raise not_found("Authorization request", request_id)
    status = request_status(row, fmt_ts(now))
    if status != "pending":
        raise ApiError(409, f"Authorization request {request_id} is {status}, not pending.")
    used = complete_request(conn, row, now, partner if isinstance(partner, str) else None)
    return Reply(200, {"authorization_request_id": request_id, "store_id": row["store_id"],
                       "selling_partner_id": used})  # fmt: skip


def revoke(conn: sqlite3.Connection, store_id: int) -> Reply:
    row = conn.execute(
        "SELECT platform, auth_status FROM stores WHERE id = ?", (store_id,)
    ).fetchone()
    if row is None:
        raise not_found("Store", store_id)
    if row["platform"] != "amazon" or row["auth_status"] == "missing":
        raise ApiError(409, f"Store {store_id} has no Amazon authorization to revoke.")
    conn.execute("UPDATE stores SET auth_status = 'revoked' WHERE id = ?", (store_id,))
    return Reply(200, {"store_id": store_id, "status": "revoked"})


def advance_clock(conn: sqlite3.Connection, body: Any) -> dict[str, Any]:
    fields = Fields(body, ("advance_seconds",))
    value = fields.body.get("advance_seconds")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        fields.add("advance_seconds", "must be a non-negative number")
    fields.done()
    assert isinstance(value, int | float)
    offset = float(conn.execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()[0])
    offset += float(value)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'clock_offset'", (repr(offset),))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=offset)
    return {"now": fmt_ts(now), "offset_seconds": offset}


def reset(conn: sqlite3.Connection) -> None:
    for table in OBJECT_TABLES:
        conn.execute(f"DELETE FROM {table}")
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'clock_offset'")


def add_user(conn: sqlite3.Connection, body: Any) -> Reply:
    fields = Fields(body, ("username", "password"))
    username = fields.string("username", required=True, max_len=128)
    password = fields.string("password", required=True, max_len=256)
    fields.done()
    if conn.execute("SELECT 1 FROM accounts WHERE username = ?", (username,)).fetchone():
        raise ApiError(409, f"The login {username!r} already exists.", {"username": ["is taken"]})
    account_id = create_account(conn, username, password)
    return Reply(201, {"username": username, "account_id": account_id})


# -- seed ------------------------------------------------------------------------------------


class _Seeder:
    def __init__(self, conn: sqlite3.Connection, account_id: int, now_s: str) -> None:
        self.conn = conn
        self.account_id = account_id
        self.now_s = now_s
        self.errors: dict[str, list[str]] = {}
        self.maps: dict[str, dict[int, int]] = {}
        self.offsets: dict[str, int] = {}

    def fail(self, where: str, reason: str) -> None:
        if len(self.errors) < 50:  # a bad 100,000-object file should not answer megabytes
            self.errors.setdefault(where, []).append(reason)

    def assign_ids(self, kind: str, items: list[dict[str, Any]]) -> list[int]:
        """New ids for a kind: the document's own when they are free, else shifted past the max."""
        top = self.conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {kind}").fetchone()[0]
        given = [o["id"] for o in items if isinstance(o.get("id"), int)]
        offset = 0 if not given or min(given) > top else top
        self.offsets[kind] = offset
        nxt = max([top, *(g + offset for g in given)]) + 1
        mapping: dict[int, int] = {}
        out: list[int] = []
        for obj in items:
            doc_id = obj.get("id")
            if isinstance(doc_id, int) and not isinstance(doc_id, bool):
                if doc_id in mapping:
                    self.fail(f"{kind}.id", f"{doc_id} appears twice")
                new = doc_id + offset
                mapping[doc_id] = new
            else:
                new = nxt
                nxt += 1
            out.append(new)
        self.maps[kind] = mapping
        return out

    def ref(self, kind: str, value: Any, where: str) -> int:
        """A document reference resolved to a new id (or an existing object of the account)."""
        if isinstance(value, int) and not isinstance(value, bool):
            mapped = self.maps.get(kind, {}).get(value)
            if mapped is not None:
                return mapped
            found = self.conn.execute(
                f"SELECT 1 FROM {kind} WHERE id = ? AND account_id = ?", (value, self.account_id)
            ).fetchone()
            if found is not None:
                return value
        self.fail(where, f"{value!r} is not a {kind[:-1]} of the document or the account")
        return 0


def _objects(body: dict[str, Any], kind: str, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    items = body.get(kind, [])
    if not isinstance(items, list) or not all(isinstance(o, dict) for o in items):
        errors.setdefault(kind, []).append("must be a list of objects")
        return []
    return items


def _s(obj: dict[str, Any], key: str, default: Any = None) -> Any:
    value = obj.get(key, default)
    return value if value is None or isinstance(value, str) else str(value)


def seed(
    conn: sqlite3.Connection, now: dt.datetime, body: Any, main_username: str, password: str,
    invite_ttl_seconds: float,
) -> dict[str, Any]:  # fmt: skip
    fields = Fields(body, ("username", *SEED_KINDS))
    username = fields.string("username", max_len=128)
    fields.done()
    username = main_username if not isinstance(username, str) else username
    row = conn.execute("SELECT id FROM accounts WHERE username = ?", (username,)).fetchone()
    account_id = int(row[0]) if row else create_account(conn, username, password)
    now_s = fmt_ts(now)
    sd = _Seeder(conn, account_id, now_s)
    docs = {kind: _objects(fields.body, kind, sd.errors) for kind in SEED_KINDS}

    customers = docs["customers"]
    customer_ids = sd.assign_ids("customers", customers)
    customer_rows: list[tuple[Any, ...]] = []
    for i, (cid, obj) in enumerate(zip(customer_ids, customers, strict=True)):
        name = obj.get("company_name")
        if not isinstance(name, str) or not name.strip():
            sd.fail(f"customers[{i}].company_name", "is required")
        customer_rows.append((
            cid, account_id, name, _s(obj, "street1"), _s(obj, "street2"), _s(obj, "street3"),
            _s(obj, "city"), _s(obj, "state"), _s(obj, "zipcode"), _s(obj, "country"),
            _s(obj, "provider"), _s(obj, "created_at", now_s),
        ))  # fmt: skip

    warehouses = docs["warehouses"]
    warehouse_ids = sd.assign_ids("warehouses", warehouses)
    warehouse_rows: list[tuple[Any, ...]] = []
    has_warehouse: set[int] = set()
    for i, (wid, obj) in enumerate(zip(warehouse_ids, warehouses, strict=True)):
        cust = sd.ref("customers", obj.get("customer_id"), f"warehouses[{i}].customer_id")
        has_warehouse.add(cust)
        wh_adapter = obj.get("adapter", {})
        warehouse_rows.append((
            wid, account_id, cust, _s(obj, "description"), _s(obj, "platform", "dropstream"),
            json.dumps(wh_adapter if isinstance(wh_adapter, dict) else {}),
            _s(obj, "created_at", now_s),
            _s(obj, "enabled_at"), _s(obj, "order_status_imported_at"),
            _s(obj, "inventory_updated_at"),
        ))  # fmt: skip
    # Every customer has a warehouse, as one created through the API does.
    next_wid = max([0, *warehouse_ids, conn.execute(
        "SELECT COALESCE(MAX(id), 0) FROM warehouses").fetchone()[0]]) + 1  # fmt: skip
    for cid, row_ in zip(customer_ids, customer_rows, strict=True):
        if cid not in has_warehouse:
            warehouse_rows.append((next_wid, account_id, cid, f"{row_[2]} Warehouse", "dropstream",
                                   "{}", now_s, now_s, None, None))  # fmt: skip
            next_wid += 1

    stores = docs["stores"]
    store_ids = sd.assign_ids("stores", stores)
    store_rows: list[tuple[Any, ...]] = []
    store_customer: dict[int, int] = {}
    for i, (sid, obj) in enumerate(zip(store_ids, stores, strict=True)):
        where = f"stores[{i}]"
        cust = sd.ref("customers", obj.get("customer_id"), f"{where}.customer_id")
        store_customer[sid] = cust
        platform = _s(obj, "platform", "amazon")
        raw = obj.get("adapter", {})
        adapter: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        auth = adapter.pop("authorization", None) or {}
        auth_cols: tuple[Any, ...] = ("missing", None, None, None)
        if platform == "amazon":
            check = Fields({}, ())
            valid = amazon_adapter(
                {k: v for k, v in adapter.items() if k in AMAZON_ADAPTER_KEYS}, check
            )
            for key, reasons in check.errors.items():
                sd.fail(f"{where}.{key}", reasons[0])
            adapter = valid or {}
            status = auth.get("status", "missing") if isinstance(auth, dict) else "missing"
            if status not in AUTH_STATUSES:
                sd.fail(f"{where}.adapter.authorization.status", f"must be one of {AUTH_STATUSES}")
            elif status != "missing":
                at = auth.get("authorized_at") or now_s
                expires = auth.get("expires_at") or fmt_ts(
                    parse_ts(at) + dt.timedelta(days=AUTHORIZATION_DAYS)
                )
                if status == "expired" and expires > now_s:
                    expires = now_s
                auth_cols = (
                    "revoked" if status == "revoked" else "authorized",
                    auth.get("selling_partner_id") or f"A{sid:013d}", at, expires,
                )  # fmt: skip
        name = obj.get("name")
        if not isinstance(name, str) or not name:
            sd.fail(f"{where}.name", "is required")
        store_rows.append((
            sid, account_id, cust, name, _s(obj, "description"), _s(obj, "url"), platform,
            json.dumps(adapter), *auth_cols, _s(obj, "created_at", now_s), _s(obj, "enabled_at"),
            _s(obj, "order_imported_at"), _s(obj, "inventory_updated_at"),
        ))  # fmt: skip

    default_wh: dict[int, int] = {}
    for row_ in sorted(warehouse_rows, key=lambda r: int(r[0])):
        default_wh.setdefault(int(row_[2]), int(row_[0]))

    connections = docs["connections"]
    connection_ids = sd.assign_ids("connections", connections)
    connection_rows: list[tuple[Any, ...]] = []
    channel_rows: list[tuple[Any, ...]] = []
    for i, (cid, obj) in enumerate(zip(connection_ids, connections, strict=True)):
        where = f"connections[{i}]"
        store = sd.ref("stores", obj.get("store_id"), f"{where}.store_id")
        cust = (
            sd.ref("customers", obj["customer_id"], f"{where}.customer_id")
            if "customer_id" in obj else store_customer.get(store, 0)
        )  # fmt: skip
        if obj.get("warehouse_id") is not None:
            wh = sd.ref("warehouses", obj["warehouse_id"], f"{where}.warehouse_id")
        else:
            wh = default_wh.get(cust) or (
                conn.execute(
                    "SELECT MIN(id) FROM warehouses WHERE customer_id = ?", (cust,)
                ).fetchone()[0]
                or 0
            )
        connection_rows.append((
            cid, account_id, cust, wh, store, _s(obj, "name", "") or f"Connection {cid}",
            _s(obj, "connection_type", "standard"), _s(obj, "created_at", now_s),
            _s(obj, "enabled_at"), json.dumps(obj.get("locations") or []),
        ))  # fmt: skip
        channels = obj.get("channels")
        if isinstance(channels, list) and channels:
            for ch in channels:
                if isinstance(ch, dict) and ch.get("type") in CHANNEL_TYPES:
                    channel_rows.append((cid, ch["type"], _s(ch, "enabled_at")))
                else:
                    sd.fail(f"{where}.channels", "each channel needs a known type")
        else:
            channel_rows.extend((cid, kind, None) for kind in CHANNEL_TYPES)

    requests = docs["authorization_requests"]
    request_ids = sd.assign_ids("authorization_requests", requests)
    request_rows: list[tuple[Any, ...]] = []
    for i, (rid, obj) in enumerate(zip(request_ids, requests, strict=True)):
        where = f"authorization_requests[{i}]"
        store = sd.ref("stores", obj.get("store_id"), f"{where}.store_id")
        status = obj.get("status", "pending")
        if status not in ("pending", "completed", "expired", "canceled"):
            sd.fail(f"{where}.status", "must be pending, completed, expired or canceled")
        if not valid_email(obj.get("email")):
            sd.fail(f"{where}.email", "is not an email address")
        created = _s(obj, "created_at", now_s)
        expires = _s(obj, "expires_at") or fmt_ts(
            parse_ts(created) + dt.timedelta(seconds=invite_ttl_seconds)
        )
        if status == "expired":
            status, expires = "pending", min(expires, now_s)
        request_rows.append((
            rid, account_id, store, store_customer.get(store, 0), obj.get("email"), status,
            created, expires, _s(obj, "completed_at"), secrets.token_urlsafe(24),
        ))  # fmt: skip

    if sd.errors:
        first, reasons = next(iter(sd.errors.items()))
        raise ApiError(422, f"The seed document is invalid: {first} {reasons[0]}.", sd.errors)
    try:
        _insert(conn, "customers", customer_rows, 12)
        _insert(conn, "warehouses", warehouse_rows, 10)
        _insert(conn, "stores", store_rows, 16)
        _insert(conn, "connections", connection_rows, 10)
        conn.executemany(
            "INSERT INTO channels(connection_id, type, enabled_at) VALUES (?, ?, ?)", channel_rows
        )
        _insert(conn, "authorization_requests", request_rows, 10)
    except sqlite3.IntegrityError as exc:
        raise ApiError(409, f"The seed document conflicts with existing objects: {exc}.") from None
    return {
        "username": username,
        "customers": len(customer_rows),
        "warehouses": len(warehouse_rows),
        "stores": len(store_rows),
        "connections": len(connection_rows),
        "channels": len(channel_rows),
        "authorization_requests": len(request_rows),
        "id_offsets": sd.offsets,
    }


def _insert(conn: sqlite3.Connection, table: str, rows: Iterable[tuple[Any, ...]], n: int) -> None:
    columns = {
        "customers": "id, account_id, company_name, street1, street2, street3, city, state,"
        " zipcode, country, provider, created_at",
        "warehouses": "id, account_id, customer_id, description, platform, adapter, created_at,"
        " enabled_at, order_status_imported_at, inventory_updated_at",
        "stores": "id, account_id, customer_id, name, description, url, platform, adapter,"
        " auth_status, auth_partner, auth_at, auth_expires, created_at, enabled_at,"
        " order_imported_at, inventory_updated_at",
        "connections": "id, account_id, customer_id, warehouse_id, store_id, name,"
        " connection_type, created_at, enabled_at, locations",
        "authorization_requests": "id, account_id, store_id, customer_id, email, status,"
        " created_at, expires_at, completed_at, token",
    }[table]
    conn.executemany(f"INSERT INTO {table}({columns}) VALUES ({', '.join('?' * n)})", rows)


# -- the merchant's page ---------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def _page(status: int, title: str, body: str = "") -> Reply:
    return Reply(status, Html(_PAGE.format(title=html.escape(title), body=body)))


def merchant_page(
    conn: sqlite3.Connection, now: dt.datetime, token: str, method: str, form: dict[str, str]
) -> Reply:
    row = conn.execute("SELECT * FROM authorization_requests WHERE token = ?", (token,)).fetchone()
    if row is None:
        return _page(404, "This authorization link is not valid.")
    status = request_status(row, fmt_ts(now))
    if status != "pending":
        return _page(410, f"This link can no longer be used: the request is {status}.")
    store = conn.execute(
        "SELECT name, adapter FROM stores WHERE id = ?", (row["store_id"],)
    ).fetchone()
    marketplace = MARKETPLACE_NAMES.get(json.loads(store["adapter"]).get("marketplace_id"), "")
    title = f"Authorize DropStream for {store['name']} on Amazon {marketplace}".rstrip()
    if method == "GET":
        return _page(200, title, (
            "<p>DropStream asks to import your Amazon orders and update your inventory.</p>"
            '<form method="post"><button name="action" value="approve">Approve</button> '
            '<button name="action" value="deny">Deny</button></form>'
        ))  # fmt: skip
    action = form.get("action")
    if action == "approve":
        complete_request(conn, row, now, form.get("selling_partner_id") or None)
        return _page(200, "Thank you: DropStream is authorized.", "<p>You can close this page.</p>")
    if action == "deny":
        conn.execute(
            "UPDATE authorization_requests SET status = 'canceled', completed_at = NULL"
            " WHERE id = ?", (row["id"],),
        )  # fmt: skip
        return _page(200, "You denied the authorization.", "<p>You can close this page.</p>")
    return _page(400, "Choose Approve or Deny.")
