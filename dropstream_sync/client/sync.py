"""Synchronous façades for the click commands: the async client on a private event loop.

They offer only what the commands use (`read_live`, `clock`, `api_url`, `run`); anything
else is `run(facade.aio.method(...))`.

Every call runs to completion on the façade's own loop, so connection pools, locks and
the limiter live on one loop for the client's whole life. `run()` takes any coroutine of
the wrapped client (e.g. an applier's own gather over several writes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from dropstream_sync import live
from dropstream_sync.client.clients import ReadClient, WriteClient
from dropstream_sync.heap import collector_paused

C = TypeVar("C", bound=ReadClient)
T = TypeVar("T")


class _SyncBase(Generic[C]):
    def __init__(self, client: C) -> None:
        self.aio = client
        self._runner: asyncio.Runner | None = asyncio.Runner()

    @property
    def api_url(self) -> str:
        return self.aio.api_url

    def clock(self) -> datetime:
        return self.aio.clock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.api_url}>"

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._runner is None:
            coro.close()
            raise RuntimeError("the client is closed")
        return self._runner.run(coro)

    def close(self) -> None:
        if self._runner is None:
            return
        try:
            self._runner.run(self.aio.aclose())
        finally:
            self._runner.close()
            self._runner = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def read_live(self, merchant_names: Collection[str] | None = None) -> live.LiveState:
        # A large read allocates a model per object and frees only what it decoded, which
        # refcounting does (no answer is left in a cycle: http.py); the collector would
        # only walk the models again and again (heap.py).
        with collector_paused():
            return self.run(self.aio.read_live(merchant_names))


class SyncReadClient(_SyncBase[ReadClient]):
    """`ReadClient`, synchronously. Read-only like the client it wraps."""


class SyncWriteClient(_SyncBase[WriteClient]):
    """`WriteClient`, synchronously: its writes run through `run(client.aio.create_...())`,
    as the applier runs them, many at once on the façade's loop."""
