"""The in-process sandbox behind a thin layer that makes its answers differ from the model
the way a real DropStream might (until the sandbox has its own quirk modes): no pagination
signal, a cap, a body envelope, `page` ignored, no invite endpoint, other adapter keys,
no `expires_in`. Everything else is the real sandbox, which keeps the state."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import httpx

from dropstream_sync import sandbox
from dropstream_sync.client import (
    BasicCredentials,
    ClientSettings,
    Limits,
    ReadClient,
    Secret,
    WriteClient,
)
from tests.client.on_sandbox import URL, FakeTime

LISTS = ("/customers", "/warehouses", "/stores", "/connections", "/authorization_requests")


class Quirks(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.on: set[str] = set()
        self.cap: int | None = None
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        path = request.url.path
        if "no-authorization-requests" in self.on and path == "/authorization_requests":
            return httpx.Response(404, json={"error": "not found"})
        if request.method == "GET" and path in LISTS and (
                "repeat-page" in self.on or self.cap is not None):
            params = dict(request.url.params)
            params["page"] = "1"
            if self.cap is not None:
                params["per_page"] = "100"
            request = httpx.Request("GET", request.url.copy_with(params=params),
                                    headers=request.headers)
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        headers = dict(response.headers)
        data: Any = json.loads(body) if body else None
        if path == "/auth/token" and "no-expires-in" in self.on and isinstance(data, dict):
            data.pop("expires_in", None)
        if request.method == "GET" and path in LISTS and isinstance(data, list):
            if self.cap is not None or {"no-link", "envelope"} & self.on:
                headers.pop("link", None)
            if self.cap is not None or "envelope" in self.on:
                headers.pop("x-total-count", None)
            if self.cap is not None:
                data = data[: self.cap]
            if "envelope" in self.on:
                total = int(response.headers.get("x-total-count", len(data)))
                data = {"data": data, "total_count": total, "total_pages": -(-total // 100)}
        if "adapter-keys" in self.on and path.startswith("/stores"):
            for item in data if isinstance(data, list) else [data]:
                if isinstance(item, dict) and isinstance(item.get("adapter"), dict):
                    a = item["adapter"]
                    a["marketplace"] = a.pop("marketplace_id", None)
                    a["channel"] = a.pop("fulfillment_channel", None)
        headers.pop("content-length", None)
        return httpx.Response(response.status_code, headers=headers, json=data)


class QuirkyBox:
    def __init__(self, state: Path) -> None:
        self.app = sandbox.create_app(state)
        self.info = self.app.sandbox_info
        self.quirks = Quirks(sandbox.inprocess_transport(self.app))

    def settings(self, password: str | None = None) -> ClientSettings:
        return ClientSettings(URL, BasicCredentials(self.info.username,
                                                    Secret(password or self.info.password)),
                              Limits(rate_limit_rps=None, max_attempts=2))

    def reader(self, password: str | None = None) -> ReadClient:
        return ReadClient(self.settings(password), transport=self.quirks, timing=FakeTime().timing,
                          rng=random.Random(7))

    def writer(self) -> WriteClient:
        return WriteClient(self.settings(), transport=self.quirks, timing=FakeTime().timing,
                           rng=random.Random(7))

    async def admin_async(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(transport=sandbox.inprocess_transport(self.app),
                                     base_url=URL) as raw:
            response = await raw.request(method, path, json=body,
                                         headers={"X-Sandbox-Admin": self.info.admin_key})
            response.raise_for_status()
            return response.json() if response.content else None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return asyncio.run(self.admin_async(method, path, body))
