from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dropstream_sync.sandbox import SandboxApp, create_app, listen


@dataclass
class Live:
    """A sandbox served over a real loopback socket, with helpers for its two surfaces."""

    app: SandboxApp
    url: str

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(
            method,
            self.url + path,
            json=body,
            timeout=30,
            headers={"X-Sandbox-Admin": self.app.sandbox_info.admin_key},
        )

    def token(self, username: str | None = None, password: str | None = None) -> str:
        info = self.app.sandbox_info
        response = httpx.post(
            self.url + "/auth/token",
            json={"grant_type": "client_credentials"},
            auth=(username or info.username, password or info.password),
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            timeout=30,
            headers={"Authorization": f"Bearer {token or self.token()}"},
        )


def serve_in_thread(app: SandboxApp) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="critical", lifespan="off", date_header=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    app = create_app(tmp_path / "state")
    server, thread, url = serve_in_thread(app)
    yield Live(app, url)
    server.should_exit = True
    thread.join(timeout=10)
