"""The sandbox as an ASGI application on Starlette: routing, auth, rate limit, faults.

Starlette does the HTTP layer (routes with a digits-only id convertor, requests, responses,
exception handlers for `ApiError` and for its own 404/405); the handlers in api.py and
control.py stay plain functions of a `Ctx` (or of the app), so they know nothing of HTTP and
the OpenAPI document (openapi.py) is generated from the same route tables. Every endpoint is
`async` and runs its SQLite work inline: a threadpool hop per request would cost more than the
query on a plan that reads hundreds of pages in-process.

Faults (POST /_sandbox/faults) hit API endpoints only, never /auth/token, the merchant page
or /_sandbox/. A fault is a 500, 502 or 503 answer or a dropped connection; an
"after commit" fault runs the handler and commits first. A dropped connection sends the
response headers and then fails: over a socket uvicorn closes the connection mid-response,
in-process `inprocess_transport` turns it into `httpx.RemoteProtocolError`.

Quirks (quirks.py, POST /_sandbox/quirks) rewrite API and token answers around the handlers;
with none set `self.quirks` is None and an answer costs one `is None` test more.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import html
import json
import logging
import math
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import api
from .catalog import MARKETPLACE_NAMES
from .context import Ctx, Html, Op, Reply, Settings
from .control import CONTROL_ROUTES, ControlOp
from .errors import ApiError, ConnectionDropped
from .quirks import Quirks
from .store import Database, check_password, fmt_ts, load_secrets, private_folder
from .tokens import issue, verify

FAULT_KINDS = (500, 502, 503, "drop")
log = logging.getLogger(__name__)


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


class _IdConvertor(Convertor[str]):
    # SQLite integers stop at 2**63: a longer id cannot exist, so it is a 404, never a 500.
    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("sandbox_id", _IdConvertor())


def starlette_path(template: str) -> str:
    return re.sub(r"\{(\w+)\}", r"{\1:sandbox_id}", template)


class JsonResponse(Response):
    """Compact, ASCII-only JSON: the bytes the sandbox always answered."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


class DroppedResponse(Response):
    """Promise a body, send a piece of it, then fail: the peer sees a connection cut
    mid-response, as with a real network fault."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"', "more_body": True})
        raise ConnectionDropped("the sandbox dropped the connection (injected fault)")


def to_response(reply: Reply) -> Response:
    if isinstance(reply.body, Html):
        return HTMLResponse(reply.body.text, reply.status, reply.headers)
    if reply.body is None:
        return Response(None, reply.status, reply.headers)
    return JsonResponse(reply.body, reply.status, reply.headers)


def parse_query(scope: Scope) -> dict[str, str]:
    # "replace": a garbled query is the client's problem, answered with a 4xx, never a crash.
    return dict(
        parse_qsl(scope.get("query_string", b"").decode(errors="replace"), keep_blank_values=True)
    )


def control_template(path: str) -> str:
    return re.sub(r"/[0-9]+(?=/|$)", "/{id}", path)


Endpoint = Callable[[Request], Awaitable[Response]]

MERCHANT_PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def same_origin(request: Request) -> bool:
    """False when Origin, or failing that Referer, names another origin than the page's own.
    Neither header (a script, curl) is allowed: only a browser can be tricked into a POST, and
    browsers send Origin with every cross-origin form POST (`null` when they hide it)."""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return True
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin.strip().lower() == own


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
        quirks: Iterable[str] = (),
    ) -> None:
        state_dir = Path(state_dir)
        private_folder(state_dir)
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
        self._admin_key = self.sandbox_info.admin_key.encode()
        self.settings = Settings(invite_ttl_hours * 3600, token_ttl_seconds, renewals)
        self.buckets = TokenBuckets(rate_limit_rps, burst)
        self.faults = Faults(fault_rate, fault_after_commit, latency_ms, fault_seed)
        self.rng = random.Random(fault_seed)
        # None when no quirk is set: the one test an answer pays for them (quirks.py).
        self.quirks: Quirks | None = Quirks.parse(quirks)
        self.stats: Counter[str] = Counter()
        self.rate_limited = 0
        self.fault_count = 0
        self._counts: dict[tuple[str, tuple[Any, ...]], tuple[tuple[int, int], int]] = {}
        self._keysets: dict[tuple[Any, ...], tuple[tuple[int, int], dict[int, int]]] = {}
        self._asgi = Starlette(
            routes=self._routes(),
            exception_handlers={
                ApiError: self._api_error,
                HTTPException: self._http_error,
                Exception: self._internal_error,
            },
        )

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._asgi(scope, receive, send)
        except ConnectionDropped:
            raise
        except Exception:
            # Starlette has already answered 500 in the API's error shape (_internal_error)
            # and re-raises for the server to log; the sandbox logs it itself, so a client,
            # in-process or not, sees only the 5xx it can handle. The contract tests assert
            # that this never happens.
            log.exception("internal sandbox error")

    def _routes(self) -> list[Route]:
        by_template: dict[str, list[Op]] = {}
        for op in api.API_ROUTES:
            by_template.setdefault(op.template, []).append(op)
        routes = [
            Route(
                starlette_path(template), self._api_endpoint(ops), methods=[op.method for op in ops]
            )
            for template, ops in by_template.items()
        ]
        routes.append(Route("/auth/token", self._token, methods=["POST"]))
        routes.append(Route("/openapi.json", self._openapi, methods=["GET"]))
        routes.append(Route("/authorize/{token}", self._merchant_page, methods=["GET", "POST"]))
        routes.extend(
            Route(starlette_path(op.template), self._control_endpoint(op), methods=[op.method])
            for op in CONTROL_ROUTES
        )
        return routes

    # -- errors ------------------------------------------------------------------------------

    async def _api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        headers = dict(exc.headers)
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JsonResponse(exc.body(), exc.status, headers)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's own 404 (no route) and 405 (no such method), in the API's shape."""
        assert isinstance(exc, HTTPException)
        method, path = request.method, request.url.path
        try:
            if path.startswith("/_sandbox/"):
                self.stats[f"{method} {control_template(path)}"] += 1
                self._check_admin(request.headers)
            if exc.status_code == 405:
                allow = ", ".join(
                    sorted(
                        m.strip()
                        for m in (exc.headers or {}).get("Allow", "").split(",")
                        if m.strip()
                    )
                )
                raise ApiError(405, f"{method} is not allowed on {path}.", headers={"Allow": allow})
            if path.startswith("/_sandbox/"):
                raise ApiError(404, f"No such control endpoint: {method} {path}.")
            raise ApiError(404, f"No such endpoint: {path}.")
        except ApiError as error:
            return await self._api_error(request, error)

    async def _internal_error(self, request: Request, exc: Exception) -> Response:
        return JsonResponse({"error": f"Internal sandbox error ({type(exc).__name__})."}, 500)

    # -- the API -----------------------------------------------------------------------------

    def _api_endpoint(self, ops: list[Op]) -> Endpoint:
        by_method = {op.method: (op, f"{op.method} {op.template}") for op in ops}
        if "GET" in by_method:
            by_method["HEAD"] = by_method["GET"]

        async def endpoint(request: Request) -> Response:
            op, stat = by_method[request.method]
            self.stats[stat] += 1
            scope = request.scope
            quirks = self.quirks
            if quirks is not None and quirks.hides(op.template):
                raise ApiError(404, f"No such endpoint: {scope['path']}.")
            account_id = self._authenticate(request.headers)
            wait = self.buckets.take(account_id)
            if wait > 0:
                self.rate_limited += 1
                raise ApiError(
                    429,
                    "Too many requests: slow down.",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
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
            raw = await request.body()
            body: Any = parse_json(raw) if raw.strip() else None
            if body is None and op.body is not None:
                # The document requires a body here; an empty one is not an empty object.
                raise ApiError(
                    422, "The request body must be a JSON object.", {"body": ["is required"]}
                )
            if quirks is not None:
                body = quirks.request_body(op.method, op.template, body)
            host = request.headers.get("host") or "sandbox.local"
            base_url = f"{scope.get('scheme', 'http')}://{host}"

            def run(query: dict[str, str]) -> Reply:
                return self._run(op, scope, account_id, query, body, base_url)

            if quirks is None:
                reply = run(parse_query(scope))
            else:
                reply = quirks.answer(op.method, op.template, parse_query(scope), run)
            if fault is not None:
                return self._fault_reply(fault)
            if self.buckets.rps > 0:
                # Best effort, as Amazon's own: announced on answers, never on a 429.
                reply.headers["x-amzn-RateLimit-Limit"] = f"{self.buckets.rps:g}"
            return to_response(reply)

        return endpoint

    def _fault_reply(self, fault: int | str) -> Response:
        if fault == "drop":
            return DroppedResponse()
        return JsonResponse({"error": "The service is temporarily unavailable."}, int(fault))

    def _run(
        self,
        op: Op,
        scope: Scope,
        account_id: int,
        query: dict[str, str],
        body: Any,
        base_url: str,
    ) -> Reply:
        tx = self.db.read() if op.method == "GET" else self.db.write()
        with tx as conn:
            now = Database.now(conn)
            ctx = Ctx(
                conn=conn,
                now=now,
                now_s=fmt_ts(now),
                account_id=account_id,
                params=scope["path_params"],
                query=query,
                body=body,
                base_url=base_url,
                path=scope["path"],
                settings=self.settings,
                count=lambda sql, args: self._count(conn, sql, args),
                positions=lambda key: self._positions(conn, key),
            )
            reply = op.handler(ctx)
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

    def _positions(self, conn: sqlite3.Connection, key: tuple[Any, ...]) -> dict[int, int]:
        # Valid until the next write anywhere, like the counts: ids only grow, and a write
        # (a reset, a status change) is what can move a row in or out of a filtered list.
        generation = self.db.generation(conn)
        full = (id(conn), *key)
        cached = self._keysets.get(full)
        if cached is None or cached[0] != generation:
            if len(self._keysets) > 1_000:
                self._keysets.clear()
            cached = (generation, {})
            self._keysets[full] = cached
        return cached[1]

    # -- auth --------------------------------------------------------------------------------

    def _authenticate(self, headers: Headers) -> int:
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

    async def _token(self, request: Request) -> Response:
        self.stats["POST /auth/token"] += 1
        value = request.headers.get("authorization", "")
        if not value.startswith("Basic "):
            raise ApiError(401, "Basic credentials are required.")
        try:
            username, _, password = (
                base64.b64decode(value[6:], validate=True).decode().partition(":")
            )
        except ValueError:  # binascii.Error and UnicodeDecodeError included
            raise ApiError(401, "Malformed Basic credentials.") from None
        raw = await request.body()
        body = parse_json(raw) if raw.strip() else {}
        if not isinstance(body, dict) or body.get("grant_type", "client_credentials") != (
            "client_credentials"
        ):
            raise ApiError(
                422,
                "grant_type must be client_credentials.",
                {"grant_type": ["must be client_credentials"]},
            )
        conn = self.db.conn()
        account_id = check_password(conn, username, password)
        if account_id is None:
            raise ApiError(401, "Wrong username or password.")
        issued = int(Database.now(conn).timestamp())
        ttl = self.settings.token_ttl_seconds
        token = issue(self.signing_key, account_id, username, issued, ttl)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
        return JsonResponse(answer if self.quirks is None else self.quirks.token(answer))

    async def _openapi(self, request: Request) -> Response:
        from .openapi import document_text

        return Response(document_text(), media_type="application/json")

    # -- the merchant's page -----------------------------------------------------------------

    async def _merchant_page(self, request: Request) -> Response:
        self.stats[f"{request.method} /authorize/{{token}}"] += 1
        if request.method == "POST" and not same_origin(request):
            # A page elsewhere must not approve for the merchant (CSRF): a browser names the
            # page a form was sent from in Origin (or at least Referer).
            reply = Reply(403, Html("<h1>Approve and Deny only work from this page.</h1>"))
        else:
            raw = await request.body()
            reply = self._merchant_reply(request.method, request.path_params["token"], raw)
        # Nor may it frame the page to trick a click (clickjacking); and the URL holds the
        # link's token, which must not leak through Referer or a cache.
        reply.headers.update(MERCHANT_PAGE_HEADERS)
        return to_response(reply)

    def _merchant_reply(self, method: str, token: str, raw: bytes) -> Reply:
        action = dict(parse_qsl(raw.decode(errors="replace"))).get("action")
        if method == "POST" and action not in ("approve", "deny"):
            # Before the token is looked up: a malformed form is refused as such.
            raise ApiError(400, "action must be approve or deny.")
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
                return Reply(
                    200,
                    Html(
                        f"<h1>{html.escape(title)}</h1><form method='post'>"
                        "<button name='action' value='approve'>Approve</button> "
                        "<button name='action' value='deny'>Deny</button></form>"
                    ),
                )
            if action == "approve":
                api.complete_request(conn, row, now, None)
                return Reply(200, Html("<h1>Approved. You can close this page.</h1>"))
            conn.execute(
                "UPDATE authorization_requests SET status = 'canceled' WHERE id = ?", (row["id"],)
            )
            return Reply(200, Html("<h1>Denied. DropStream was not authorized.</h1>"))

    # -- /_sandbox/ --------------------------------------------------------------------------

    def _check_admin(self, headers: Headers) -> None:
        # Compared as bytes: a header that is not ASCII is a wrong key (403), not a crash.
        given = headers.get("x-sandbox-admin", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._admin_key):
            raise ApiError(403, "The sandbox control surface needs X-Sandbox-Admin.")

    def _control_endpoint(self, op: ControlOp) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            self.stats[f"{op.method} {op.template}"] += 1
            self._check_admin(request.headers)
            raw = await request.body()
            body = parse_json(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ApiError(422, "The request body must be a JSON object.")
            ident = int(request.path_params.get("id", 0))
            return to_response(op.handler(self, body, parse_query(request.scope), ident))

        return endpoint


# In an ASCII body, a lone surrogate can only come from a \uD800-\uDFFF escape (json.loads
# decodes other bytes with "surrogatepass", so those bodies always get the full check).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json(raw: bytes) -> Any:
    """A request body, or a 400. Lone surrogates (`"\\ud800"`) are refused here once, so no
    handler ever tries to store a string SQLite and UTF-8 cannot hold; the check re-encodes
    the body only when it may hold one (a 100,000-object ASCII seed does not)."""
    try:
        body = json.loads(raw)
        if not raw.isascii() or _SURROGATE_ESCAPE.search(raw):
            json.dumps(body, ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        raise ApiError(400, "The request body is not valid JSON.") from None
    return body
