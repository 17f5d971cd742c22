"""The sandbox as one plain ASGI application.

Plain ASGI with a small regex router instead of FastAPI or Starlette routing: the app is the
hot path of every in-process plan benchmark, and a hand-rolled dispatcher costs a fraction of a
framework's per-request overhead. Routes come in four kinds:

- `api`   the DropStream API: Bearer token, per-login rate limit, injected latency and faults,
          counted in stats;
- `auth`  `POST /auth/token` (Basic login): counted in stats, never rate limited or faulted,
          so that fault runs exercise the client's retries of real calls, not of its login;
- `page`  the merchant's `/authorize/<token>` page: no login, no faults;
- `admin` `/_sandbox/...`: only with `X-Sandbox-Admin` (401 without it, 403 with a wrong key).

A request to an `api` route goes: count -> token (401) -> rate limit (429) -> latency ->
fault draw -> handler in one SQLite transaction -> (after-commit fault) -> answer. A before-commit
fault answers without running the handler; an after-commit fault commits the write, then answers
500/502/503 or drops the connection.

A dropped connection is made by sending response headers (with a non-zero Content-Length) and
then raising `ConnectionDropped`: uvicorn then closes the socket mid-response, which an httpx
client reports as `httpx.RemoteProtocolError`. In-process, `inprocess_transport` converts the
same exception into `httpx.RemoteProtocolError`, so both paths look alike to a client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from . import api, control, tokens
from .context import Ctx, Html, RawJson, Reply, Settings
from .errors import ApiError, ConnectionDropped
from .faults import Faults, RateLimiter, Stats
from .store import Database, check_password, fmt_ts, load_secrets

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("dropstream_sync.sandbox")

_PARAM_PATTERNS = {"token": "[A-Za-z0-9_-]{1,128}"}


@dataclass(frozen=True)
class SandboxInfo:
    """How to reach a sandbox app: its login, its admin key and where its state lives."""

    username: str
    password: str
    admin_key: str
    state_dir: Path


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    kind: str  # api | auth | page | admin
    handler: Callable[..., Reply]
    pattern: re.Pattern[str]


def _compile(template: str) -> re.Pattern[str]:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>{_PARAM_PATTERNS.get(name, '[0-9]{1,18}')})"

    return re.compile("^" + re.sub(r"\{(\w+)\}", repl, template) + "$")


class SandboxApp:
    """The ASGI callable. Build it with `create_app`."""

    def __init__(
        self,
        state_dir: Path,
        *,
        username: str | None,
        password: str | None,
        admin_key: str | None,
        rate_limit_rps: float,
        burst: int | None,
        fault_rate: float,
        fault_after_commit: float,
        fault_seed: int | None,
        latency_ms: int,
        invite_ttl_hours: float,
        token_ttl_seconds: int,
    ) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        stored = load_secrets(state_dir)
        self.db = Database(state_dir / "sandbox.sqlite3")
        login = username or stored.username
        self.db.ensure_account(login, password, stored.password)
        self.sandbox_info = SandboxInfo(
            username=login,
            password=password or stored.password,
            admin_key=admin_key or stored.admin_key,
            state_dir=state_dir,
        )
        self._signing_key = stored.signing_key
        self.settings = Settings(
            invite_ttl_seconds=invite_ttl_hours * 3600, token_ttl_seconds=token_ttl_seconds
        )
        self.faults = Faults(fault_rate, fault_after_commit, latency_ms, fault_seed)
        self.rate_limiter = RateLimiter(rate_limit_rps, burst)
        self.stats = Stats()
        self._token_cache: dict[str, tuple[int, int]] = {}
        self._count_cache = threading.local()
        self.routes = self._build_routes()
        self._by_first_segment: dict[str, list[Route]] = {}
        for route in self.routes:
            first = route.template.split("/")[1]
            self._by_first_segment.setdefault(first, []).append(route)

    # -- routing ---------------------------------------------------------------------------

    def _build_routes(self) -> list[Route]:
        table: list[tuple[str, str, str, Callable[..., Reply]]] = [
            ("POST", "/auth/token", "auth", self._token),
        ]
        table += [(m, t, "api", h) for m, t, h in api.API_ROUTES]
        table += [
            ("GET", "/authorize/{token}", "page", self._page),
            ("POST", "/authorize/{token}", "page", self._page),
            ("POST", "/_sandbox/users", "admin", self._admin_users),
            ("GET", "/_sandbox/outbox", "admin", self._admin_outbox),
            ("POST", "/_sandbox/authorization_requests/{id}/complete", "admin",
             self._admin_complete),
            ("POST", "/_sandbox/stores/{id}/revoke", "admin", self._admin_revoke),
            ("GET", "/_sandbox/clock", "admin", self._admin_clock_get),
            ("POST", "/_sandbox/clock", "admin", self._admin_clock),
            ("GET", "/_sandbox/faults", "admin", self._admin_faults_get),
            ("POST", "/_sandbox/faults", "admin", self._admin_faults),
            ("GET", "/_sandbox/rate_limit", "admin", self._admin_rate_limit_get),
            ("POST", "/_sandbox/rate_limit", "admin", self._admin_rate_limit),
            ("GET", "/_sandbox/stats", "admin", self._admin_stats),
            ("POST", "/_sandbox/reset", "admin", self._admin_reset),
            ("POST", "/_sandbox/seed", "admin", self._admin_seed),
        ]  # fmt: skip
        return [Route(m, t, k, h, _compile(t)) for m, t, k, h in table]

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        parts = path.split("/", 2)
        candidates = self._by_first_segment.get(parts[1] if len(parts) > 1 else "", [])
        allowed: list[str] = []
        for route in candidates:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict()
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405, f"{method} is not allowed on {path}.", headers={"Allow": ", ".join(allowed)}
            )
        raise ApiError(404, f"There is no endpoint at {path}.")

    # -- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        path: str = scope["path"]
        try:
            route, params = self._match(method, path)
        except ApiError as err:
            await _drain(receive)
            await _send(send, err.status, err.body(), err.headers)
            return
        body = await _drain(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            if route.kind == "api":
                await self._api(scope, send, route, params, headers, body)
                return
            if route.kind == "admin":
                self._check_admin(headers)
            reply = route.handler(_Raw(scope, params, headers, body))
        except ApiError as err:
            reply = Reply(err.status, err.body(), err.headers)
        except ConnectionDropped:
            raise
        except Exception:  # a sandbox bug must still answer like a server would
            log.exception("sandbox error on %s %s", method, path)
            reply = Reply(500, {"error": "The sandbox failed to handle this request."})
        await _send(send, reply.status, reply.body, reply.headers)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _api(
        self, scope: Scope, send: Send, route: Route, params: dict[str, str],
        headers: dict[str, str], body: bytes,
    ) -> None:  # fmt: skip
        with self.stats.lock:
            self.stats.requests[f"{route.method} {route.template}"] += 1
        try:
            conn = self.db.conn()
            now = Database.now(conn)
            account_id = self._bearer(headers, int(now.timestamp()))
            wait = self.rate_limiter.acquire(account_id)
            if wait is not None:
                with self.stats.lock:
                    self.stats.rate_limited += 1
                raise ApiError(
                    429, f"Too many requests: retry after {wait} seconds.",
                    headers={"Retry-After": str(wait)},
                )  # fmt: skip
            if self.faults.latency_ms > 0:
                await asyncio.sleep(self.faults.latency_ms / 1000)
            is_write = route.method != "GET"
            fault = self.faults.decide(is_write)
            if fault is not None:
                with self.stats.lock:
                    self.stats.faults += 1
                if not fault.after_commit:
                    await _fail(send, fault.kind)
                    return
            parsed = _parse_json(body) if is_write and body else None
            ctx = Ctx(
                conn=conn, now=now, now_s=fmt_ts(now), account_id=account_id, params=params,
                query=_query(scope), body=parsed, base_url=_base_url(scope, headers),
                path=scope["path"], settings=self.settings, count=self._count,
            )  # fmt: skip
            with self.db.write() if is_write else self.db.read():
                reply = route.handler(ctx)
            if fault is not None:
                await _fail(send, fault.kind)
                return
        except ApiError as err:
            reply = Reply(err.status, err.body(), err.headers)
        except ConnectionDropped:
            raise
        except sqlite3.OperationalError:
            log.exception("database busy on %s %s", route.method, scope["path"])
            reply = Reply(503, {"error": "The sandbox database is busy; retry."},
                          {"Retry-After": "1"})  # fmt: skip
        except Exception:
            log.exception("sandbox error on %s %s", route.method, scope["path"])
            reply = Reply(500, {"error": "The sandbox failed to handle this request."})
        await _send(send, reply.status, reply.body, reply.headers)

    def _count(self, sql: str, args: tuple[Any, ...]) -> int:
        """COUNT(*) cached until any connection commits (list pages re-count the same filter)."""
        conn = self.db.conn()
        cache: dict[tuple[str, tuple[Any, ...]], tuple[tuple[int, int], int]] | None
        cache = getattr(self._count_cache, "cache", None)
        if cache is None or len(cache) > 256:
            cache = self._count_cache.cache = {}
        generation = self.db.generation(conn)
        hit = cache.get((sql, args))
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = int(conn.execute(sql, args).fetchone()[0])
        cache[(sql, args)] = (generation, value)
        return value

    # -- auth ------------------------------------------------------------------------------

    def _bearer(self, headers: dict[str, str], now_epoch: int) -> int:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("A Bearer token is required: get one from POST /auth/token.")
        cached = self._token_cache.get(token)
        if cached is None:
            payload = tokens.verify(self._signing_key, token.strip())
            if payload is None:
                raise _unauthorized("The access token is not valid.")
            cached = (int(payload["sub"]), int(payload["exp"]))
            if len(self._token_cache) > 10_000:
                self._token_cache.clear()
            self._token_cache[token] = cached
        if cached[1] <= now_epoch:
            raise _unauthorized(
                "The access token has expired: get a new one from POST /auth/token."
            )
        return cached[0]

    def _token(self, raw: _Raw) -> Reply:
        with self.stats.lock:
            self.stats.requests["POST /auth/token"] += 1
        auth = raw.headers.get("authorization", "")
        scheme, _, encoded = auth.partition(" ")
        basic_error = ApiError(
            401, "A valid DropStream login is required (HTTP Basic).",
            headers={"WWW-Authenticate": 'Basic realm="DropStream"'},
        )  # fmt: skip
        if scheme.lower() != "basic":
            raise basic_error
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise basic_error from None
        body = _parse_json(raw.body) if raw.body else None
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            raise ApiError(
                422, 'Validation failed: grant_type must be "client_credentials".',
                {"grant_type": ['must be "client_credentials"']},
            )  # fmt: skip
        with self.db.read() as conn:
            account_id = check_password(conn, username, password)
            now = Database.now(conn)
        if account_id is None:
            raise basic_error
        ttl = self.settings.token_ttl_seconds
        token = tokens.issue(self._signing_key, account_id, username, int(now.timestamp()), ttl)
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl},
                     {"Cache-Control": "no-store"})  # fmt: skip

    def _check_admin(self, headers: dict[str, str]) -> None:
        import hmac

        given = headers.get("x-sandbox-admin")
        if given is None:
            raise ApiError(401, "The sandbox control surface needs the X-Sandbox-Admin header.")
        if not hmac.compare_digest(given.encode(), self.sandbox_info.admin_key.encode()):
            raise ApiError(403, "The X-Sandbox-Admin key is wrong.")

    # -- merchant page and control surface -------------------------------------------------

    def _page(self, raw: _Raw) -> Reply:
        form = dict(parse_qsl(raw.body.decode("utf-8", "replace"))) if raw.body else {}
        with self.db.write() as conn:
            return control.merchant_page(
                conn, Database.now(conn), raw.params["token"], raw.scope["method"], form
            )

    def _admin_users(self, raw: _Raw) -> Reply:
        with self.db.write() as conn:
            return control.add_user(conn, raw.json())

    def _admin_outbox(self, raw: _Raw) -> Reply:
        with self.db.read() as conn:
            return Reply(200, control.outbox(conn))

    def _admin_complete(self, raw: _Raw) -> Reply:
        body = raw.json() if raw.body else None
        with self.db.write() as conn:
            return control.complete(conn, Database.now(conn), int(raw.params["id"]), body)

    def _admin_revoke(self, raw: _Raw) -> Reply:
        with self.db.write() as conn:
            return control.revoke(conn, int(raw.params["id"]))

    def _admin_clock_get(self, raw: _Raw) -> Reply:
        with self.db.read() as conn:
            now, offset = Database.now(conn), Database.clock_offset(conn)
        return Reply(200, {"now": fmt_ts(now), "offset_seconds": offset})

    def _admin_clock(self, raw: _Raw) -> Reply:
        body = raw.json()
        with self.db.write() as conn:
            return Reply(200, control.advance_clock(conn, body))

    def _admin_faults_get(self, raw: _Raw) -> Reply:
        return Reply(200, self.faults.as_dict())

    def _admin_faults(self, raw: _Raw) -> Reply:
        body = raw.json()
        from .validation import Fields

        fields = Fields(body, ("rate", "after_commit_share", "latency_ms", "seed"))
        current = self.faults.as_dict()
        values = {k: fields.body.get(k, current[k]) for k in current}
        for key in ("rate", "after_commit_share"):
            value = values[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                fields.add(key, "must be a number from 0 to 1")
        latency = values["latency_ms"]
        if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= 60000:
            fields.add("latency_ms", "must be an integer from 0 to 60000")
        seed = values["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            fields.add("seed", "must be an integer or null")
        fields.done()
        self.faults.configure(
            float(values["rate"]), float(values["after_commit_share"]), latency, seed
        )
        return Reply(200, self.faults.as_dict())

    def _admin_rate_limit_get(self, raw: _Raw) -> Reply:
        return Reply(200, self.rate_limiter.as_dict())

    def _admin_rate_limit(self, raw: _Raw) -> Reply:
        from .validation import Fields

        fields = Fields(raw.json(), ("rps", "burst"))
        rps = fields.body.get("rps", 0)
        burst = fields.body.get("burst")
        if isinstance(rps, bool) or not isinstance(rps, int | float) or rps < 0:
            fields.add("rps", "must be a non-negative number")
        if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int)
                                  or burst < 1):  # fmt: skip
            fields.add("burst", "must be a positive integer")
        fields.done()
        self.rate_limiter.configure(float(rps), burst)
        return Reply(200, self.rate_limiter.as_dict())

    def _admin_stats(self, raw: _Raw) -> Reply:
        return Reply(200, self.stats.as_dict())

    def _admin_reset(self, raw: _Raw) -> Reply:
        with self.db.write() as conn:
            control.reset(conn)
        self.stats.reset()
        self._token_cache.clear()
        return Reply(200, {"reset": True})

    def _admin_seed(self, raw: _Raw) -> Reply:
        body = raw.json()
        with self.db.write() as conn:
            counts = control.seed(
                conn, Database.now(conn), body, self.sandbox_info.username,
                self.sandbox_info.password, self.settings.invite_ttl_seconds,
            )  # fmt: skip
        return Reply(200, counts)


@dataclass
class _Raw:
    """A non-API request, for handlers that do their own auth and transactions."""

    scope: Scope
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return _parse_json(self.body) if self.body else None


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="DropStream"'})


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "The request body is not valid JSON.") from None


def _query(scope: Scope) -> dict[str, str]:
    raw: bytes = scope.get("query_string", b"")
    return dict(parse_qsl(raw.decode("latin-1"))) if raw else {}


def _base_url(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"


async def _drain(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    if body is None:
        payload, content_type = b"", None
    elif isinstance(body, Html):
        payload, content_type = body.text.encode(), b"text/html; charset=utf-8"
    elif isinstance(body, RawJson):
        payload, content_type = body.text.encode(), b"application/json"
    else:
        payload = json.dumps(body, separators=(",", ":")).encode()
        content_type = b"application/json"
    raw_headers = [(b"content-length", str(len(payload)).encode())]
    if content_type is not None:
        raw_headers.append((b"content-type", content_type))
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def _fail(send: Send, kind: str) -> None:
    if kind == "drop":
        # Headers promising a body that never comes: the server must close the connection.
        await send({
            "type": "http.response.start", "status": 200,
            "headers": [(b"content-length", b"1024"), (b"content-type", b"application/json")],
        })  # fmt: skip
        raise ConnectionDropped("sandbox fault: connection dropped")
    status = int(kind)
    message = {500: "Internal server error (injected by the sandbox).",
               502: "Bad gateway (injected by the sandbox).",
               503: "Service unavailable (injected by the sandbox)."}[status]  # fmt: skip
    await _send(send, status, {"error": message}, {})


def create_app(
    state_dir: Path,
    *,
    username: str | None = None,
    password: str | None = None,
    admin_key: str | None = None,
    rate_limit_rps: float = 0,
    burst: int | None = None,
    fault_rate: float = 0,
    fault_after_commit: float = 0,
    fault_seed: int | None = None,
    latency_ms: int = 0,
    invite_ttl_hours: float = 168,
    token_ttl_seconds: int = 3600,
) -> SandboxApp:
    """The sandbox ASGI app over the state in `state_dir` (created if missing).

    `app.sandbox_info` holds the login (`username`, `password`) and `admin_key` in effect.
    `burst` defaults to max(1, ceil(rate_limit_rps)).
    """
    return SandboxApp(
        Path(state_dir),
        username=username, password=password, admin_key=admin_key,
        rate_limit_rps=rate_limit_rps, burst=burst, fault_rate=fault_rate,
        fault_after_commit=fault_after_commit, fault_seed=fault_seed, latency_ms=latency_ms,
        invite_ttl_hours=invite_ttl_hours, token_ttl_seconds=token_ttl_seconds,
    )  # fmt: skip
