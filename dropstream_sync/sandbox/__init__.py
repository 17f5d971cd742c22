"""The DropStream sandbox: an emulator of the DropStream API (docs/api-model.md).

It imports nothing from the rest of dropstream_sync, so it cannot echo the client's
assumptions back to it. Use it served (`dropstream-sync sandbox serve`) or in-process
(`create_app` + `inprocess_transport`), both on a state folder (SQLite) they can share.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx

from .app import SandboxApp, SandboxInfo
from .errors import ConnectionDropped

__all__ = [
    "SandboxApp",
    "SandboxInfo",
    "create_app",
    "inprocess_transport",
    "listen",
    "serve",
]


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


def listen(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound TCP socket for uvicorn (`Server.run(sockets=[...])`), port 0 picking a free one.

    Created with an explicit IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections
    only when the listening socket's proto says TCP, and a `socket.socket(AF_INET)` says 0.
    Without NODELAY, Nagle's algorithm and the client's delayed ACK hold back every answer
    by about 40 ms, so everything measured against a served sandbox measured that stall.
    The listening socket carries NODELAY too, which Linux hands on to accepted sockets.
    """
    sock = socket.socket(
        socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


_LOOPBACK_OF_WILDCARD = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def serve(
    app: SandboxApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    announce: Any = print,
    example: str = "examples/stores.yaml",
) -> None:
    """Serve `app` with uvicorn until SIGINT/SIGTERM, then return normally. Once it listens
    (port 0 picks a free port) it announces the URL and login and writes them to
    `<state>/sandbox.json` (mode 0600), which it removes on the way out."""
    import contextlib
    import logging
    from collections.abc import Iterator

    import uvicorn

    info = app.sandbox_info
    state = Path(info.state_dir)
    target = state / "sandbox.json"
    sock = listen(host, port)
    # A file left by a server that was killed would point control commands at nothing. Only
    # once this one listens: a start that fails (the port taken, most often by a sandbox
    # already serving this folder) removed the running one's file, and its controls then
    # said "no running sandbox found".
    target.unlink(missing_ok=True)
    bound = sock.getsockname()[1]
    # A wildcard address listens on every address, loopback too. The URL printed, and kept
    # for the control commands, is the loopback one: the tool refuses plain http to 0.0.0.0
    # as to any host that is not loopback, so `--host 0.0.0.0` printed a URL it refused.
    reach = _LOOPBACK_OF_WILDCARD.get(host, host)
    shown_host = f"[{reach}]" if ":" in reach else reach
    url = f"http://{shown_host}:{bound}"
    listening = f" (listening on {host or '0.0.0.0'})" if reach != host else ""

    def started() -> None:
        record = {
            "url": url,
            "username": info.username,
            "password": info.password,
            "admin_key": info.admin_key,
        }
        tmp = state / "sandbox.json.tmp"
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.chmod(0o600)
        tmp.replace(target)
        quirks = (
            f"  quirks:    {', '.join(app.quirks.as_list())}  (answers differ from the "
            "model on purpose)\n"
            if app.quirks
            else ""
        )
        announce(
            f"DropStream sandbox at {url}{listening}\n"
            f"  login:     {info.username} / {info.password}\n"
            f"  admin key: {info.admin_key}  (header X-Sandbox-Admin)\n"
            f"  state:     {state}  (also written to {target})\n"
            f"{quirks}"
            f"Try: DROPSTREAM_API_URL={url} DROPSTREAM_USERNAME={info.username} "
            f"DROPSTREAM_PASSWORD=... dropstream-sync plan {example}\n"
            "Stop with Ctrl-C."
        )

    class _QuietDrops(logging.Filter):
        # An injected dropped connection is the sandbox working as asked, not an error.
        def filter(self, record: logging.LogRecord) -> bool:
            return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # Announced only now: signal handlers are in place and the socket listens, so
            # whoever reads sandbox.json can connect, and stop us, right away.
            if not self.should_exit:
                started()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                # uvicorn re-raises the stop signal after shutting down; for a person
                # ending `sandbox serve` that is a clean stop, exit status 0.
                self._captured_signals.clear()

    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    # The app sends its own Date: the sandbox clock, which /_sandbox/clock moves.
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", access_log=False, date_header=False
    )
    try:
        _Server(config).run(sockets=[sock])
    finally:
        target.unlink(missing_ok=True)
