"""The DropStream sandbox: an emulator of the DropStream API (docs/api-model.md).

It imports nothing from the rest of dropstream_sync, so it cannot echo the client's
assumptions back to it. Use it served (`dropstream-sync sandbox serve`) or in-process
(`create_app` + `inprocess_transport`), both on a state folder (SQLite) they can share.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .app import SandboxApp, SandboxInfo
from .errors import ConnectionDropped
from .store import private_folder

__all__ = [
    "AlreadyServed",
    "SandboxApp",
    "SandboxInfo",
    "create_app",
    "inprocess_transport",
    "listen",
    "serve",
    "serving",
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


class AlreadyServed(Exception):
    """Another process serves this state folder (`serving`); the message names it."""


# The state folders this process serves, and the open lock of each (`serving`).
_SERVED: dict[Path, int] = {}


@contextlib.contextmanager
def serving(state_dir: Path) -> Iterator[None]:
    """Hold `<state>/serve.lock` (an flock, which the kernel lets go of however the process
    ends) while serving `state_dir`; AlreadyServed when another process holds it.

    One folder, one server: `sandbox.json` tells clients where the folder is served, and a
    second server on it would write its own URL and keys over the first's, sending the first
    one's clients to it (and, stopping, remove the file while the first still ran). The
    lock file holds the holder's pid, for the refusal's message. Re-entrant in one process
    (the command line takes it before it opens the folder; `serve` takes it too)."""
    key = Path(state_dir).resolve()
    if key in _SERVED:
        yield
        return
    private_folder(Path(state_dir))
    fd = os.open(Path(state_dir) / "serve.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        raise AlreadyServed(_served_by(Path(state_dir), holder)) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _SERVED[key] = fd
    try:
        yield
    finally:
        del _SERVED[key]
        os.close(fd)  # lets go of the lock


def _served_by(state: Path, holder: str) -> str:
    pid = f" (pid {holder})" if holder.isdigit() else ""
    info_file = state / "sandbox.json"
    try:
        url = str(json.loads(info_file.read_text())["url"])
    except (OSError, ValueError, KeyError, TypeError):
        where = "is starting on it"  # it writes sandbox.json once it listens
    else:
        where = f"serves it at {url} (login and admin key in {info_file})"
    return (
        f"the sandbox folder {state} is already served: another `sandbox serve`{pid} {where}. "
        "Use that one, stop it first, or give another --state folder"
    )


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
    `<state>/sandbox.json` (mode 0600), which it removes on the way out. One server per
    state folder: AlreadyServed, before anything is touched, when another one serves it."""
    info = app.sandbox_info
    with serving(Path(info.state_dir)):
        _serve(app, host, port, announce, example)


def _serve(app: SandboxApp, host: str, port: int, announce: Any, example: str) -> None:
    import logging

    import uvicorn

    info = app.sandbox_info
    state = Path(info.state_dir)
    target = state / "sandbox.json"
    sock = listen(host, port)
    # A file left by a server that was killed would point control commands at nothing (the
    # serve lock says no other server runs on this folder). Only once this one listens: a
    # start that fails (the port taken) removed a file it had no need to touch.
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
