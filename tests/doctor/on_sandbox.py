"""The doctor tests' DropStream: the bundled sandbox in this process, its quirk modes set
through its control surface (`POST /_sandbox/quirks`), and what reached it read from its
own stats."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

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


class Box:
    def __init__(self, state: Path, **options: Any) -> None:
        self.app = sandbox.create_app(state, **options)
        self.info = self.app.sandbox_info
        self.transport = sandbox.inprocess_transport(self.app)

    def settings(self, password: str | None = None) -> ClientSettings:
        return ClientSettings(
            URL,
            BasicCredentials(self.info.username, Secret(password or self.info.password)),
            Limits(rate_limit_rps=None, max_attempts=2),
        )

    def reader(self, password: str | None = None) -> ReadClient:
        return ReadClient(
            self.settings(password),
            transport=self.transport,
            timing=FakeTime().timing,
            rng=random.Random(7),
        )

    def writer(self) -> WriteClient:
        return WriteClient(
            self.settings(),
            transport=self.transport,
            timing=FakeTime().timing,
            rng=random.Random(7),
        )

    async def admin_async(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(transport=self.transport, base_url=URL) as raw:
            response = await raw.request(
                method, path, json=body, headers={"X-Sandbox-Admin": self.info.admin_key}
            )
            response.raise_for_status()
            return response.json() if response.content else None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return asyncio.run(self.admin_async(method, path, body))

    def quirks(self, *names: str) -> list[str]:
        """Set the sandbox's quirk modes (replacing any set); the ones it reports back."""
        quirks: list[str] = self.admin("POST", "/_sandbox/quirks", {"quirks": list(names)})[
            "quirks"
        ]
        return quirks

    def requests(self) -> dict[str, int]:
        """Requests served so far, per `METHOD /route/{template}`."""
        counts: dict[str, int] = self.admin("GET", "/_sandbox/stats")["requests"]
        return counts

    def writes(self) -> dict[str, int]:
        """The requests served that could change the account (anything but GET and the token;
        the control surface, which the test itself uses, left out)."""
        return {
            k: n
            for k, n in self.requests().items()
            if not k.startswith("GET ") and k != "POST /auth/token" and " /_sandbox/" not in k
        }


class Served:
    """`dropstream-sync sandbox serve --port 0 --state STATE *options` in a subprocess, for
    as long as the `with` block runs."""

    def __init__(self, state: Path, *options: str) -> None:
        self.state = state
        self.log = state.parent / f"{state.name}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from dropstream_sync.cli import main; main()",
                    "sandbox",
                    "serve",
                    "--port",
                    "0",
                    "--state",
                    str(state),
                    *options,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.monotonic() + 30
        while not (state / "sandbox.json").exists():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "sandbox serve did not start"
            time.sleep(0.05)
        info = json.loads((state / "sandbox.json").read_text())
        self.url, self.username, self.password = info["url"], info["username"], info["password"]
        self._admin_key = info["admin_key"]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method,
            self.url + path,
            json=body,
            timeout=30,
            headers={"X-Sandbox-Admin": self._admin_key},
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
