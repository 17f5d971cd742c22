"""The client tests' DropStream: the bundled sandbox in this process, behind a thin layer
that aims a fault at one request and records what was sent.

Why a layer at all: the sandbox's own faults (`/_sandbox/faults`) strike at random, by rate
and seed. "This POST's answer is lost after it committed" needs that one request hit, which
only a transport in front of the sandbox can do. The layer implements httpx's transport
interface and forwards everything else to the real sandbox, which keeps the state.

What reached the server is the sandbox's own count (`Box.served`, from `/_sandbox/stats`);
what the client sent is the layer's log (`box.wire.calls`). They differ by the requests
the layer answered itself.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
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
    TokenCredentials,
    WriteClient,
)

URL = "http://sandbox.local"
US = "ATVPDKIKX0DER"


class FakeTime:
    """A monotonic clock that only moves when someone sleeps; sleeping takes no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await self.passed(seconds)
        await asyncio.sleep(0)

    async def passed(self, seconds: float) -> None:
        """What else a sleep of `seconds` should have let happen (nothing, here)."""

    @property
    def timing(self) -> Timing:
        return Timing(clock=self.clock, sleep=self.sleep)


@dataclass
class Fault:
    """What to do to the next matching request.

    kind: an int status (answered without reaching the sandbox, with `body` if given:
      a str is sent as HTML, anything else as JSON), or one of
      "connect"          ConnectError: never reached the server
      "drop_before"      RemoteProtocolError before the sandbox saw it
      "drop_after"       the sandbox processed (committed) it, then RemoteProtocolError
      "timeout_after"    processed (committed), then ReadTimeout
      "500_after"        processed (committed), then 500
      "trickle"          never reached the sandbox; a 200 whose body comes a byte every
                         0.05 s and never ends (a server that is alive but never answers)
      "endless"          never reached the sandbox; a 200 whose JSON body never ends
      "303_after"        processed (committed), then 303 See Other with `headers`
      "garbled_after"    processed (committed), answered with the sandbox's own (success)
                         status but `body` instead of its own (a str is sent as HTML)
    """

    method: str
    path: str  # regex, full match on the path
    kind: int | str
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    body: Any = None


class _Trickle(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.05)
            yield b" "


class _Endless(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"["
        row = b'{"id": 1, "company_name": "Acme"},' * 1000
        while True:
            yield row
            await asyncio.sleep(0.001)  # about 30 MB/s: a regression fills no memory fast


class ScriptedFaults(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.faults: list[Fault] = []
        self.log: list[httpx.Request] = []

    def fail(
        self,
        method: str,
        path: str,
        kind: int | str,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        self.faults.append(Fault(method, path, kind, headers or {}, times, body))

    def calls(self, method: str, path: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.log
            if r.method == method and (path is None or re.fullmatch(path, r.url.path))
        ]

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
            assert fault is not None
            if isinstance(fault.body, str):
                return httpx.Response(kind, headers=fault.headers, html=fault.body)
            return httpx.Response(
                kind,
                headers=fault.headers,
                json=fault.body if fault.body is not None else {"error": f"injected {kind}"},
            )
        if kind == "trickle":
            return httpx.Response(200, stream=_Trickle())
        if kind == "endless":
            return httpx.Response(200, stream=_Endless())
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
        if kind == "303_after":
            assert fault is not None
            return httpx.Response(303, headers=fault.headers)
        if kind == "garbled_after":
            assert fault is not None
            if isinstance(fault.body, str):
                return httpx.Response(response.status_code, html=fault.body)
            return httpx.Response(response.status_code, json=fault.body)
        return response


# Changes the sandbox's answer to one request: (request, answer) -> the answer the client gets.
Alter = Callable[[httpx.Request, httpx.Response], Awaitable[httpx.Response]]


class Altered(httpx.AsyncBaseTransport):
    """Forwards to the sandbox and hands each answer to `alter`: for the one aspect of a
    server the sandbox does not have (each use says which)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, alter: Alter) -> None:
        self._inner = inner
        self._alter = alter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        await response.aread()
        return await self._alter(request, response)


def answer(
    response: httpx.Response,
    *,
    headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    body: Any = None,
) -> httpx.Response:
    """`response` with some headers dropped or set, or another JSON body."""
    headers = headers or {}
    gone = {name.lower() for name in (*drop, *headers, "content-length")}
    kept = {k: v for k, v in response.headers.items() if k.lower() not in gone}
    kept.update(headers)
    content = response.content if body is None else json.dumps(body).encode()
    return httpx.Response(response.status_code, headers=kept, content=content)


class BoxTime(FakeTime):
    """The fake clock, with its sleeps passing for the sandbox's rate limiter too.

    That limiter runs on the real monotonic clock, which a fake sleep does not move. With a
    burst of 1 a sleep of 1/rps refills the bucket exactly; setting the limit again (a fresh,
    full bucket) is that refill.
    """

    def __init__(self, box: Box) -> None:
        super().__init__()
        self._box = box

    async def passed(self, seconds: float) -> None:
        limit = self._box.rate_limit_set
        if limit is not None and seconds * limit >= 1:
            await self._box.admin("POST", "/_sandbox/rate_limit", {"rps": limit, "burst": 1})


class Box:
    """A sandbox on a temp folder, clients on it, and its control surface."""

    def __init__(self, state: Path, **options: Any) -> None:
        self.app = sandbox.create_app(state, **options)
        self.info = self.app.sandbox_info
        self.wire = ScriptedFaults(sandbox.inprocess_transport(self.app))
        self.time = BoxTime(self)
        self.rate_limit_set: float | None = None

    def transport(self) -> httpx.AsyncBaseTransport:
        """Straight to the sandbox, past the fault layer and its log."""
        return sandbox.inprocess_transport(self.app)

    def settings(
        self, *, token: str | None = None, password: str | None = None, **limits: Any
    ) -> ClientSettings:
        credentials = (
            TokenCredentials(Secret(token))
            if token is not None
            else BasicCredentials(self.info.username, Secret(password or self.info.password))
        )
        return ClientSettings(URL, credentials, Limits(**{"rate_limit_rps": None, **limits}))

    def writer(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        timing: Timing | None = None,
        **settings: Any,
    ) -> WriteClient:
        """A writer through the fault layer (or `transport`), on the fake clock."""
        return WriteClient(
            self.settings(**settings),
            transport=transport or self.wire,
            timing=timing or self.time.timing,
            rng=random.Random(7),
        )

    def reader(
        self, transport: httpx.AsyncBaseTransport | None = None, **settings: Any
    ) -> ReadClient:
        """A reader through the fault layer (or `transport`), on the fake clock."""
        return ReadClient(
            self.settings(**settings),
            transport=transport or self.wire,
            timing=self.time.timing,
            rng=random.Random(7),
        )

    def observer_writer(self) -> WriteClient:
        """A writer that bypasses the fault layer and its log, to set the account up."""
        return WriteClient(self.settings(), transport=self.transport())

    def observer(self) -> ReadClient:
        """A reader that bypasses the fault layer and its log: what the account holds."""
        return ReadClient(self.settings(), transport=self.transport())

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(transport=self.transport(), base_url=URL) as raw:
            response = await raw.request(
                method, path, json=body, headers={"X-Sandbox-Admin": self.info.admin_key}
            )
            response.raise_for_status()
            return response.json() if response.content else None

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """`admin`, from outside an event loop."""
        return asyncio.run(self.admin(method, path, body))

    def seed(self, doc: dict[str, Any]) -> None:
        """Load objects straight into the account (`/_sandbox/seed`: no API request counted)."""
        self.control("POST", "/_sandbox/seed", doc)

    def rate_limit(self, rps: float) -> None:
        """The sandbox's own per-login limit, with a burst of 1 (see BoxTime)."""
        self.control("POST", "/_sandbox/rate_limit", {"rps": rps, "burst": 1})
        self.rate_limit_set = rps

    def served(self) -> dict[str, int]:
        """How many requests reached the sandbox, by route ("GET /stores/{id}")."""
        stats = self.control("GET", "/_sandbox/stats")
        return {
            route: n
            for route, n in stats["requests"].items()
            if not route.startswith(("GET /_sandbox/", "POST /_sandbox/"))
        }
