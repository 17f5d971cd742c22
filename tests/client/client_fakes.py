"""The old hand-written DropStream, kept only for test_pacing.py until it moves to the
sandbox (every other client test runs on the sandbox: on_sandbox.py). FakeTime lives in
on_sandbox.py and is re-exported here for it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from dropstream_sync.client import (
    BasicCredentials,
    ClientSettings,
    Limits,
    Secret,
    TokenCredentials,
)
from tests.client.on_sandbox import FakeTime

__all__ = ["FakeDropStream", "FakeTime", "settings"]

USERNAME = "ops@3pl.example"
PASSWORD = "pa55-Sekrit-XYZ"
BASE = "https://api.test"


class FakeDropStream:
    """Lists and the token only: what test_pacing.py reads."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.issued = 0
        self.customers: dict[int, dict[str, Any]] = {}
        self.warehouses: dict[int, dict[str, Any]] = {}
        self.stores: dict[int, dict[str, Any]] = {}
        self.connections: dict[int, dict[str, Any]] = {}
        self.requests_: dict[int, dict[str, Any]] = {}
        self.log: list[httpx.Request] = []
        self.max_per_page = 100

    # -- the transport ------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        return self._serve(request)

    def _serve(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/token" and request.method == "POST":
            return self._token(request)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return httpx.Response(401, headers={"WWW-Authenticate": "Bearer"},
                                  json={"error": "missing, wrong or expired token"})
        for route, kind in ROUTES:
            if request.method == "GET" and path == route:
                lister: Callable[[httpx.Request], httpx.Response] = getattr(self, f"_get_{kind}")
                return lister(request)
        return httpx.Response(404, json={"error": "not found"})

    def _token(self, request: httpx.Request) -> httpx.Response:
        expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return httpx.Response(401, json={"error": "invalid username or password"})
        self.issued += 1
        token = f"tok-{self.issued}-secret"
        self.tokens.add(token)
        return httpx.Response(200, json={"access_token": token, "token_type": "Bearer",
                                         "expires_in": 3600})

    # -- lists --------------------------------------------------------------------------

    def _page(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        q = request.url.params
        page = int(q.get("page", "1"))
        per_page = min(int(q.get("per_page", "25")), self.max_per_page)
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {"X-Total-Count": str(len(items))}
        if page * per_page < len(items):
            params = dict(q)
            params["page"] = str(page + 1)
            headers["Link"] = f'<{BASE}{request.url.path}?{urlencode(params)}>; rel="next"'
        return httpx.Response(200, headers=headers, json=chunk)

    @staticmethod
    def _filter(items: dict[int, dict[str, Any]], request: httpx.Request,
                keys: tuple[str, ...]) -> list[dict[str, Any]]:
        out = list(items.values())
        for key in keys:
            value = request.url.params.get(key)
            if value is not None:
                out = [i for i in out if str(i.get(key)) == value]
        return sorted(out, key=lambda i: i["id"])

    def _get_customers(self, request: httpx.Request) -> httpx.Response:
        return self._page(request, self._filter(self.customers, request, ()))

    def _get_warehouses(self, request: httpx.Request) -> httpx.Response:
        return self._page(request, self._filter(self.warehouses, request, ()))

    def _get_stores(self, request: httpx.Request) -> httpx.Response:
        return self._page(request, self._filter(self.stores, request,
                                                ("customer_id", "platform")))

    def _get_connections(self, request: httpx.Request) -> httpx.Response:
        return self._page(request, self._filter(self.connections, request,
                                                ("customer_id", "store_id")))

    def _get_requests(self, request: httpx.Request) -> httpx.Response:
        return self._page(request, self._filter(self.requests_, request,
                                                ("status", "store_id")))


ROUTES: tuple[tuple[str, str], ...] = (
    ("/customers", "customers"),
    ("/warehouses", "warehouses"),
    ("/stores", "stores"),
    ("/connections", "connections"),
    ("/authorization_requests", "requests"),
)


def settings(*, token: str | None = None, **limits: Any) -> ClientSettings:
    credentials: BasicCredentials | TokenCredentials = (
        TokenCredentials(Secret(token)) if token is not None
        else BasicCredentials(USERNAME, Secret(PASSWORD))
    )
    defaults: dict[str, Any] = {"rate_limit_rps": None}
    defaults.update(limits)
    return ClientSettings(BASE, credentials, Limits(**defaults))


