"""End-to-end harness: a real `dropstream-sync sandbox serve` on loopback, driven through
the CLI exactly as a user runs it (subprocesses, environment credentials)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]


@dataclass
class Server:
    url: str
    admin_key: str
    process: subprocess.Popen[str]


def start_server(state: Path, *extra: str) -> Server:
    admin_key = secrets.token_hex(16)
    # The server's output goes to a file: an unread pipe would fill up and stall it.
    log = (state / "server.log").open("w")
    process = subprocess.Popen(
        [
            *CLI,
            "sandbox",
            "serve",
            "--port",
            "0",
            "--state",
            str(state),
            "--admin-key",
            admin_key,
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    info_file = state / "sandbox.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = (state / "server.log").read_text()
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


@dataclass
class Account:
    """One tenant of the served sandbox, and the levers a test pulls on it."""

    server: Server
    username: str
    password: str
    workdir: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DROPSTREAM_")}
        env.update(
            DROPSTREAM_API_URL=self.server.url,
            DROPSTREAM_USERNAME=self.username,
            DROPSTREAM_PASSWORD=self.password,
            NO_COLOR="1",
        )
        return env

    def cli(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*CLI, *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert "Traceback" not in result.stderr, result.stderr
        if check:
            assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(
            method,
            self.server.url + path,
            json=body,
            timeout=30,
            headers={"X-Sandbox-Admin": self.server.admin_key},
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        token = httpx.post(
            self.server.url + "/auth/token",
            auth=(self.username, self.password),
            json={"grant_type": "client_credentials"},
            timeout=30,
        ).json()["access_token"]
        response = httpx.request(
            method,
            self.server.url + path,
            json=body,
            params=params,
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def outbox(self) -> list[dict[str, Any]]:
        """The invitation emails this account's applies made DropStream send."""
        return self.control(  # type: ignore[no-any-return]
            "GET", f"/_sandbox/outbox?username={self.username}"
        )

    def outbox_for(self, email: str) -> list[dict[str, Any]]:
        return [m for m in self.outbox() if m["to"] == email]

    def write_config(self, config: dict[str, Any], name: str = "stores.yaml") -> Path:
        path = self.workdir / name
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def plan_json(self, *paths: str) -> dict[str, Any]:
        result = self.cli("plan", *paths, "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]


def new_account(server: Server, workdir: Path, prefix: str) -> Account:
    """A fresh tenant of `server`, so tests never see each other's objects."""
    username = f"{prefix}-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    httpx.post(
        server.url + "/_sandbox/users",
        json={"username": username, "password": password},
        headers={"X-Sandbox-Admin": server.admin_key},
        timeout=30,
    ).raise_for_status()
    return Account(server, username, password, workdir)


def signal_in_turn(
    process: subprocess.Popen[str], signals: tuple[signal.Signals, ...] | list[signal.Signals]
) -> tuple[str, str]:
    """Send `signals` to a running apply, then wait for it: its stdout and whole stderr.
    Signals sent back to back may reach the process as one, so the next is sent only once
    the apply said it got this one ("stopping")."""
    seen: list[str] = []
    for i, sig in enumerate(signals):
        process.send_signal(sig)
        if i + 1 < len(signals):
            assert process.stderr is not None
            while "stopping" not in (line := process.stderr.readline()):
                assert line, "the apply ended before it acknowledged the signal"
                seen.append(line)
            seen.append(line)
    out, err = process.communicate(timeout=120)
    return out, "".join(seen) + err
