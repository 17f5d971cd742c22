"""httpx transports that run the sandbox app in this process (no server, no port).

`inprocess_transport(app)` wraps `httpx.ASGITransport` so that the app's `ConnectionDropped`
(an injected dropped connection) reaches the client as `httpx.RemoteProtocolError`, exactly as
it does over a socket; any other exception from the app propagates unchanged.

`sync_inprocess_transport(app)` gives a blocking `httpx.BaseTransport` for sync clients: it runs
the app on a private event loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from .errors import ConnectionDropped


class InProcessTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


def inprocess_transport(app: Any) -> httpx.AsyncBaseTransport:
    """An async httpx transport that calls the sandbox ASGI `app` directly."""
    return InProcessTransport(app)


class SyncInProcessTransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self._async = InProcessTransport(app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sandbox-inprocess", daemon=True
        )
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=content,
            extensions=request.extensions,
        )  # fmt: skip

        async def call() -> tuple[httpx.Response, bytes]:
            response = await self._async.handle_async_request(forwarded)
            return response, await response.aread()

        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        try:
            response, body = future.result()
        except httpx.TransportError as exc:
            exc.request = request
            raise
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, request=request,
            extensions=response.extensions,
        )  # fmt: skip

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


def sync_inprocess_transport(app: Any) -> httpx.BaseTransport:
    """A blocking httpx transport running the sandbox app on a private event loop thread."""
    return SyncInProcessTransport(app)
