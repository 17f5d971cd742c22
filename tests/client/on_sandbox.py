"""The client tests' DropStream: the bundled sandbox in this process, behind a thin layer
that aims a fault at one request and records what was sent.

Why a layer at all: the sandbox's own faults (`/_sandbox/faults`) strike at random, by rate
and seed. "This POST's answer is lost after it committed" needs that one request hit, which
only a transport in front of the sandbox can do. The layer implements httpx's transport
interface and forwards everything else to the real sandbox, which keeps the state.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dropstream_sync import sandbox
from dropstream_sync.client import (
    BasicCredentials,
    ClientSettings,
    Limits,
    ReadClient,
    Secret,
    Timing,
    WriteClient,
)

URL = "http://sandbox.local"
US = "ATVPDKIKX0DER"


@dataclass
class Fault:
    """What to do to the next matching request.

    kind: an int status (answered without reaching the sandbox), or one of
      "connect"          ConnectError: never reached the server
      "drop_before"      RemoteProtocolError before the sandbox saw it
      "drop_after"       the sandbox processed (committed) it, then RemoteProtocolError
      "timeout_after"    processed (committed), then ReadTimeout
      "500_after"        processed (committed), then 500
    """

    method: str
    path: str  # regex, full match on the path
    kind: int | str
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class ScriptedFaults(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.faults: list[Fault] = []
        self.log: list[httpx.Request] = []

    def fail(self, method: str, path: str, kind: int | str, *, times: int = 1,
             headers: dict[str, str] | None = None) -> None:
        self.faults.append(Fault(method, path, kind, headers or {}, times))

    def calls(self, method: str, path: str | None = None) -> list[httpx.Request]:
        return [r for r in self.log if r.method == method
                and (path is None or re.fullmatch(path, r.url.path))]

    def _take(self, request: httpx.Request) -> Fault | None:
        for fault in self.faults:
            if fault.method == request.method and re.fullmatch(fault.path, request.url.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        fault = self._take(request)
        kind = fault.kind if fault is not None else None
        if isinstance(kind, int):
            return httpx.Response(kind, headers=fault.headers if fault else {},
                                  json={"error": f"injected {kind}"})
        if kind == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if kind == "drop_before":
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        response = await self._inner.handle_async_request(request)
        await response.aread()
        if kind == "drop_after":
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        if kind == "timeout_after":
            raise httpx.ReadTimeout("read timed out", request=request)
        if kind == "500_after":
            return httpx.Response(500, json={"error": "internal error"})
        return response


class Box:
    """A sandbox on a temp folder, clients on it, and its control surface."""

    def __init__(self, state: Path, **options: Any) -> None:
        self.app = sandbox.create_app(state, **options)
        self.info = self.app.sandbox_info
        self.wire = ScriptedFaults(sandbox.inprocess_transport(self.app))

    def settings(self, **limits: Any) -> ClientSettings:
        return ClientSettings(URL, BasicCredentials(self.info.username,
                                                    Secret(self.info.password)),
                              Limits(**{"rate_limit_rps": None, **limits}))

    def writer(self, **limits: Any) -> WriteClient:
        return WriteClient(self.settings(**limits), transport=self.wire, timing=instant(),
                           rng=random.Random(7))

    def observer_writer(self) -> WriteClient:
        """A writer that bypasses the fault layer and its log, to set the account up."""
        return WriteClient(self.settings(), transport=sandbox.inprocess_transport(self.app))

    def observer(self) -> ReadClient:
        """A reader that bypasses the fault layer and its log: what the account holds."""
        return ReadClient(self.settings(), transport=sandbox.inprocess_transport(self.app))

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(transport=sandbox.inprocess_transport(self.app),
                                     base_url=URL) as raw:
            response = await raw.request(method, path, json=body,
                                         headers={"X-Sandbox-Admin": self.info.admin_key})
            response.raise_for_status()
            return response.json() if response.content else None


def instant() -> Timing:
    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    return Timing(sleep=no_wait)
