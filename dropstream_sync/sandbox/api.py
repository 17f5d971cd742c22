"""Handlers of the DropStream API proper (everything but auth, the merchant page and /_sandbox/).

Each handler runs inside one SQLite transaction opened by the app (a write transaction for
anything but GET), reads and writes through `ctx.conn`, and returns a `Reply` or raises
`ApiError`. Every query is scoped by `account_id`, which is what makes another account's object
a 404. Time-dependent statuses (expired requests and authorizations) are computed on read from
the sandbox clock, never stored, so two apps sharing a folder always agree.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel

from . import models as m
from .catalog import AUTHORIZATION_DAYS, CHANNEL_TYPES, MARKETPLACE_NAMES
from .context import Ctx, Op, Reply
from .errors import ApiError, invalid, not_found
from .models import fields_of
from .store import fmt_ts
from .validation import (
    MISSING,
    PLATFORM_RE,
    Fields,
    amazon_adapter,
    int_param,
    valid_email,
)

CUSTOMER_FIELDS = (
    "company_name",
    "street1",
    "street2",
    "street3",
    "city",
    "state",
    "zipcode",
    "country",
    "provider",
)
REQUEST_STATUSES = ("pending", "completed", "expired", "canceled")

# -- views -----------------------------------------------------------------------------------


def customer_view(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["id"]}
    for key in CUSTOMER_FIELDS:
        out[key] = row[key]
    out["created_at"] = row["created_at"]
    return out


def warehouse_view(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "description": row["description"],
        "platform": row["platform"],
        "adapter": json.loads(row["adapter"]),
        "created_at": row["created_at"],
        "enabled_at": row["enabled_at"],
        "order_status_imported_at": row["order_status_imported_at"],
        "inventory_updated_at": row["inventory_updated_at"],
    }


def authorization_status(row: sqlite3.Row, now_s: str) -> str:
    status: str = row["auth_status"]
    if status == "authorized" and row["auth_expires"] is not None and row["auth_expires"] <= now_s:
        return "expired"
    return status


def store_view(row: sqlite3.Row, now_s: str) -> dict[str, Any]:
    adapter: dict[str, Any] = json.loads(row["adapter"])
    if row["platform"] == "amazon":
        adapter["authorization"] = {
            "status": authorization_status(row, now_s),
            "selling_partner_id": row["auth_partner"],
            "authorized_at": row["auth_at"],
            "expires_at": row["auth_expires"],
        }
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "name": row["name"],
        "description": row["description"],
        "url": row["url"],
        "platform": row["platform"],
        "adapter": adapter,
        "created_at": row["created_at"],
        "enabled_at": row["enabled_at"],
        "order_imported_at": row["order_imported_at"],
        "inventory_updated_at": row["inventory_updated_at"],
    }


def connection_view(row: sqlite3.Row, channels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "warehouse_id": row["warehouse_id"],
        "store_id": row["store_id"],
        "name": row["name"],
        "connection_type": row["connection_type"],
        "created_at": row["created_at"],
        "enabled_at": row["enabled_at"],
        "locations": json.loads(row["locations"]),
        "channels": channels,
    }


def request_status(row: sqlite3.Row, now_s: str) -> str:
    status: str = row["status"]
    if status == "pending" and row["expires_at"] <= now_s:
        return "expired"
    return status


def request_view(row: sqlite3.Row, now_s: str) -> dict[str, Any]:
    return {
        "id": row["id"],
        "store_id": row["store_id"],
        "customer_id": row["customer_id"],
        "email": row["email"],
        "status": request_status(row, now_s),
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "completed_at": row["completed_at"],
    }


def channels_of(conn: sqlite3.Connection, connection_ids: Sequence[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {cid: [] for cid in connection_ids}
    if not connection_ids:
        return out
    marks = ",".join("?" * len(connection_ids))
    rows = conn.execute(
        f"SELECT id, connection_id, type, enabled_at FROM channels "
        f"WHERE connection_id IN ({marks}) ORDER BY connection_id, id",
        tuple(connection_ids),
    )
    for cid, conn_id, kind, enabled_at in rows:
        out[conn_id].append({"id": cid, "type": kind, "enabled_at": enabled_at})
    return out


# -- lists -----------------------------------------------------------------------------------


def list_page(
    ctx: Ctx,
    table: str,
    filters: list[tuple[str, Any]],
    echo: dict[str, str],
    render: Callable[[list[sqlite3.Row]], list[dict[str, Any]]],
) -> Reply:
    """One page of an id-ordered list, with `X-Total-Count` and `Link: rel="next"`.

    The next link carries `after=<last id>`, a keyset hint: following it costs an index seek
    instead of an OFFSET scan, so reading page 500 costs what page 1 does. Clients treat the link
    as opaque; `page` alone gives the same rows, and costs the same: each answered page
    remembers where it ended (`ctx.positions`), so page N starts with an index seek after
    the end of page N-1 (or skips from the nearest page known), and only a page far from any
    known one pays an OFFSET scan, over the id index alone.
    """
    page = int_param(ctx.query, "page", 1, 1, 10**9)
    per_page = int_param(ctx.query, "per_page", 25, 1, 100)
    after = int_param(ctx.query, "after", None, 0, 2**62)
    assert page is not None and per_page is not None
    where = " AND ".join(["account_id = ?", *(f[0] for f in filters)])
    args: tuple[Any, ...] = (ctx.account_id, *(f[1] for f in filters))
    total = ctx.count(f"SELECT COUNT(*) FROM {table} WHERE {where}", args)
    select = f"SELECT * FROM {table} WHERE {where} AND id > ? ORDER BY id LIMIT ? OFFSET ?"
    if after is not None:
        rows = ctx.conn.execute(select, (*args, after, per_page, 0)).fetchall()
    else:
        positions = ctx.positions((table, where, args))
        start = (page - 1) * per_page  # rows before this page
        known = (
            start
            if start in positions or start == 0
            else max((p for p in positions if p < start), default=None)
        )
        if known is None and start > 0:
            # Far from any page answered since the last write: find the boundary through the
            # id index, without reading the skipped rows themselves.
            boundary = ctx.conn.execute(
                f"SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT 1 OFFSET ?",
                (*args, start - 1),
            ).fetchone()
            known, last = start, (boundary[0] if boundary is not None else 2**62)
            positions[start] = last
        else:
            assert known is not None
            last = positions.get(known, 0) if known else 0
        rows = ctx.conn.execute(select, (*args, last, per_page, start - known)).fetchall()
        if rows:
            positions[start + len(rows)] = rows[-1]["id"]
    headers = {"X-Total-Count": str(total)}
    if page * per_page < total and rows:
        query = dict(echo)
        query.update(page=str(page + 1), per_page=str(per_page), after=str(rows[-1]["id"]))
        headers["Link"] = f'<{ctx.base_url}{ctx.path}?{urlencode(query)}>; rel="next"'
    return Reply(200, render(rows), headers)


def _id_filters(ctx: Ctx, *names: str) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    """A list's filters by the ids among `names` the query gives, and their echo for the link."""
    filters: list[tuple[str, Any]] = []
    echo: dict[str, str] = {}
    for name in names:
        value = int_param(ctx.query, name, None, 1, 2**62 - 1)
        if value is not None:
            filters.append((f"{name} = ?", value))
            echo[name] = str(value)
    return filters, echo


def _given(value: Any, default: Any) -> Any:
    """A field's value, or `default` where the body left it out (or the reader refused it)."""
    return default if value is MISSING else value


def _keep(values: dict[str, Any], key: str, value: Any) -> None:
    """Record a field the body set (a reader's MISSING means absent or refused)."""
    if value is not MISSING:
        values[key] = value


# -- customers -------------------------------------------------------------------------------


def _get_row(ctx: Ctx, table: str, kind: str, ident: int) -> sqlite3.Row:
    row: sqlite3.Row | None = ctx.conn.execute(
        f"SELECT * FROM {table} WHERE id = ? AND account_id = ?", (ident, ctx.account_id)
    ).fetchone()
    if row is None:
        raise not_found(kind, ident)
    return row


def list_customers(ctx: Ctx) -> Reply:
    return list_page(ctx, "customers", [], {}, lambda rows: [customer_view(r) for r in rows])


def get_customer(ctx: Ctx) -> Reply:
    return Reply(200, customer_view(_get_row(ctx, "customers", "Customer", ctx.int_param("id"))))


def _customer_fields(fields: Fields, *, create: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in CUSTOMER_FIELDS:
        value = fields.string(
            key,
            required=create and key == "company_name",
            nullable=key != "company_name",
            nonempty=key == "company_name",
        )
        _keep(values, key, value)
    return values


def _insert(ctx: Ctx, table: str, values: dict[str, Any]) -> int:
    """A new object of the account, created now; its id."""
    cols = ["account_id", "created_at", *values]
    cur = ctx.conn.execute(
        f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        (ctx.account_id, ctx.now_s, *values.values()),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def insert_customer(ctx: Ctx, values: dict[str, Any]) -> int:
    customer_id = _insert(ctx, "customers", values)
    # Every customer starts with one warehouse, so connections always have a default.
    warehouse = {
        "customer_id": customer_id,
        "description": f"{values['company_name']} Warehouse",
        "platform": "dropstream",
        "adapter": "{}",
        "enabled_at": ctx.now_s,
    }
    _insert(ctx, "warehouses", warehouse)
    return customer_id


def create_customer(ctx: Ctx) -> Reply:
    fields = Fields(ctx.body, fields_of(m.CustomerCreate), read_only=("id", "created_at"))
    values = _customer_fields(fields, create=True)
    fields.done()
    return Reply(201, {"id": insert_customer(ctx, values)})


Reader = Callable[[Ctx, Fields, sqlite3.Row], dict[str, Any]]


def _patch(
    table: str, kind: str, body: type[BaseModel], read_only: tuple[str, ...]
) -> Callable[[Reader], Callable[[Ctx], Reply]]:
    """The PATCH handler of one kind of object, from what reads its fields from the body.

    The object is found first (a 404 before the body is looked at), `enabled_at` is read last
    where the object has one, and nothing is written unless every field is valid."""
    allowed = fields_of(body)

    def handler(read: Reader) -> Callable[[Ctx], Reply]:
        def patch(ctx: Ctx) -> Reply:
            row = _get_row(ctx, table, kind, ctx.int_param("id"))
            fields = Fields(ctx.body, allowed, read_only=read_only)
            values = read(ctx, fields, row)
            if "enabled_at" in allowed:
                _keep(values, "enabled_at", fields.timestamp("enabled_at"))
            fields.done()
            if values:
                sets = ", ".join(f"{key} = ?" for key in values)
                ctx.conn.execute(
                    f"UPDATE {table} SET {sets} WHERE id = ?", (*values.values(), row["id"])
                )
            return Reply(204)

        return patch

    return handler


@_patch("customers", "Customer", m.CustomerPatch, ("id", "created_at"))
def patch_customer(ctx: Ctx, fields: Fields, row: sqlite3.Row) -> dict[str, Any]:
    return _customer_fields(fields, create=False)


# -- warehouses ------------------------------------------------------------------------------


def list_warehouses(ctx: Ctx) -> Reply:
    filters, echo = _id_filters(ctx, "customer_id")
    return list_page(ctx, "warehouses", filters, echo, lambda rs: [warehouse_view(r) for r in rs])


def get_warehouse(ctx: Ctx) -> Reply:
    row = _get_row(ctx, "warehouses", "Warehouse", ctx.int_param("id"))
    return Reply(200, warehouse_view(row))


def _check_customer(ctx: Ctx, fields: Fields, customer_id: Any) -> None:
    if isinstance(customer_id, int) and not isinstance(customer_id, bool):
        row = ctx.conn.execute(
            "SELECT 1 FROM customers WHERE id = ? AND account_id = ?",
            (customer_id, ctx.account_id),
        ).fetchone()
        if row is None:
            fields.add("customer_id", "is not a customer of this account")


def create_warehouse(ctx: Ctx) -> Reply:
    fields = Fields(ctx.body, fields_of(m.WarehouseCreate), read_only=("id", "created_at"))
    # Read straight into the row; the order of the reads is the order of the 422's problems.
    warehouse = {
        "customer_id": fields.ident("customer_id", required=True),
        "description": fields.string("description", required=True),
        "platform": _given(fields.string("platform", nullable=False), "dropstream"),
        "adapter": json.dumps(_given(fields.json_object("adapter"), {})),
    }
    _check_customer(ctx, fields, warehouse["customer_id"])
    fields.done()
    return Reply(201, {"id": _insert(ctx, "warehouses", warehouse)})


@_patch(
    "warehouses", "Warehouse", m.WarehousePatch, ("id", "customer_id", "platform", "created_at")
)
def patch_warehouse(ctx: Ctx, fields: Fields, row: sqlite3.Row) -> dict[str, Any]:
    values: dict[str, Any] = {}
    _keep(values, "description", fields.string("description", nullable=False))
    adapter = fields.json_object("adapter")
    if adapter is not MISSING:
        values["adapter"] = json.dumps(json.loads(row["adapter"]) | adapter)
    return values


# -- stores ----------------------------------------------------------------------------------

STORE_READ_ONLY = (
    "id",
    "created_at",
    "order_imported_at",
    "inventory_updated_at",
)


def list_stores(ctx: Ctx) -> Reply:
    filters, echo = _id_filters(ctx, "customer_id")
    platform = ctx.query.get("platform")
    if platform:
        filters.append(("platform = ?", platform))
        echo["platform"] = platform
    now_s = ctx.now_s
    return list_page(ctx, "stores", filters, echo, lambda rs: [store_view(r, now_s) for r in rs])


def get_store(ctx: Ctx) -> Reply:
    return Reply(200, store_view(_get_row(ctx, "stores", "Store", ctx.int_param("id")), ctx.now_s))


def create_store(ctx: Ctx) -> Reply:
    fields = Fields(ctx.body, fields_of(m.StoreCreate), read_only=(*STORE_READ_ONLY, "enabled_at"))
    customer_id = fields.ident("customer_id", required=True)
    name = fields.string("name", required=True)
    description = fields.string("description", max_len=1000)
    url = fields.string("url", max_len=2000)
    platform = fields.string("platform", required=True, max_len=32)
    if isinstance(platform, str) and not PLATFORM_RE.match(platform):
        fields.add("platform", "must be a lower-case platform name such as amazon")
    _check_customer(ctx, fields, customer_id)
    adapter: dict[str, Any] | None
    if platform == "amazon":
        adapter = amazon_adapter(ctx.body.get("adapter"), fields)
    else:
        raw = fields.json_object("adapter")
        adapter = _given(raw, {})
    fields.done()
    assert adapter is not None
    store = {
        "customer_id": customer_id,
        "name": name,
        "description": _given(description, None),
        "url": _given(url, None),
        "platform": platform,
        "adapter": json.dumps(adapter),
    }
    return Reply(201, {"id": _insert(ctx, "stores", store)})


@_patch("stores", "Store", m.StorePatch, (*STORE_READ_ONLY, "customer_id", "platform"))
def patch_store(ctx: Ctx, fields: Fields, row: sqlite3.Row) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, nullable, max_len in (
        ("name", False, 255),
        ("description", True, 1000),
        ("url", True, 2000),
    ):
        value = fields.string(key, nullable=nullable, max_len=max_len, nonempty=key == "name")
        _keep(values, key, value)
    if "adapter" in ctx.body:
        current = json.loads(row["adapter"])
        if row["platform"] == "amazon":
            merged = amazon_adapter(ctx.body["adapter"], fields, current)
            if merged is not None:
                values["adapter"] = json.dumps(merged)
        else:
            raw = fields.json_object("adapter")
            if raw is not MISSING:
                values["adapter"] = json.dumps(current | raw)
    return values


# -- connections -----------------------------------------------------------------------------


def _render_connections(ctx: Ctx, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    channels = channels_of(ctx.conn, [r["id"] for r in rows])
    return [connection_view(r, channels[r["id"]]) for r in rows]


def list_connections(ctx: Ctx) -> Reply:
    filters, echo = _id_filters(ctx, "customer_id", "store_id")
    return list_page(ctx, "connections", filters, echo, lambda rows: _render_connections(ctx, rows))


def get_connection(ctx: Ctx) -> Reply:
    row = _get_row(ctx, "connections", "Connection", ctx.int_param("id"))
    return Reply(200, _render_connections(ctx, [row])[0])


def default_warehouse(conn: sqlite3.Connection, customer_id: int) -> int | None:
    row = conn.execute(
        "SELECT id FROM warehouses WHERE customer_id = ? ORDER BY id LIMIT 1", (customer_id,)
    ).fetchone()
    return None if row is None else int(row[0])


def create_connection(ctx: Ctx) -> Reply:
    fields = Fields(
        ctx.body,
        fields_of(m.ConnectionCreate),
        read_only=("id", "created_at", "enabled_at", "channels", "connection_type", "locations"),
    )
    name = fields.string("name", required=True)
    customer_id = fields.ident("customer_id", required=True)
    store_id = fields.ident("store_id", required=True)
    warehouse_id = fields.ident("warehouse_id")
    _check_customer(ctx, fields, customer_id)
    fields.done()
    store = ctx.conn.execute(
        "SELECT * FROM stores WHERE id = ? AND account_id = ?", (store_id, ctx.account_id)
    ).fetchone()
    if store is None or store["customer_id"] != customer_id:
        fields.add("store_id", "is not a store of this customer")
    if warehouse_id is MISSING:
        warehouse_id = default_warehouse(ctx.conn, customer_id)
        if warehouse_id is None:
            fields.add("warehouse_id", "is required: the customer has no warehouse")
    else:
        wh = ctx.conn.execute(
            "SELECT customer_id FROM warehouses WHERE id = ? AND account_id = ?",
            (warehouse_id, ctx.account_id),
        ).fetchone()
        if wh is None or wh[0] != customer_id:
            fields.add("warehouse_id", "is not a warehouse of this customer")
    fields.done()
    if store["platform"] == "amazon" and authorization_status(store, ctx.now_s) != "authorized":
        raise invalid(
            "store_id",
            "is not authorized with Amazon",
            f"Store {store_id} must be authorized with Amazon before it can be connected.",
        )
    clash = ctx.conn.execute(
        "SELECT id FROM connections WHERE customer_id = ? AND store_id = ? AND warehouse_id = ?",
        (customer_id, store_id, warehouse_id),
    ).fetchone()
    if clash is not None:
        raise ApiError(
            409,
            f"A connection of store {store_id} to warehouse {warehouse_id} already exists "
            f"(connection {clash[0]}).",
            {"store_id": ["is already connected to this warehouse"]},
        )
    connection = {
        "customer_id": customer_id,
        "warehouse_id": warehouse_id,
        "store_id": store_id,
        "name": name,
        "connection_type": "standard",
    }
    connection_id = _insert(ctx, "connections", connection)
    ctx.conn.executemany(
        "INSERT INTO channels(connection_id, type) VALUES (?, ?)",
        [(connection_id, kind) for kind in CHANNEL_TYPES],
    )
    return Reply(201, {"id": connection_id})


CONNECTION_FIXED = ("customer_id", "store_id", "warehouse_id", "connection_type", "locations")


@_patch(
    "connections",
    "Connection",
    m.ConnectionPatch,
    ("id", "created_at", "channels", *CONNECTION_FIXED),
)
def patch_connection(ctx: Ctx, fields: Fields, row: sqlite3.Row) -> dict[str, Any]:
    values: dict[str, Any] = {}
    _keep(values, "name", fields.string("name", nullable=False, nonempty=True))
    return values


def list_channels(ctx: Ctx) -> Reply:
    row = _get_row(ctx, "connections", "Connection", ctx.int_param("id"))
    channels = channels_of(ctx.conn, [row["id"]])[row["id"]]
    return Reply(200, channels, {"X-Total-Count": str(len(channels))})


def patch_channel(ctx: Ctx) -> Reply:
    row = _get_row(ctx, "connections", "Connection", ctx.int_param("id"))
    channel_id = ctx.int_param("chid")
    found = ctx.conn.execute(
        "SELECT id FROM channels WHERE id = ? AND connection_id = ?", (channel_id, row["id"])
    ).fetchone()
    if found is None:
        raise not_found("Channel", channel_id)
    fields = Fields(ctx.body, fields_of(m.ChannelPatch), read_only=("id", "type"))
    enabled_at = fields.timestamp("enabled_at")
    fields.done()
    if enabled_at is not MISSING:
        ctx.conn.execute(
            "UPDATE channels SET enabled_at = ? WHERE id = ?", (enabled_at, channel_id)
        )
    return Reply(204)


# -- authorization requests ------------------------------------------------------------------


def pending_request(ctx: Ctx, store_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = ctx.conn.execute(
        "SELECT * FROM authorization_requests WHERE account_id = ? AND store_id = ?"
        " AND status = 'pending' AND expires_at > ? ORDER BY id LIMIT 1",
        (ctx.account_id, store_id, ctx.now_s),
    ).fetchone()
    return row


def create_authorization_request(ctx: Ctx) -> Reply:
    store = _get_row(ctx, "stores", "Store", ctx.int_param("id"))
    fields = Fields(ctx.body, fields_of(m.AuthorizationRequestCreate))
    email = ctx.body.get("email")
    if "email" not in ctx.body:
        fields.add("email", "is required")
    elif not valid_email(email):
        fields.add("email", "is not an email address")
    fields.done()
    if store["platform"] != "amazon":
        raise invalid("store_id", "is not an Amazon store", "Only Amazon stores are authorized.")
    # A request on an authorized store is a renewal: approving it restarts the 365 days.
    if not ctx.settings.renewals and authorization_status(store, ctx.now_s) == "authorized":
        raise invalid(
            "store_id", "is already authorized", f"Store {store['id']} is already authorized."
        )
    pending = pending_request(ctx, store["id"])
    if pending is not None:
        raise ApiError(
            409,
            f"Store {store['id']} already has a pending authorization request ({pending['id']}).",
            {"store_id": ["has a pending authorization request"]},
        )
    token = secrets.token_urlsafe(24)
    expires = fmt_ts(ctx.now + dt.timedelta(seconds=ctx.settings.invite_ttl_seconds))
    request = {
        "store_id": store["id"],
        "customer_id": store["customer_id"],
        "email": email,
        "status": "pending",
        "expires_at": expires,
        "token": token,
    }
    request_id = _insert(ctx, "authorization_requests", request)
    marketplace = MARKETPLACE_NAMES.get(json.loads(store["adapter"]).get("marketplace_id"), "")
    ctx.conn.execute(
        "INSERT INTO outbox(account_id, recipient, subject, link, authorization_request_id,"
        " sent_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            ctx.account_id,
            email,
            f"Authorize DropStream for {store['name']} on Amazon {marketplace}".rstrip(),
            f"{ctx.base_url}/authorize/{token}",
            request_id,
            ctx.now_s,
        ),
    )
    row = _get_row(ctx, "authorization_requests", "Authorization request", request_id)
    return Reply(201, request_view(row, ctx.now_s))


def list_authorization_requests(ctx: Ctx) -> Reply:
    filters, echo = _id_filters(ctx, "store_id")
    status = ctx.query.get("status")
    if status is not None:
        if status not in REQUEST_STATUSES:
            raise ApiError(
                422,
                f"Validation failed: status must be one of {', '.join(REQUEST_STATUSES)}.",
                {"status": [f"must be one of {', '.join(REQUEST_STATUSES)}"]},
            )
        echo["status"] = status
        if status == "pending":
            filters.append(("status = 'pending' AND expires_at > ?", ctx.now_s))
        elif status == "expired":
            # Lapsed on the clock, or stored so (a seeded request): the filter must list what
            # the objects themselves read, or the plan misses an invitation that expired.
            filters.append(
                ("(status = 'expired' OR (status = 'pending' AND expires_at <= ?))", ctx.now_s)
            )
        else:
            filters.append(("status = ?", status))
    now_s = ctx.now_s
    return list_page(
        ctx,
        "authorization_requests",
        filters,
        echo,
        lambda rows: [request_view(r, now_s) for r in rows],
    )


def get_authorization_request(ctx: Ctx) -> Reply:
    row = _get_row(ctx, "authorization_requests", "Authorization request", ctx.int_param("id"))
    return Reply(200, request_view(row, ctx.now_s))


def cancel_authorization_request(ctx: Ctx) -> Reply:
    row = _get_row(ctx, "authorization_requests", "Authorization request", ctx.int_param("id"))
    status = request_status(row, ctx.now_s)
    if status != "pending":
        raise ApiError(
            409,
            f"Authorization request {row['id']} is {status}, not pending.",
            {"status": [f"is {status}"]},
        )
    ctx.conn.execute(
        "UPDATE authorization_requests SET status = 'canceled' WHERE id = ?", (row["id"],)
    )
    return Reply(204)


def complete_request(
    conn: sqlite3.Connection, row: sqlite3.Row, now: dt.datetime, partner: str | None
) -> str:
    """Approve a pending request as the merchant; returns the selling partner id used."""
    # A renewal is approved by the same seller, who keeps their selling partner id; and a
    # merchant approves its other marketplaces from the same Seller Central account, so a
    # new store takes the seller of the merchant's stores. A fresh id for each store made
    # plans warn "authorized by 2 different Amazon sellers" after `sandbox authorize`.
    kept = conn.execute(
        "SELECT s.auth_partner FROM stores s JOIN stores mine ON mine.id = ?"
        " WHERE s.account_id = mine.account_id AND s.customer_id = mine.customer_id"
        " AND s.auth_partner IS NOT NULL ORDER BY s.id = mine.id DESC, s.id LIMIT 1",
        (row["store_id"],),
    ).fetchone()
    partner = (
        partner
        or (kept[0] if kept is not None else None)
        or "A" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(13))
    )
    now_s = fmt_ts(now)
    conn.execute(
        "UPDATE authorization_requests SET status = 'completed', completed_at = ? WHERE id = ?",
        (now_s, row["id"]),
    )
    conn.execute(
        "UPDATE stores SET auth_status = 'authorized', auth_partner = ?, auth_at = ?,"
        " auth_expires = ? WHERE id = ?",
        (partner, now_s, fmt_ts(now + dt.timedelta(days=AUTHORIZATION_DAYS)), row["store_id"]),
    )
    return partner


# The route table, by kind of object. Templates use {name} for numeric ids.
API_ROUTES: list[Op] = [
    Op("GET", "/customers", list_customers, m.Customer),
    Op("POST", "/customers", create_customer, m.Created, m.CustomerCreate),
    Op("GET", "/customers/{id}", get_customer, m.Customer),
    Op("PATCH", "/customers/{id}", patch_customer, None, m.CustomerPatch),
    Op("GET", "/warehouses", list_warehouses, m.Warehouse, filters=("customer_id",)),
    Op("POST", "/warehouses", create_warehouse, m.Created, m.WarehouseCreate),
    Op("GET", "/warehouses/{id}", get_warehouse, m.Warehouse),
    Op("PATCH", "/warehouses/{id}", patch_warehouse, None, m.WarehousePatch),
    Op("GET", "/stores", list_stores, m.Store, filters=("customer_id", "platform")),
    Op("POST", "/stores", create_store, m.Created, m.StoreCreate),
    Op("GET", "/stores/{id}", get_store, m.Store),
    Op("PATCH", "/stores/{id}", patch_store, None, m.StorePatch),
    Op("GET", "/connections", list_connections, m.Connection, filters=("customer_id", "store_id")),
    Op("POST", "/connections", create_connection, m.Created, m.ConnectionCreate),
    Op("GET", "/connections/{id}", get_connection, m.Connection),
    Op("PATCH", "/connections/{id}", patch_connection, None, m.ConnectionPatch),
    Op("GET", "/connections/{id}/channels", list_channels, m.Channel),
    Op("PATCH", "/connections/{id}/channels/{chid}", patch_channel, None, m.ChannelPatch),
    # An authorization request is created on its store, and read and canceled on its own.
    Op(
        "POST",
        "/stores/{id}/authorization_requests",
        create_authorization_request,
        m.AuthorizationRequest,
        m.AuthorizationRequestCreate,
    ),
    Op(
        "GET",
        "/authorization_requests",
        list_authorization_requests,
        m.AuthorizationRequest,
        filters=("status", "store_id"),
    ),
    Op("GET", "/authorization_requests/{id}", get_authorization_request, m.AuthorizationRequest),
    Op("DELETE", "/authorization_requests/{id}", cancel_authorization_request),
]
