"""The control surface under /_sandbox/ (tests, demos, benchmarks): one function per endpoint.

Every function receives the app, the JSON object body (`{}` when there is none), the query and
the path id; the app checks `X-Sandbox-Admin` before any of them runs. URLs, methods and JSON
shapes are a contract (docs/api-model.md, and sandbox/admin.py's client).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from . import api
from . import models as m
from .context import Reply
from .errors import ApiError
from .quirks import QuirkError, Quirks
from .store import OBJECT_TABLES, Database, create_account, fmt_ts

if TYPE_CHECKING:
    from .app import SandboxApp

Handler = Callable[["SandboxApp", dict[str, Any], dict[str, str], int], Reply]


@dataclass(frozen=True)
class ControlOp:
    method: str
    template: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    # status -> model of the answer (None: no body)
    answers: tuple[tuple[int, type[BaseModel] | list[type[BaseModel]] | None], ...] = ()
    errors: tuple[int, ...] = ()


def users(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    username, password = body.get("username"), body.get("password")
    if (
        not isinstance(username, str)
        or not username
        or len(username) > 255
        or ":" in username
        or not isinstance(password, str)
    ):
        raise ApiError(422, "username (without ':') and password are required strings.")
    with app.db.write() as conn:
        exists = conn.execute("SELECT 1 FROM accounts WHERE username = ?", (username,))
        if exists.fetchone():
            raise ApiError(409, f"User {username} already exists.")
        create_account(conn, username, password)
    return Reply(201, {"username": username})


def outbox(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    sql = (
        "SELECT o.*, r.status, r.expires_at FROM outbox o JOIN accounts a ON a.id = o.account_id"
        " JOIN authorization_requests r ON r.id = o.authorization_request_id"
    )
    args: tuple[Any, ...] = ()
    if query.get("username"):
        sql += " WHERE a.username = ?"
        args = (query["username"],)
    with app.db.read() as conn:
        now = fmt_ts(Database.now(conn))
        rows = conn.execute(sql + " ORDER BY o.id", args).fetchall()
    return Reply(
        200,
        [
            {
                "to": r["recipient"],
                "subject": r["subject"],
                "link": r["link"],
                "authorization_request_id": r["authorization_request_id"],
                "sent_at": r["sent_at"],
                "status": api.request_status(r, now),
            }
            for r in rows
        ],
    )


def complete(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    partner = body.get("selling_partner_id")
    if partner is not None and (not isinstance(partner, str) or len(partner) > 255):
        raise ApiError(
            422,
            "Validation failed: selling_partner_id must be a string or null.",
            {"selling_partner_id": ["must be a string or null"]},
        )
    with app.db.write() as conn:
        now = Database.now(conn)
        row = conn.execute("SELECT * FROM authorization_requests WHERE id = ?", (ident,)).fetchone()
        if row is None:
            raise ApiError(404, f"Authorization request {ident} was not found.")
        status = api.request_status(row, fmt_ts(now))
        if status != "pending":
            raise ApiError(409, f"Authorization request {ident} is {status}.")
        used = api.complete_request(conn, row, now, partner or None)
    return Reply(200, {"id": ident, "status": "completed", "selling_partner_id": used})


def revoke(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    with app.db.write() as conn:
        row = conn.execute(
            "SELECT * FROM stores WHERE id = ? AND platform = 'amazon'", (ident,)
        ).fetchone()
        if row is None:
            raise ApiError(404, f"Amazon store {ident} was not found.")
        # Only an authorization can be revoked: saying so of any other store would let a
        # test (or a person) believe it set up a revocation it did not.
        status = api.authorization_status(row, fmt_ts(Database.now(conn)))
        if status != "authorized":
            raise ApiError(
                409,
                f"Store {ident} is not authorized with Amazon (its "
                f"authorization is {status}): there is nothing to revoke.",
            )
        conn.execute("UPDATE stores SET auth_status = 'revoked' WHERE id = ?", (ident,))
    return Reply(204)


def clock(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    advance = number(body, "advance_seconds", 0.0, 0, 100 * 365 * 86400)
    with app.db.write() as conn:
        offset = Database.clock_offset(conn) + advance
        conn.execute("UPDATE meta SET value = ? WHERE key = 'clock_offset'", (str(offset),))
        now = Database.now(conn)
    return Reply(200, {"now": fmt_ts(now), "offset_seconds": offset})


def faults(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    from .app import Faults

    rate = number(body, "rate", app.faults.rate, 0, 1)
    share = number(body, "after_commit_share", app.faults.after_commit_share, 0, 1)
    latency = int(number(body, "latency_ms", app.faults.latency_ms, 0, 60_000, integer=True))
    seed = body.get("seed", app.faults.seed)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ApiError(
            422,
            "Validation failed: seed must be an integer or null.",
            {"seed": ["must be an integer or null"]},
        )
    app.faults = Faults(rate, share, latency, seed)
    if "seed" in body:
        app.rng = random.Random(seed)
    return Reply(
        200,
        {
            "rate": rate,
            "after_commit_share": share,
            "latency_ms": app.faults.latency_ms,
            "seed": seed,
        },
    )


def rate_limit(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    from .app import TokenBuckets

    rps = number(body, "rps", 0.0, 0, 1e6)
    burst = int(number(body, "burst", 10, 1, 1e6, integer=True))
    app.buckets = TokenBuckets(rps, burst)
    return Reply(200, {"rps": app.buckets.rps, "burst": app.buckets.burst})


def quirks(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    return Reply(200, {"quirks": app.quirks.as_list() if app.quirks else []})


def set_quirks(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    names = body.get("quirks")
    if not isinstance(names, list):
        raise ApiError(
            422,
            "Validation failed: quirks must be a list of quirk names ([] sets none).",
            {"quirks": ["must be a list of quirk names"]},
        )
    try:
        app.quirks = Quirks.parse(names)
    except QuirkError as exc:
        raise ApiError(422, f"Validation failed: {exc}", {"quirks": [str(exc)]}) from None
    return quirks(app, body, query, ident)


def stats(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    return Reply(
        200,
        {
            "requests": dict(sorted(app.stats.items())),
            "total_requests": sum(app.stats.values()),
            "rate_limited": app.rate_limited,
            "faults": app.fault_count,
        },
    )


def reset(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    with app.db.write() as conn:
        for table in OBJECT_TABLES:
            conn.execute(f"DELETE FROM {table}")
    app.stats.clear()
    app.rate_limited = app.fault_count = 0
    return Reply(204)


def seed(app: SandboxApp, body: dict[str, Any], query: dict[str, str], ident: int) -> Reply:
    from .seed import seed as load

    return Reply(200, load(app.db, body, app.sandbox_info.username))


def number(
    body: dict[str, Any], key: str, default: float, lo: float, hi: float, *, integer: bool = False
) -> float:
    value = body.get(key, default)
    ok = isinstance(value, int) or (isinstance(value, float) and not integer)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not ok
        or not (lo <= value <= hi)
    ):
        kind = "an integer" if integer else "a number"
        raise ApiError(
            422,
            f"Validation failed: {key} must be {kind} from {lo:g} to {hi:g}.",
            {key: [f"must be {kind} from {lo:g} to {hi:g}"]},
        )
    return float(value)


CONTROL_ROUTES: list[ControlOp] = [
    ControlOp(
        "POST",
        "/_sandbox/users",
        users,
        "Create a login with its own empty account (a tenant).",
        m.NewUser,
        ((201, m.UserCreated),),
        (409,),
    ),
    ControlOp(
        "GET",
        "/_sandbox/outbox",
        outbox,
        "The invitation emails sent (filter: ?username=).",
        None,
        ((200, [m.OutboxEmail]),),
    ),
    ControlOp(
        "POST",
        "/_sandbox/authorization_requests/{id}/complete",
        complete,
        "Approve as the merchant.",
        m.Approval,
        ((200, m.Approved),),
        (404, 409),
    ),
    ControlOp(
        "POST",
        "/_sandbox/stores/{id}/revoke",
        revoke,
        "The merchant revokes the app in Seller Central (409: the store is not authorized).",
        None,
        ((204, None),),
        (404, 409),
    ),
    ControlOp(
        "POST",
        "/_sandbox/clock",
        clock,
        "Move the sandbox clock forward.",
        m.ClockAdvance,
        ((200, m.ClockState),),
    ),
    ControlOp(
        "POST",
        "/_sandbox/faults",
        faults,
        "Inject faults: rate, after_commit_share, latency_ms, seed.",
        m.FaultSettings,
        ((200, m.FaultSettings),),
    ),
    ControlOp(
        "POST",
        "/_sandbox/rate_limit",
        rate_limit,
        "Set the per-login token bucket (rps 0: off).",
        m.RateLimit,
        ((200, m.RateLimit),),
    ),
    ControlOp(
        "GET", "/_sandbox/quirks", quirks, "The quirk modes set.", None, ((200, m.QuirkSettings),)
    ),
    ControlOp(
        "POST",
        "/_sandbox/quirks",
        set_quirks,
        "Set the quirk modes (replacing those set; [] for none): answers that differ "
        "from the model as a real DropStream might.",
        m.QuirkSettings,
        ((200, m.QuirkSettings),),
    ),
    ControlOp(
        "GET",
        "/_sandbox/stats",
        stats,
        "Request counts per route template, 429s and faults.",
        None,
        ((200, m.Stats),),
    ),
    ControlOp("POST", "/_sandbox/reset", reset, "Empty every account.", None, ((204, None),)),
    ControlOp(
        "POST",
        "/_sandbox/seed",
        seed,
        "Load whole objects into a login's account.",
        m.SeedDocument,
        ((200, m.SeedCounts),),
    ),
]
