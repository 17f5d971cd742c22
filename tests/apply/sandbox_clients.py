"""Write clients on the in-process sandbox, with the real interface (subclasses of the real
WriteClient: every request still goes over HTTP to the sandbox)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypeVar

from dropstream_sync.cli.connect import SANDBOX_URL
from dropstream_sync.client import WriteClient
from dropstream_sync.client.settings import BasicCredentials, ClientSettings, Limits, Secret
from dropstream_sync.client.sync import SyncWriteClient
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import TransportError
from dropstream_sync.sandbox import SandboxApp, create_app, inprocess_transport

W = TypeVar("W", bound=WriteClient)


def sandbox_settings(app: SandboxApp, **options: Any) -> ClientSettings:
    """Client settings for `app`'s login, unpaced, as `--sandbox` sets them up."""
    info = app.sandbox_info
    return ClientSettings(
        SANDBOX_URL,
        BasicCredentials(info.username, Secret(info.password)),
        Limits(rate_limit_rps=None),
        **options,
    )


def on_sandbox(cls: type[W], state: Path, **kwargs: Any) -> tuple[SyncWriteClient, W]:
    """A `cls` client (and its sync façade) on a sandbox keeping its state in `state`."""
    app = create_app(state)
    client = cls(sandbox_settings(app), transport=inprocess_transport(app), **kwargs)
    return SyncWriteClient(client), client


class LosesStoreAnswers(WriteClient):
    """Creates the store, then reports what the client reports when the POST's answer was
    lost and the read meant to find it failed too: an error that may have committed."""

    async def create_store(
        self,
        customer_id: int,
        name: str,
        marketplace_id: str,
        settings: StoreSettings,
        **kwargs: Any,
    ) -> int:
        await super().create_store(customer_id, name, marketplace_id, settings)
        raise TransportError(
            "the connection dropped before the answer, and the read to find the store failed too",
            method="POST",
            path="/stores",
            may_have_committed=True,
        )


class CountsOverlap(WriteClient):
    """Records how many create_customer calls are in flight at once. Each call waits until
    `until` calls are in flight together (so a run that cannot reach `until` at once never
    finishes), then goes on to the sandbox."""

    def __init__(self, *args: Any, until: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.until = until
        self.in_flight = 0
        self.most = 0
        self._full = asyncio.Event()

    async def create_customer(self, company_name: str, **kwargs: Any) -> int:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight >= self.until:
            self._full.set()
        try:
            # A deadlock guard, not a timing check: without overlap this never returns.
            await asyncio.wait_for(self._full.wait(), timeout=60)
            # Let every other runnable task start before this call finishes, so a run that
            # ignored its limit would show more calls in flight.
            for _ in range(5):
                await asyncio.sleep(0)
            return await super().create_customer(company_name, **kwargs)
        finally:
            self.in_flight -= 1
