"""The old hand-written DropStream, kept only for test_pacing.py until it moves to the
sandbox (every other client test runs on the sandbox: on_sandbox.py). FakeTime lives in
on_sandbox.py and is re-exported here for it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class Fault:
    """What to do to the next matching request.

    kind: an int status (answered without processing), or one of
      "connect"          ConnectError: never reached the server
      "drop_before"      RemoteProtocolError before processing
      "drop_after"       processed (committed), then RemoteProtocolError
      "timeout_after"    processed (committed), then ReadTimeout
      "500_after"        processed (committed), then 500
    """

    method: str
    path: str  # regex, full match on the path
    kind: int | str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1


class FakeDropStream:
    """A small DropStream: enough of the spec to exercise every client path."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.issued = 0
        self.customers: dict[int, dict[str, Any]] = {}
        self.warehouses: dict[int, dict[str, Any]] = {}
        self.stores: dict[int, dict[str, Any]] = {}
        self.connections: dict[int, dict[str, Any]] = {}
        self.requests_: dict[int, dict[str, Any]] = {}
        self.next_id = 100
        self.faults: list[Fault] = []
        self.log: list[httpx.Request] = []
        self.send_link = True
        self.send_total = True
        self.max_per_page = 100

    # -- scripting ----------------------------------------------------------------------

    def fail(self, method: str, path: str, kind: int | str, *, times: int = 1,
             headers: dict[str, str] | None = None, body: Any = None) -> None:
        self.faults.append(Fault(method, path, kind, headers or {}, body, times))

    def calls(self, method: str, path: str | None = None) -> list[httpx.Request]:
        return [r for r in self.log if r.method == method
                and (path is None or re.fullmatch(path, r.url.path))]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_customer(self, name: str) -> int:
        cid = self.new_id()
        self.customers[cid] = {"id": cid, "company_name": name, "created_at": TS}
        wid = self.new_id()
        self.warehouses[wid] = {
            "id": wid, "customer_id": cid, "description": f"{name} Warehouse",
            "platform": "dropstream", "adapter": {}, "created_at": TS, "enabled_at": TS,
        }
        return cid

    def add_store(self, customer_id: int, name: str, *, authorized: bool = False,
                  marketplace_id: str = "ATVPDKIKX0DER", platform: str = "amazon") -> int:
        sid = self.new_id()
        self.stores[sid] = {
            "id": sid, "customer_id": customer_id, "name": name, "description": None,
            "url": None, "platform": platform, "created_at": TS, "enabled_at": None,
            "adapter": {
                "marketplace_id": marketplace_id, "fulfillment_channel": "MFN",
                "import_order_statuses": ["Unshipped", "PartiallyShipped"],
                "fulfillment_latency": None, "fulfillment_channel_code": "DEFAULT",
                "authorization": {
                    "status": "authorized" if authorized else "missing",
                    "selling_partner_id": "A1SELLER" if authorized else None,
                    "authorized_at": TS if authorized else None,
                    "expires_at": "2027-11-26T17:00:00Z" if authorized else None,
                },
            },
        }
        return sid

    # -- the transport ------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            if isinstance(fault.kind, int):
                return httpx.Response(fault.kind, headers=fault.headers,
                                      json=fault.body if fault.body is not None
                                      else {"error": f"injected {fault.kind}"})
            if fault.kind == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            if fault.kind == "drop_before":
                raise httpx.RemoteProtocolError("server disconnected", request=request)
        response = self._serve(request)
        if fault is not None:
            if fault.kind == "drop_after":
                raise httpx.RemoteProtocolError("server disconnected", request=request)
            if fault.kind == "timeout_after":
                raise httpx.ReadTimeout("read timed out", request=request)
            if fault.kind == "500_after":
                return httpx.Response(500, json={"error": "internal error"})
        return response

    def _take_fault(self, request: httpx.Request) -> Fault | None:
        for fault in self.faults:
            if fault.method == request.method and re.fullmatch(fault.path, request.url.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _serve(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/token" and request.method == "POST":
            return self._token(request)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return httpx.Response(401, headers={"WWW-Authenticate": "Bearer"},
                                  json={"error": "missing, wrong or expired token"})
        body = json.loads(request.content) if request.content else None
        m = request.method
        for pattern, kind in ROUTES:
            match = re.fullmatch(pattern, path)
            if match:
                handler: Callable[..., httpx.Response] = getattr(self, f"_{m.lower()}_{kind}",
                                                                 self._no_route)
                return handler(request, body, *[int(g) for g in match.groups()])
        return self._no_route(request, body)

    def _no_route(self, request: httpx.Request, body: Any, *ids: int) -> httpx.Response:
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

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # -- lists --------------------------------------------------------------------------

    def _page(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        q = request.url.params
        page = int(q.get("page", "1"))
        per_page = min(int(q.get("per_page", "25")), self.max_per_page)
        chunk = items[(page - 1) * per_page: page * per_page]
        headers: dict[str, str] = {}
        if self.send_total:
            headers["X-Total-Count"] = str(len(items))
        if self.send_link and page * per_page < len(items):
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

    def _get_customers(self, request: httpx.Request, body: Any) -> httpx.Response:
        return self._page(request, self._filter(self.customers, request, ()))

    def _get_warehouses(self, request: httpx.Request, body: Any) -> httpx.Response:
        return self._page(request, self._filter(self.warehouses, request, ()))

    def _get_stores(self, request: httpx.Request, body: Any) -> httpx.Response:
        return self._page(request, self._filter(self.stores, request,
                                                ("customer_id", "platform")))

    def _get_connections(self, request: httpx.Request, body: Any) -> httpx.Response:
        return self._page(request, self._filter(self.connections, request,
                                                ("customer_id", "store_id")))

    def _get_requests(self, request: httpx.Request, body: Any) -> httpx.Response:
        return self._page(request, self._filter(self.requests_, request,
                                                ("status", "store_id")))

    def _get_one(self, table: dict[int, dict[str, Any]], ident: int) -> httpx.Response:
        if ident not in table:
            return httpx.Response(404, json={"error": "not found"})
        return httpx.Response(200, json=table[ident])

    def _get_store(self, request: httpx.Request, body: Any, sid: int) -> httpx.Response:
        return self._get_one(self.stores, sid)

    def _get_customer(self, request: httpx.Request, body: Any, cid: int) -> httpx.Response:
        return self._get_one(self.customers, cid)

    def _get_request(self, request: httpx.Request, body: Any, rid: int) -> httpx.Response:
        return self._get_one(self.requests_, rid)

    # -- writes -------------------------------------------------------------------------

    def _post_customers(self, request: httpx.Request, body: Any) -> httpx.Response:
        if not isinstance(body, dict) or not body.get("company_name"):
            return httpx.Response(422, json={"error": "invalid customer",
                                             "details": {"company_name": ["is required"]}})
        return httpx.Response(201, json={"id": self.add_customer(body["company_name"])})

    def _post_stores(self, request: httpx.Request, body: Any) -> httpx.Response:
        if body["customer_id"] not in self.customers:
            return httpx.Response(422, json={"error": "invalid store",
                                             "details": {"customer_id": ["does not exist"]}})
        sid = self.add_store(body["customer_id"], body["name"],
                             marketplace_id=body["adapter"]["marketplace_id"])
        adapter = self.stores[sid]["adapter"]
        adapter.update({k: v for k, v in body["adapter"].items() if k != "marketplace_id"})
        return httpx.Response(201, json={"id": sid})

    def _patch_store(self, request: httpx.Request, body: Any, sid: int) -> httpx.Response:
        if sid not in self.stores:
            return httpx.Response(404, json={"error": "store not found"})
        store = self.stores[sid]
        for key, value in body.items():
            if key == "adapter":
                store["adapter"].update(value)
            else:
                store[key] = value
        return httpx.Response(204)

    def _post_connections(self, request: httpx.Request, body: Any) -> httpx.Response:
        key = (body["customer_id"], body["store_id"], body.get("warehouse_id"))
        for c in self.connections.values():
            if (c["customer_id"], c["store_id"], c["warehouse_id"]) == key:
                return httpx.Response(409, json={"error": "connection already exists"})
        cid = self.new_id()
        self.connections[cid] = {
            "id": cid, "customer_id": key[0], "store_id": key[1], "warehouse_id": key[2],
            "name": body["name"], "connection_type": "store", "created_at": TS,
            "enabled_at": None, "locations": [], "channels": [],
        }
        return httpx.Response(201, json={"id": cid})

    def _patch_connection(self, request: httpx.Request, body: Any, cid: int) -> httpx.Response:
        if cid not in self.connections:
            return httpx.Response(404, json={"error": "connection not found"})
        self.connections[cid].update(body)
        return httpx.Response(204)

    def _post_store_requests(self, request: httpx.Request, body: Any, sid: int) -> httpx.Response:
        if sid not in self.stores:
            return httpx.Response(404, json={"error": "store not found"})
        if any(r["store_id"] == sid and r["status"] == "pending"
               for r in self.requests_.values()):
            return httpx.Response(409, json={"error": "a request is already pending"})
        rid = self.new_id()
        self.requests_[rid] = {
            "id": rid, "store_id": sid, "customer_id": self.stores[sid]["customer_id"],
            "email": body["email"], "status": "pending", "created_at": TS,
            "expires_at": "2026-12-03T17:00:00Z", "completed_at": None,
        }
        return httpx.Response(201, json=self.requests_[rid])

    def _delete_request(self, request: httpx.Request, body: Any, rid: int) -> httpx.Response:
        if rid not in self.requests_:
            return httpx.Response(404, json={"error": "not found"})
        if self.requests_[rid]["status"] != "pending":
            return httpx.Response(409, json={"error": "the request is not pending"})
        self.requests_[rid]["status"] = "canceled"
        return httpx.Response(204)


TS = "2026-11-26T17:00:00Z"
ROUTES: tuple[tuple[str, str], ...] = (
    (r"/customers", "customers"),
    (r"/customers/(\d+)", "customer"),
    (r"/warehouses", "warehouses"),
    (r"/stores", "stores"),
    (r"/stores/(\d+)", "store"),
    (r"/stores/(\d+)/authorization_requests", "store_requests"),
    (r"/connections", "connections"),
    (r"/connections/(\d+)", "connection"),
    (r"/authorization_requests", "requests"),
    (r"/authorization_requests/(\d+)", "request"),
)


def settings(*, token: str | None = None, **limits: Any) -> ClientSettings:
    credentials: BasicCredentials | TokenCredentials = (
        TokenCredentials(Secret(token)) if token is not None
        else BasicCredentials(USERNAME, Secret(PASSWORD))
    )
    defaults: dict[str, Any] = {"rate_limit_rps": None}
    defaults.update(limits)
    return ClientSettings(BASE, credentials, Limits(**defaults))


