"""The sandbox as an ASGI application: routing, auth, rate limit, faults, control surface.

A hand-rolled router rather than a framework: the handlers in api.py are plain functions
of a `Ctx`, and a plan of 10,000 stores reads hundreds of pages in-process, so the cost per
request matters more than routing conveniences.

Faults (POST /_sandbox/faults) hit API endpoints only, never /auth/token, the merchant page
or /_sandbox/. A fault is a 500, 502 or 503 answer or a dropped connection; an
"after commit" fault runs the handler and commits first. A dropped connection sends the
response headers and then fails: over a socket uvicorn closes the connection mid-response,
in-process `inprocess_transport` turns it into `httpx.RemoteProtocolError`.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import math
import random
import re
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from . import api
from .catalog import MARKETPLACE_NAMES
from .context import Ctx, Html, Reply, Settings
from .errors import ApiError, ConnectionDropped
from .store import (
    OBJECT_TABLES,
    Database,
    check_password,
    create_account,
    fmt_ts,
    load_secrets,
)
from .tokens import issue, verify

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAULT_KINDS = (500, 502, 503, "drop")


@dataclass
class SandboxInfo:
    username: str
    password: str
    admin_key: str
    state_dir: str


@dataclass
class Faults:
    rate: float = 0.0
    after_commit_share: float = 0.0
    latency_ms: int = 0
    seed: int | None = None


class TokenBuckets:
    """One token bucket per login; rps 0 turns limiting off."""

    def __init__(self, rps: float, burst: int) -> None:
        self.rps = rps
        self.burst = max(1, burst)
        self._state: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, account_id: int) -> float:
        """0 when the request may go, else the seconds until a token is there."""
        if self.rps <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._state.get(account_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self.rps)
            if tokens >= 1:
                self._state[account_id] = (tokens - 1, now)
                return 0.0
            self._state[account_id] = (tokens, now)
            return (1 - tokens) / self.rps


def _compile(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[0-9]{1,18})", template) + "$")


API_TABLE = [(method, template, _compile(template), fn) for method, template, fn in api.API_ROUTES]


class SandboxApp:
    def __init__(
        self,
        state_dir: Path,
        *,
        username: str | None = None,
        password: str | None = None,
        admin_key: str | None = None,
        rate_limit_rps: float = 0,
        burst: int = 10,
        fault_rate: float = 0,
        fault_after_commit: float = 0,
        fault_seed: int | None = None,
        latency_ms: int = 0,
        invite_ttl_hours: float = 168,
        token_ttl_seconds: int = 3600,
        renewals: bool = True,
    ) -> None:
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        stored = load_secrets(state_dir)
        self.db = Database(state_dir / "sandbox.sqlite3")
        self.signing_key = stored.signing_key
        login = username or stored.username
        self.db.ensure_account(login, password, stored.password)
        self.sandbox_info = SandboxInfo(
            username=login,
            password=password or stored.password,
            admin_key=admin_key or stored.admin_key,
            state_dir=str(state_dir),
        )
        self.settings = Settings(invite_ttl_hours * 3600, token_ttl_seconds, renewals)
        self.buckets = TokenBuckets(rate_limit_rps, burst)
        self.faults = Faults(fault_rate, fault_after_commit, latency_ms, fault_seed)
        self.rng = random.Random(fault_seed)
        self.stats: Counter[str] = Counter()
        self.rate_limited = 0
        self.fault_count = 0
        self._counts: dict[tuple[str, tuple[Any, ...]], tuple[tuple[int, int], int]] = {}

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        reply, drop = await self._handle(scope, body)
        if drop:
            # Promise a body, send a piece of it, then fail: the peer sees a connection cut
            # mid-response, as with a real network fault.
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"64")]})
            await send({"type": "http.response.body", "body": b'{"', "more_body": True})
            raise ConnectionDropped("the sandbox dropped the connection (injected fault)")
        await self._send(send, reply)

    async def _send(self, send: Send, reply: Reply) -> None:
        headers = dict(reply.headers)
        if isinstance(reply.body, Html):
            payload = reply.body.text.encode()
            headers["content-type"] = "text/html; charset=utf-8"
        elif reply.body is None:
            payload = b""
        else:
            payload = json.dumps(reply.body, separators=(",", ":")).encode()
            headers["content-type"] = "application/json"
        headers["content-length"] = str(len(payload))
        await send({
            "type": "http.response.start",
            "status": reply.status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        })
        await send({"type": "http.response.body", "body": payload})

    # -- dispatch ----------------------------------------------------------------------------

    async def _handle(self, scope: Scope, raw: bytes) -> tuple[Reply, bool]:
        method: str = scope["method"]
        path: str = scope["path"]
        # latin-1 and "replace": a garbled header or query is the client's problem, answered
        # with a 4xx, never a crash.
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        query = dict(parse_qsl(scope.get("query_string", b"").decode(errors="replace"),
                               keep_blank_values=True))
        host = headers.get("host") or "sandbox.local"
        base_url = f"{scope.get('scheme', 'http')}://{host}"
        try:
            if path.startswith("/_sandbox/"):
                self.stats[f"{method} {self._control_template(path)}"] += 1
                return self._control(method, path, headers, query, raw), False
            if path == "/auth/token":
                self.stats["POST /auth/token"] += 1
                return self._token(method, headers, raw), False
            if path.startswith("/authorize/"):
                self.stats[f"{method} /authorize/{{token}}"] += 1
                return self._merchant_page(method, path, raw), False
            return await self._api(method, path, headers, query, raw, base_url)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body(), dict(exc.headers))
            if exc.status == 401:
                reply.headers["WWW-Authenticate"] = "Bearer"
            return reply, False
        except Exception as exc:
            # A bug in the sandbox still answers in the API's error shape, so a client sees a
            # 5xx it can handle; the contract tests assert that this never happens.
            return Reply(500, {"error": f"Internal sandbox error ({type(exc).__name__})."}), False

    async def _api(
        self, method: str, path: str, headers: dict[str, str], query: dict[str, str],
        raw: bytes, base_url: str,
    ) -> tuple[Reply, bool]:
        route = None
        allowed = False
        for r_method, template, pattern, fn in API_TABLE:
            match = pattern.match(path)
            if match:
                allowed = True
                if r_method == method:
                    route = (template, fn, match.groupdict())
                    break
        if route is None:
            if allowed:
                raise ApiError(405, f"{method} is not allowed on {path}.")
            raise ApiError(404, f"No such endpoint: {path}.")
        template, fn, params = route
        self.stats[f"{method} {template}"] += 1
        account_id = self._authenticate(headers)
        wait = self.buckets.take(account_id)
        if wait > 0:
            self.rate_limited += 1
            raise ApiError(429, "Too many requests: slow down.",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        fault: int | str | None = None
        after_commit = False
        if self.faults.rate and self.rng.random() < self.faults.rate:
            self.fault_count += 1
            fault = self.rng.choice(FAULT_KINDS)
            after_commit = self.rng.random() < self.faults.after_commit_share
            if not after_commit:
                return self._fault_reply(fault)
        body: Any = parse_json(raw) if raw.strip() else None
        if body is None and method in ("POST", "PATCH"):
            body = {}
        reply = self._run(fn, method, path, account_id, params, query, body, base_url)
        if fault is not None:
            return self._fault_reply(fault)
        if self.buckets.rps > 0:
            # Best effort, as Amazon's own: announced on answers, never on a 429.
            reply.headers["x-amzn-RateLimit-Limit"] = f"{self.buckets.rps:g}"
        return reply, False

    def _fault_reply(self, fault: int | str) -> tuple[Reply, bool]:
        if fault == "drop":
            return Reply(200, None), True
        return Reply(int(fault), {"error": "The service is temporarily unavailable."}), False

    def _run(
        self, fn: Callable[[Ctx], Reply], method: str, path: str, account_id: int,
        params: dict[str, str], query: dict[str, str], body: Any, base_url: str,
    ) -> Reply:
        tx = self.db.read() if method == "GET" else self.db.write()
        with tx as conn:
            now = Database.now(conn)
            ctx = Ctx(
                conn=conn, now=now, now_s=fmt_ts(now), account_id=account_id, params=params,
                query=query, body=body, base_url=base_url, path=path, settings=self.settings,
                count=lambda sql, args: self._count(conn, sql, args),
            )
            reply = fn(ctx)
        # The sandbox's own clock, so a client can plan by the time the data is stamped with.
        reply.headers.setdefault("Date", format_datetime(now, usegmt=True))
        return reply

    def _count(self, conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> int:
        # A plan reads every page of a list: count once per database generation, not per page.
        generation = self.db.generation(conn)
        # data_version is only comparable within one connection, hence the connection's id.
        key = (sql, (id(conn), *args))
        cached = self._counts.get(key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        total = int(conn.execute(sql, args).fetchone()[0])
        if len(self._counts) > 10_000:
            self._counts.clear()
        self._counts[key] = (generation, total)
        return total

    # -- auth --------------------------------------------------------------------------------

    def _authenticate(self, headers: dict[str, str]) -> int:
        value = headers.get("authorization", "")
        if not value.startswith("Bearer "):
            raise ApiError(401, "Missing bearer token.")
        payload = verify(self.signing_key, value[7:].strip())
        if payload is None:
            raise ApiError(401, "Invalid token.")
        conn = self.db.conn()
        now = Database.now(conn).timestamp()
        if payload["exp"] <= now:
            raise ApiError(401, "The token has expired.")
        row = conn.execute("SELECT id FROM accounts WHERE id = ?", (payload["sub"],)).fetchone()
        if row is None:
            raise ApiError(401, "Invalid token.")
        return int(payload["sub"])

    def _token(self, method: str, headers: dict[str, str], raw: bytes) -> Reply:
        if method != "POST":
            raise ApiError(405, "Use POST /auth/token.")
        value = headers.get("authorization", "")
        if not value.startswith("Basic "):
            raise ApiError(401, "Basic credentials are required.")
        try:
            username, _, password = base64.b64decode(value[6:], validate=True).decode().partition(
                ":"
            )
        except ValueError:  # binascii.Error and UnicodeDecodeError included
            raise ApiError(401, "Malformed Basic credentials.") from None
        body = parse_json(raw) if raw.strip() else {}
        if not isinstance(body, dict) or body.get("grant_type", "client_credentials") != (
            "client_credentials"
        ):
            raise ApiError(422, "grant_type must be client_credentials.",
                           {"grant_type": ["must be client_credentials"]})
        conn = self.db.conn()
        account_id = check_password(conn, username, password)
        if account_id is None:
            raise ApiError(401, "Wrong username or password.")
        issued = int(Database.now(conn).timestamp())
        ttl = self.settings.token_ttl_seconds
        token = issue(self.signing_key, account_id, username, issued, ttl)
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    # -- the merchant's page -----------------------------------------------------------------

    def _merchant_page(self, method: str, path: str, raw: bytes) -> Reply:
        token = path.removeprefix("/authorize/")
        with self.db.write() as conn:
            now = Database.now(conn)
            row = conn.execute(
                "SELECT r.*, s.name AS store_name, s.adapter AS adapter FROM"
                " authorization_requests r JOIN stores s ON s.id = r.store_id WHERE r.token = ?",
                (token,),
            ).fetchone()
            if row is None or api.request_status(row, fmt_ts(now)) != "pending":
                return Reply(410, Html("<h1>This link has expired or was already used.</h1>"))
            marketplace = MARKETPLACE_NAMES.get(json.loads(row["adapter"]).get("marketplace_id"))
            title = f"Authorize DropStream for {row['store_name']} on Amazon {marketplace or ''}"
            if method == "GET":
                return Reply(200, Html(
                    f"<h1>{html.escape(title)}</h1><form method='post'>"
                    "<button name='action' value='approve'>Approve</button> "
                    "<button name='action' value='deny'>Deny</button></form>"
                ))
            action = dict(parse_qsl(raw.decode(errors="replace"))).get("action")
            if action == "approve":
                api.complete_request(conn, row, now, None)
                return Reply(200, Html("<h1>Approved. You can close this page.</h1>"))
            if action == "deny":
                conn.execute("UPDATE authorization_requests SET status = 'canceled' WHERE id = ?",
                             (row["id"],))
                return Reply(200, Html("<h1>Denied. DropStream was not authorized.</h1>"))
            raise ApiError(400, "action must be approve or deny.")

    # -- /_sandbox/ --------------------------------------------------------------------------

    @staticmethod
    def _control_template(path: str) -> str:
        return re.sub(r"/[0-9]+(?=/|$)", "/{id}", path)

    def _control(
        self, method: str, path: str, headers: dict[str, str], query: dict[str, str], raw: bytes
    ) -> Reply:
        if not secrets.compare_digest(
            headers.get("x-sandbox-admin", ""), self.sandbox_info.admin_key
        ):
            raise ApiError(403, "The sandbox control surface needs X-Sandbox-Admin.")
        body = parse_json(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ApiError(422, "The request body must be a JSON object.")
        route = f"{method} {self._control_template(path)}"
        ident = next(iter(re.findall(r"/([0-9]+)(?:/|$)", path)), None)
        if route == "POST /_sandbox/users":
            return self._users(body)
        if route == "GET /_sandbox/outbox":
            return self._outbox(query)
        if route == "POST /_sandbox/authorization_requests/{id}/complete":
            return self._complete(int(ident or 0), body)
        if route == "POST /_sandbox/stores/{id}/revoke":
            return self._revoke(int(ident or 0))
        if route == "POST /_sandbox/clock":
            return self._clock(body)
        if route == "POST /_sandbox/faults":
            return self._set_faults(body)
        if route == "POST /_sandbox/rate_limit":
            rps = _number(body, "rps", 0.0, 0, 1e6)
            burst = int(_number(body, "burst", 10, 1, 1e6, integer=True))
            self.buckets = TokenBuckets(rps, burst)
            return Reply(200, {"rps": self.buckets.rps, "burst": self.buckets.burst})
        if route == "GET /_sandbox/stats":
            return Reply(200, {
                "requests": dict(sorted(self.stats.items())),
                "total_requests": sum(self.stats.values()),
                "rate_limited": self.rate_limited,
                "faults": self.fault_count,
            })
        if route == "POST /_sandbox/reset":
            with self.db.write() as conn:
                for table in OBJECT_TABLES:
                    conn.execute(f"DELETE FROM {table}")
            self.stats.clear()
            self.rate_limited = self.fault_count = 0
            return Reply(204)
        if route == "POST /_sandbox/seed":
            from .seed import seed

            return Reply(200, seed(self.db, body, self.sandbox_info.username))
        raise ApiError(404, f"No such control endpoint: {method} {path}.")

    def _users(self, body: dict[str, Any]) -> Reply:
        username, password = body.get("username"), body.get("password")
        if (not isinstance(username, str) or not username or len(username) > 255
                or ":" in username or not isinstance(password, str)):
            raise ApiError(422, "username (without ':') and password are required strings.")
        with self.db.write() as conn:
            exists = conn.execute("SELECT 1 FROM accounts WHERE username = ?", (username,))
            if exists.fetchone():
                raise ApiError(409, f"User {username} already exists.")
            create_account(conn, username, password)
        return Reply(201, {"username": username})

    def _outbox(self, query: dict[str, str]) -> Reply:
        sql = ("SELECT o.* FROM outbox o JOIN accounts a ON a.id = o.account_id")
        args: tuple[Any, ...] = ()
        if query.get("username"):
            sql += " WHERE a.username = ?"
            args = (query["username"],)
        with self.db.read() as conn:
            rows = conn.execute(sql + " ORDER BY o.id", args).fetchall()
        return Reply(200, [
            {"to": r["recipient"], "subject": r["subject"], "link": r["link"],
             "authorization_request_id": r["authorization_request_id"], "sent_at": r["sent_at"]}
            for r in rows
        ])

    def _complete(self, request_id: int, body: dict[str, Any]) -> Reply:
        with self.db.write() as conn:
            now = Database.now(conn)
            row = conn.execute(
                "SELECT * FROM authorization_requests WHERE id = ?", (request_id,)
            ).fetchone()
            if row is None:
                raise ApiError(404, f"Authorization request {request_id} was not found.")
            status = api.request_status(row, fmt_ts(now))
            if status != "pending":
                raise ApiError(409, f"Authorization request {request_id} is {status}.")
            partner = api.complete_request(conn, row, now, body.get("selling_partner_id"))
        return Reply(200, {"id": request_id, "status": "completed", "selling_partner_id": partner})

    def _revoke(self, store_id: int) -> Reply:
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE stores SET auth_status = 'revoked' WHERE id = ? AND platform = 'amazon'",
                (store_id,),
            )
            if cur.rowcount == 0:
                raise ApiError(404, f"Amazon store {store_id} was not found.")
        return Reply(204)

    def _clock(self, body: dict[str, Any]) -> Reply:
        advance = _number(body, "advance_seconds", 0.0, 0, 100 * 365 * 86400)
        with self.db.write() as conn:
            offset = Database.clock_offset(conn) + advance
            conn.execute("UPDATE meta SET value = ? WHERE key = 'clock_offset'", (str(offset),))
            now = Database.now(conn)
        return Reply(200, {"now": fmt_ts(now), "offset_seconds": offset})

    def _set_faults(self, body: dict[str, Any]) -> Reply:
        rate = _number(body, "rate", self.faults.rate, 0, 1)
        share = _number(body, "after_commit_share", self.faults.after_commit_share, 0, 1)
        latency = int(_number(body, "latency_ms", self.faults.latency_ms, 0, 60_000, integer=True))
        seed = body.get("seed", self.faults.seed)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ApiError(422, "Validation failed: seed must be an integer or null.",
                           {"seed": ["must be an integer or null"]})
        self.faults = Faults(rate, share, latency, seed)
        if "seed" in body:
            self.rng = random.Random(seed)
        return Reply(200, {"rate": rate, "after_commit_share": share,
                           "latency_ms": self.faults.latency_ms, "seed": seed})


def parse_json(raw: bytes) -> Any:
    """A request body, or a 400. Lone surrogates (`"\\ud800"`) are refused here once, so no
    handler ever tries to store a string SQLite and UTF-8 cannot hold."""
    try:
        body = json.loads(raw)
        json.dumps(body, ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        raise ApiError(400, "The request body is not valid JSON.") from None
    return body


def _number(body: dict[str, Any], key: str, default: float, lo: float, hi: float,
            *, integer: bool = False) -> float:
    value = body.get(key, default)
    ok = isinstance(value, int) or (isinstance(value, float) and not integer)
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok or not (
        lo <= value <= hi
    ):
        kind = "an integer" if integer else "a number"
        raise ApiError(422, f"Validation failed: {key} must be {kind} from {lo:g} to {hi:g}.",
                       {key: [f"must be {kind} from {lo:g} to {hi:g}"]})
    return float(value)
