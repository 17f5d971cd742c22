"""End-to-end harness: a real `dropstream-sync sandbox serve` on loopback, driven through
the CLI exactly as a user runs it (subprocesses, environment credentials)."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]


@dataclass
class Server:
    url: str
    admin_key: str
    process: subprocess.Popen[str]


def start_server(state: Path, *extra: str) -> Server:
    admin_key = secrets.token_hex(16)
    process = subprocess.Popen(
        [*CLI, "sandbox", "serve", "--port", "0", "--state", str(state),
         "--admin-key", admin_key, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    info_file = state / "sandbox.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"sandbox serve exited: {output}")
        if info_file.exists():
            try:
                info = json.loads(info_file.read_text())
                url = info["url"]
                httpx.get(
                    url + "/_sandbox/stats", headers={"X-Sandbox-Admin": admin_key}, timeout=2
                )
                return Server(url=url, admin_key=admin_key, process=process)
            except (ValueError, KeyError, httpx.HTTPError):
                pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("sandbox serve did not start within 30 s")


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
