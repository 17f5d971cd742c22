"""`serve`: run the sandbox under uvicorn on a real socket.

The listening socket is bound before uvicorn starts so that `port=0` can report the port the OS
picked, and `<state>/sandbox.json` (URL, login, admin key) is written once the port is known, for
`dropstream-sync sandbox outbox|authorize|...` and for people. uvicorn installs its own SIGINT and
SIGTERM handlers and shuts down gracefully on either.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .app import SandboxApp, create_app
from .errors import ConnectionDropped


class _HideDroppedConnections(logging.Filter):
    """Injected dropped connections are intended; uvicorn would log each as a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def write_info(app: SandboxApp, url: str) -> Path:
    info = app.sandbox_info
    path = info.state_dir / "sandbox.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(
            {"url": url, "username": info.username, "password": info.password,
             "admin_key": info.admin_key, "pid": os.getpid()},
            handle, indent=2,
        )  # fmt: skip
    os.replace(tmp, path)
    return path


def make_server(app: SandboxApp, sock: socket.socket, log_level: str = "warning") -> Any:
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
    return uvicorn.Server(config)


def serve(
    state_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[str, SandboxApp], None] | None = None,
    log_level: str = "warning",
    **app_options: Any,
) -> None:
    """Serve the sandbox until SIGINT/SIGTERM. `app_options` are `create_app`'s keywords.

    `on_ready(url, app)` is called once the socket is bound and sandbox.json is written.
    """
    app = create_app(Path(state_dir), **app_options)
    sock = bind_socket(host, port)
    url = url_of(sock)
    write_info(app, url)
    if on_ready is not None:
        on_ready(url, app)
    server = make_server(app, sock, log_level)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
