"""POST /_sandbox/seed: load whole objects, in the API's shapes, into one login's account.

Ids in the document only tie references together; rows get fresh ids (the document's id of
a customer maps to its new id for the warehouses, stores and connections that name it).
Everything goes in one transaction, so 100,000 objects load in seconds.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Any

from .catalog import CHANNEL_TYPES
from .errors import ApiError
from .store import Database, create_account, fmt_ts

KINDS = ("customers", "warehouses", "stores", "connections", "authorization_requests")
TEXT_KEYS = {
    "customers": ("company_name",),
    "stores": ("name",),
    "connections": ("name",),
    "authorization_requests": ("email", "expires_at"),
}


def seed(db: Database, doc: dict[str, Any], default_username: str) -> dict[str, int]:
    username = _username(doc, default_username)
    _check_shapes(doc)
    try:
        with db.write() as conn:
            row = conn.execute("SELECT id FROM accounts WHERE username = ?", (username,)).fetchone()
            account = int(row[0]) if row else create_account(conn, username, secrets.token_hex(8))
            seeder = _Seeder(conn, account, fmt_ts(Database.now(conn)))
            seeder.customers(doc.get("customers", []))
            seeder.warehouses(doc.get("warehouses", []))
            seeder.stores(doc.get("stores", []))
            seeder.default_warehouses(doc.get("warehouses", []))
            seeder.connections(doc.get("connections", []))
            seeder.authorization_requests(doc.get("authorization_requests", []))
            return {kind: len(seeder.ids[kind]) for kind in KINDS}
    except (
        KeyError,
        TypeError,
        AttributeError,
        ValueError,
        OverflowError,
        sqlite3.IntegrityError,
        sqlite3.ProgrammingError,
        sqlite3.InterfaceError,
    ) as exc:
        raise ApiError(422, f"seed: malformed document ({type(exc).__name__}: {exc})") from None


def _username(doc: dict[str, Any], default_username: str) -> str:
    username = doc.get("username")
    username = default_username if username is None or username == "" else username
    if not isinstance(username, str) or ":" in username or len(username) > 255:
        raise ApiError(422, "seed: username must be a login name (a string without ':').")
    return username


def _check_shapes(doc: dict[str, Any]) -> None:
    for kind in KINDS:
        items = doc.get(kind, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ApiError(422, f"seed: {kind} must be a list of objects.")
        for key in TEXT_KEYS.get(kind, ()):
            # What lists answer as strings must go in as strings (cheap enough for 100,000).
            if not all(isinstance(item.get(key), str) for item in items):
                raise ApiError(422, f"seed: every one of {kind} needs {key} as a string.")


class _Seeder:
    """Inserts one kind at a time in one transaction; `ids` maps the document's ids (which
    only tie references together) to the rows' new ids."""

    def __init__(self, conn: sqlite3.Connection, account: int, now: str) -> None:
        self.conn = conn
        self.account = account
        self.now = now
        self.ids: dict[str, dict[Any, int]] = {k: {} for k in KINDS}

    def ref(self, kind: str, value: Any) -> int:
        if value not in self.ids[kind]:
            raise ApiError(422, f"seed: unknown {kind} id {value!r}")
        return self.ids[kind][value]

    def _insert(self, kind: str, item: dict[str, Any], sql: str, values: tuple[Any, ...]) -> int:
        new_id = int(self.conn.execute(sql, values).lastrowid or 0)
        self.ids[kind][item.get("id", new_id)] = new_id
        return new_id

    def customers(self, items: list[dict[str, Any]]) -> None:
        for c in items:
            self._insert(
                "customers",
                c,
                "INSERT INTO customers(account_id, company_name, street1, street2, street3,"
                " city, state, zipcode, country, provider, created_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    self.account,
                    c["company_name"],
                    c.get("street1"),
                    c.get("street2"),
                    c.get("street3"),
                    c.get("city"),
                    c.get("state"),
                    c.get("zipcode"),
                    c.get("country"),
                    c.get("provider"),
                    c.get("created_at", self.now),
                ),
            )

    def warehouses(self, items: list[dict[str, Any]]) -> None:
        for w in items:
            self._insert(
                "warehouses",
                w,
                "INSERT INTO warehouses(account_id, customer_id, description, platform,"
                " adapter, created_at, enabled_at) VALUES (?,?,?,?,?,?,?)",
                (
                    self.account,
                    self.ref("customers", w["customer_id"]),
                    w.get("description"),
                    w.get("platform", "dropstream"),
                    json.dumps(w.get("adapter", {})),
                    w.get("created_at", self.now),
                    w.get("enabled_at"),
                ),
            )

    def stores(self, items: list[dict[str, Any]]) -> None:
        for s in items:
            adapter = dict(s.get("adapter", {}))
            auth = adapter.pop("authorization", None) or {}
            self._insert(
                "stores",
                s,
                "INSERT INTO stores(account_id, customer_id, name, description, url,"
                " platform, adapter, auth_status, auth_partner, auth_at, auth_expires,"
                " created_at, enabled_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    self.account,
                    self.ref("customers", s["customer_id"]),
                    s["name"],
                    s.get("description"),
                    s.get("url"),
                    s.get("platform", "amazon"),
                    json.dumps(adapter),
                    auth.get("status", "missing"),
                    auth.get("selling_partner_id"),
                    auth.get("authorized_at"),
                    auth.get("expires_at"),
                    s.get("created_at", self.now),
                    s.get("enabled_at"),
                ),
            )

    def default_warehouses(self, given: list[dict[str, Any]]) -> None:
        # As POST /customers does: a customer the document gives no warehouse gets its
        # default one, so connections to it can still leave warehouse_id out.
        with_warehouse = {self.ref("customers", w["customer_id"]) for w in given}
        self.conn.executemany(
            "INSERT INTO warehouses(account_id, customer_id, description, platform, adapter,"
            " created_at, enabled_at) SELECT ?, id, company_name || ' Warehouse',"
            " 'dropstream', '{}', ?, ? FROM customers WHERE id = ?",
            [
                (self.account, self.now, self.now, cid)
                for cid in self.ids["customers"].values()
                if cid not in with_warehouse
            ],
        )

    def connections(self, items: list[dict[str, Any]]) -> None:
        for c in items:
            new_id = self._insert(
                "connections",
                c,
                "INSERT INTO connections(account_id, customer_id, warehouse_id, store_id,"
                " name, connection_type, created_at, enabled_at)"
                " VALUES (?,?,?,?,?,'standard',?,?)",
                (
                    self.account,
                    self.ref("customers", c["customer_id"]),
                    self.ref("warehouses", c["warehouse_id"]),
                    self.ref("stores", c["store_id"]),
                    c["name"],
                    c.get("created_at", self.now),
                    c.get("enabled_at"),
                ),
            )
            # Every connection has the sandbox's channels; a document's `channels`
            # ([{type, enabled_at}]) sets some of them enabled.
            given = {ch["type"]: ch.get("enabled_at") for ch in c.get("channels") or ()}
            unknown = sorted(set(given) - set(CHANNEL_TYPES))
            if unknown:
                raise ValueError(f"unknown channel type {unknown[0]!r}")
            self.conn.executemany(
                "INSERT INTO channels(connection_id, type, enabled_at) VALUES (?, ?, ?)",
                [(new_id, kind, given.get(kind)) for kind in CHANNEL_TYPES],
            )

    def authorization_requests(self, items: list[dict[str, Any]]) -> None:
        for r in items:
            store_id = self.ref("stores", r["store_id"])
            customer = self.conn.execute(
                "SELECT customer_id FROM stores WHERE id = ?", (store_id,)
            ).fetchone()[0]
            self._insert(
                "authorization_requests",
                r,
                "INSERT INTO authorization_requests(account_id, store_id, customer_id, email,"
                " status, created_at, expires_at, completed_at, token)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    self.account,
                    store_id,
                    customer,
                    r["email"],
                    r.get("status", "pending"),
                    r.get("created_at", self.now),
                    r["expires_at"],
                    r.get("completed_at"),
                    secrets.token_urlsafe(24),
                ),
            )
