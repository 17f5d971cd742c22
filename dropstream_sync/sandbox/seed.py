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
TEXT_KEYS = {"customers": ("company_name",), "stores": ("name",), "connections": ("name",),
             "authorization_requests": ("email", "expires_at")}


def seed(db: Database, doc: dict[str, Any], default_username: str) -> dict[str, int]:
    username = doc.get("username")
    username = default_username if username is None or username == "" else username
    if not isinstance(username, str) or ":" in username or len(username) > 255:
        raise ApiError(422, "seed: username must be a login name (a string without ':').")
    for kind in KINDS:
        items = doc.get(kind, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ApiError(422, f"seed: {kind} must be a list of objects.")
        for key in TEXT_KEYS.get(kind, ()):
            # What lists answer as strings must go in as strings (cheap enough for 100,000).
            if not all(isinstance(item.get(key), str) for item in items):
                raise ApiError(422, f"seed: every one of {kind} needs {key} as a string.")
    counts = dict.fromkeys(KINDS, 0)
    try:
        with db.write() as conn:
            row = conn.execute("SELECT id FROM accounts WHERE username = ?", (username,)).fetchone()
            account = int(row[0]) if row else create_account(conn, username, secrets.token_hex(8))
            now = fmt_ts(Database.now(conn))
            ids: dict[str, dict[Any, int]] = {k: {} for k in KINDS}

            def ref(kind: str, value: Any) -> int:
                if value not in ids[kind]:
                    raise ApiError(422, f"seed: unknown {kind} id {value!r}")
                return ids[kind][value]

            for c in doc.get("customers", []):
                cur = conn.execute(
                    "INSERT INTO customers(account_id, company_name, street1, street2, street3,"
                    " city, state, zipcode, country, provider, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (account, c["company_name"], c.get("street1"), c.get("street2"),
                     c.get("street3"), c.get("city"), c.get("state"), c.get("zipcode"),
                     c.get("country"), c.get("provider"), c.get("created_at", now)),
                )
                ids["customers"][c.get("id", cur.lastrowid)] = int(cur.lastrowid or 0)
            for w in doc.get("warehouses", []):
                cur = conn.execute(
                    "INSERT INTO warehouses(account_id, customer_id, description, platform,"
                    " adapter, created_at, enabled_at) VALUES (?,?,?,?,?,?,?)",
                    (account, ref("customers", w["customer_id"]), w.get("description"),
                     w.get("platform", "dropstream"), json.dumps(w.get("adapter", {})),
                     w.get("created_at", now), w.get("enabled_at")),
                )
                ids["warehouses"][w.get("id", cur.lastrowid)] = int(cur.lastrowid or 0)
            for s in doc.get("stores", []):
                adapter = dict(s.get("adapter", {}))
                auth = adapter.pop("authorization", None) or {}
                cur = conn.execute(
                    "INSERT INTO stores(account_id, customer_id, name, description, url,"
                    " platform, adapter, auth_status, auth_partner, auth_at, auth_expires,"
                    " created_at, enabled_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (account, ref("customers", s["customer_id"]), s["name"], s.get("description"),
                     s.get("url"), s.get("platform", "amazon"), json.dumps(adapter),
                     auth.get("status", "missing"), auth.get("selling_partner_id"),
                     auth.get("authorized_at"), auth.get("expires_at"),
                     s.get("created_at", now), s.get("enabled_at")),
                )
                ids["stores"][s.get("id", cur.lastrowid)] = int(cur.lastrowid or 0)
            # As POST /customers does: a customer the document gives no warehouse gets its
            # default one, so connections to it can still leave warehouse_id out.
            with_warehouse = {ref("customers", w["customer_id"])
                              for w in doc.get("warehouses", [])}
            conn.executemany(
                "INSERT INTO warehouses(account_id, customer_id, description, platform, adapter,"
                " created_at, enabled_at) SELECT ?, id, company_name || ' Warehouse',"
                " 'dropstream', '{}', ?, ? FROM customers WHERE id = ?",
                [(account, now, now, cid) for cid in ids["customers"].values()
                 if cid not in with_warehouse],
            )
            for c in doc.get("connections", []):
                cur = conn.execute(
                    "INSERT INTO connections(account_id, customer_id, warehouse_id, store_id,"
                    " name, connection_type, created_at, enabled_at)"
                    " VALUES (?,?,?,?,?,'standard',?,?)",
                    (account, ref("customers", c["customer_id"]),
                     ref("warehouses", c["warehouse_id"]), ref("stores", c["store_id"]),
                     c["name"], c.get("created_at", now), c.get("enabled_at")),
                )
                new_id = int(cur.lastrowid or 0)
                ids["connections"][c.get("id", new_id)] = new_id
                conn.executemany("INSERT INTO channels(connection_id, type) VALUES (?, ?)",
                                 [(new_id, kind) for kind in CHANNEL_TYPES])
            for r in doc.get("authorization_requests", []):
                store_id = ref("stores", r["store_id"])
                customer = conn.execute("SELECT customer_id FROM stores WHERE id = ?",
                                        (store_id,)).fetchone()[0]
                cur = conn.execute(
                    "INSERT INTO authorization_requests(account_id, store_id, customer_id, email,"
                    " status, created_at, expires_at, completed_at, token)"
                    " VALUES (?,?,?,?,?,?,?,?,?)",
                    (account, store_id, customer, r["email"], r.get("status", "pending"),
                     r.get("created_at", now), r["expires_at"], r.get("completed_at"),
                     secrets.token_urlsafe(24)),
                )
                ids["authorization_requests"][r.get("id", cur.lastrowid)] = int(cur.lastrowid or 0)
            for kind in KINDS:
                counts[kind] = len(ids[kind])
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError,
            sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError) as exc:
        raise ApiError(422, f"seed: malformed document ({type(exc).__name__}: {exc})") from None
    return counts
