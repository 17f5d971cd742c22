"""The DropStream sandbox: an emulator of the DropStream API and its `/_sandbox/` control surface.

It is the fake of DropStream that tests, demos and benchmarks talk to, built from
shared/spec/dropstream-api.md alone and importing nothing else of dropstream_sync (so it cannot
echo the client's assumptions back).

Modules:
    catalog     Amazon marketplace ids and order statuses (a deliberate duplicate)
    store       SQLite state (WAL, shared safely between processes), secrets, the sandbox clock
    validation  hand-written request validation with the spec's 422 shape
    api         the DropStream API handlers
    control     /_sandbox/ operations, bulk seeding, the merchant's authorization page
    faults      fault injection, the per-login token bucket, request stats
    app         the plain-ASGI app: routing, auth, the request pipeline
    transport   httpx transports to call the app in-process
    server      `serve`: run it under uvicorn
    openapi     the OpenAPI 3.1 document (`python -m dropstream_sync.sandbox.openapi`)

Public API: `create_app`, `inprocess_transport`, `sync_inprocess_transport`, `serve`,
`SandboxApp`, `SandboxInfo`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .app import SandboxApp, SandboxInfo, create_app

if TYPE_CHECKING:
    from .server import serve
    from .transport import inprocess_transport, sync_inprocess_transport

__all__ = [
    "SandboxApp",
    "SandboxInfo",
    "create_app",
    "inprocess_transport",
    "serve",
    "sync_inprocess_transport",
]


def __getattr__(name: str) -> Any:
    # httpx and uvicorn are imported only by whoever needs the transport or the server.
    if name in ("inprocess_transport", "sync_inprocess_transport"):
        from . import transport

        return getattr(transport, name)
    if name == "serve":
        from .server import serve

        return serve
    raise AttributeError(name)
