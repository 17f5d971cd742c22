"""Synchronous façades for the click commands: the async client on a private event loop.

Every call runs to completion on the façade's own loop, so connection pools, locks and
the limiter live on one loop for the client's whole life. `run()` takes any coroutine of
the wrapped client (e.g. an applier's own gather over several writes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from dropstream_sync import live
from dropstream_sync.client import api
from dropstream_sync.client.clients import UNSET, EnabledAt, ReadClient, WriteClient
from dropstream_sync.desired import StoreSettings

C = TypeVar("C", bound=ReadClient)
T = TypeVar("T")


class _SyncBase(Generic[C]):
    def __init__(self, client: C) -> None:
        self.aio = client
        self._runner: asyncio.Runner | None = asyncio.Runner()

    @property
    def api_url(self) -> str:
        return self.aio.api_url

    @property
    def requests_sent(self) -> int:
        return self.aio.requests_sent

    @property
    def server_time(self) -> datetime | None:
        return self.aio.server_time

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

    # -- reads ----------------------------------------------------------------------------

    def read_live(self, merchant_names: Collection[str] | None = None) -> live.LiveState:
        return self.run(self.aio.read_live(merchant_names))

    def list_customers(self) -> list[live.Customer]:
        return self.run(self.aio.list_customers())

    def list_warehouses(self) -> list[live.Warehouse]:
        return self.run(self.aio.list_warehouses())

    def list_stores(
        self, platform: str | None = api.AMAZON, *, customer_id: int | None = None
    ) -> list[live.Store]:
        return self.run(self.aio.list_stores(platform, customer_id=customer_id))

    def list_connections(
        self, *, customer_id: int | None = None, store_id: int | None = None
    ) -> list[live.Connection]:
        return self.run(self.aio.list_connections(customer_id=customer_id, store_id=store_id))

    def list_authorization_requests(
        self, status: str | None = api.PENDING, *, store_id: int | None = None
    ) -> list[live.AuthorizationRequest]:
        return self.run(self.aio.list_authorization_requests(status, store_id=store_id))

    def get_customer(self, customer_id: int) -> live.Customer:
        return self.run(self.aio.get_customer(customer_id))

    def get_warehouse(self, warehouse_id: int) -> live.Warehouse:
        return self.run(self.aio.get_warehouse(warehouse_id))

    def get_store(self, store_id: int) -> live.Store:
        return self.run(self.aio.get_store(store_id))

    def get_connection(self, connection_id: int) -> live.Connection:
        return self.run(self.aio.get_connection(connection_id))

    def get_authorization_request(self, request_id: int) -> live.AuthorizationRequest:
        return self.run(self.aio.get_authorization_request(request_id))


class SyncReadClient(_SyncBase[ReadClient]):
    """`ReadClient`, synchronously. Read-only like the client it wraps."""


class SyncWriteClient(_SyncBase[WriteClient]):
    """`WriteClient`, synchronously."""

    def create_customer(self, company_name: str) -> int:
        return self.run(self.aio.create_customer(company_name))

    def create_store(
        self, customer_id: int, name: str, marketplace_id: str, settings: StoreSettings
    ) -> int:
        return self.run(self.aio.create_store(customer_id, name, marketplace_id, settings))

    def update_store(
        self,
        store_id: int,
        *,
        name: str | None = None,
        settings_patch: Mapping[str, Any] | None = None,
        enabled_at: EnabledAt = UNSET,
    ) -> None:
        self.run(self.aio.update_store(
            store_id, name=name, settings_patch=settings_patch, enabled_at=enabled_at
        ))  # fmt: skip

    def create_authorization_request(self, store_id: int, email: str) -> live.AuthorizationRequest:
        return self.run(self.aio.create_authorization_request(store_id, email))

    def cancel_authorization_request(self, request_id: int) -> None:
        self.run(self.aio.cancel_authorization_request(request_id))

    def create_connection(
        self, customer_id: int, store_id: int, warehouse_id: int, name: str
    ) -> int:
        return self.run(self.aio.create_connection(customer_id, store_id, warehouse_id, name))

    def update_connection(
        self, connection_id: int, *, name: str | None = None, enabled_at: EnabledAt = UNSET
    ) -> None:
        self.run(self.aio.update_connection(connection_id, name=name, enabled_at=enabled_at))
