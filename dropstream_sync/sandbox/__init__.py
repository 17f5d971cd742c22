"""The DropStream sandbox: an emulator of the DropStream API (shared/spec/dropstream-api.md).

It imports nothing from the rest of dropstream_sync, so it cannot echo the client's
assumptions back to it. Use it served (`dropstream-sync sandbox serve`) or in-process
(`create_app` + `inprocess_transport`), both on a state folder (SQLite) they can share.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from .app import SandboxApp, SandboxInfo
from .errors import ConnectionDropped

__all__ = ["SandboxApp", "SandboxInfo", "create_app", "inprocess_transport", "serve"]


def create_app(state_dir: Path, **options: Any) -> SandboxApp:
    """The ASGI app on `state_dir` (created if missing); options as `SandboxApp`."""
    return SandboxApp(Path(state_dir), **options)


class _InProcessTransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport, with a dropped connection surfacing as it does on a socket."""

    def __init__(self, app: SandboxApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


def inprocess_transport(app: SandboxApp) -> httpx.AsyncBaseTransport:
    return _InProcessTransport(app)


def serve(app: SandboxApp, *, host: str = "127.0.0.1", port: int = 8765,
          announce: Any = print) -> None:
    """Serve `app` with uvicorn until SIGINT/SIGTERM; writes `<state>/sandbox.json` with the
    URL and login once the port is bound (port 0 picks a free one)."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound}"
    info = app.sandbox_info
    state = Path(info.state_dir)
    record = {"url": url, "username": info.username, "password": info.password,
              "admin_key": info.admin_key}
    target = state / "sandbox.json"
    tmp = state / "sandbox.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(target)
    announce(
        f"DropStream sandbox at {url}\n"
        f"  login:     {info.username} / {info.password}\n"
        f"  admin key: {info.admin_key}  (header X-Sandbox-Admin)\n"
        f"  state:     {state}  (also written to {target})\n"
        f"Try: DROPSTREAM_API_URL={url} DROPSTREAM_USERNAME={info.username} "
        "DROPSTREAM_PASSWORD=... dropstream-sync plan examples/stores.yaml"
    )
    import logging

    class _QuietDrops(logging.Filter):
        # An injected dropped connection is the sandbox working as asked, not an error.
        def filter(self, record: logging.LogRecord) -> bool:
            return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))

    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        target.unlink(missing_ok=True)
