"""The public async clients: `ReadClient` (plan, show, import) and `WriteClient` (apply).

Both return live models, never responses. `ReadClient` has no write methods and its core
sits on a transport that refuses every write, so a read-only command cannot change the
account however it is called. `WriteClient` adds the writes the applier needs; each POST
carries the read that finds its effect when its answer is lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import operator
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Final, Literal, Self, TypeVar, Unpack

from dropstream_sync import live
from dropstream_sync.client import api
from dropstream_sync.client.http import HttpCore, Wiring
from dropstream_sync.client.limiter import Pacer
from dropstream_sync.client.pages import first_leaf, gather_all
from dropstream_sync.client.settings import BasicCredentials, ClientSettings
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import ApiError, ConflictError, PartialReadError

log = logging.getLogger("dropstream_sync.client")

M = TypeVar("M")

_PENDING: Final = api.REQUEST_STATUSES[api.PENDING]
_EXPIRED: Final = api.REQUEST_STATUSES[api.EXPIRED]
# The list a `?status=` word reads -> the model's status its requests are kept as.
_LISTED: Final = {api.PENDING: _PENDING, api.EXPIRED: _EXPIRED}

# More merchants than this are read as the whole account, without looking their ids up first:
# their own reads (three or more each) would cost more than the lists of all but the largest
# accounts.
_NARROW_MAX: Final = 20


class InOrder:
    """Reads started at once in one TaskGroup whose refusals come in the order they were
    started: a read that may be partial (PartialReadError) is refused only once every read
    started before it is done. Against a server that ignores `page` every list is refused
    alike, and the one named was whichever answer came back first (`/stores` one run,
    `/customers` the next; import's history of invitations, sent first, most often). Now
    it is the first list in the order the reads were started, so plan, import and report
    name the same list for the same account."""

    def __init__(self, group: asyncio.TaskGroup) -> None:
        self._group = group
        self._started: list[asyncio.Task[Any]] = []

    def start(self, read: Coroutine[Any, Any, M]) -> asyncio.Task[M]:
        task = self._group.create_task(_refused_after(tuple(self._started), read))
        self._started.append(task)
        return task


async def _refused_after(before: tuple[asyncio.Task[Any], ...], read: Awaitable[M]) -> M:
    try:
        return await read
    except PartialReadError:
        # An earlier read that fails too cancels this wait (the TaskGroup stops the rest),
        # so its error is the one raised; one that finishes whole lets this one be raised.
        if before:
            await asyncio.wait(before)
        raise


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
"""Leave `enabled_at` as it is (None would disable)."""

EnabledAt = datetime | None | Literal[_Unset.UNSET]

EMPTY_ACCOUNT: Final = "empty"
"""`account_key()` of an account without customers yet."""


class ReadClient:
    """Reads of a DropStream account. No method here can change anything."""

    _read_only: ClassVar[bool] = True

    def __init__(self, settings: ClientSettings, **wiring: Unpack[Wiring]) -> None:
        """`wiring`: the transport (the sandbox's, in-process), a clock and an rng (tests)."""
        self._core = HttpCore(settings, read_only=self._read_only, **wiring)
        self._credentials = settings.credentials
        self.lock_scope = settings.lock_scope

    @property
    def account(self) -> str:
        """Who this client acts as, safe to show or hash: the login name, or for a ready
        token a digest of it (never the token)."""
        creds = self._credentials
        if isinstance(creds, BasicCredentials):
            return creds.username
        import hashlib

        return "token:" + hashlib.sha256(creds.token.reveal().encode()).hexdigest()[:12]

    async def account_key(self) -> str:
        """What identifies the account this client acts in, the same for a login and for a
        token of it, and nothing secret: `customer:<its lowest customer id>`, or
        EMPTY_ACCOUNT while it has none. The API has no "who am I" [assumed: none
        documented], but every object belongs to one account and customers are never
        deleted, so an account's first customer names it for good (ids are integers of
        the service, not per account [assumed]). Used to key apply's local lock."""
        customers = await self.list_customers()
        return f"customer:{min(c.id for c in customers)}" if customers else EMPTY_ACCOUNT

    @property
    def api_url(self) -> str:
        return self._core.api_url

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far (every attempt, the token included)."""
        return self._core.requests_sent

    @property
    def pacer(self) -> Pacer:
        """The pace of this client's requests (its rate now, its cuts): for -v and tests."""
        return self._core.pacer

    @property
    def server_time(self) -> datetime | None:
        """The API's clock at its latest answer, from `Date`; None if it sent none."""
        return self._core.server_time

    def clock(self) -> datetime:
        """Now, on the API's clock when it told us (expiries are stamped on it), else ours."""
        return self._core.server_time or datetime.now(UTC)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.api_url}>"

    async def aclose(self) -> None:
        await self._core.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- lists: one paginated read each ---------------------------------------------------

    async def list_customers(self) -> list[live.Customer]:
        return await self._list(api.CUSTOMERS, {}, api.customer)

    async def list_warehouses(self) -> list[live.Warehouse]:
        return await self._list(api.WAREHOUSES, {}, api.warehouse)

    async def list_stores(
        self, platform: str | None = api.AMAZON, *, customer_id: int | None = None
    ) -> list[live.Store]:
        query = api.stores_query(platform=platform, customer_id=customer_id)
        return await self._list(api.STORES, query, api.store)

    async def list_connections(
        self, *, customer_id: int | None = None, store_id: int | None = None
    ) -> list[live.Connection]:
        query = api.connections_query(customer_id=customer_id, store_id=store_id)
        return await self._list(api.CONNECTIONS, query, api.connection)

    async def list_authorization_requests(
        self, status: str | None = api.PENDING, *, store_id: int | None = None
    ) -> list[live.AuthorizationRequest]:
        query = api.authorization_requests_query(status=status, store_id=store_id)
        return await self._list(api.AUTHORIZATION_REQUESTS, query, api.authorization_request)

    # -- single objects -------------------------------------------------------------------

    async def get_customer(self, customer_id: int) -> live.Customer:
        return await self._one(api.customer_path(customer_id), api.customer)

    async def get_warehouse(self, warehouse_id: int) -> live.Warehouse:
        return await self._one(api.warehouse_path(warehouse_id), api.warehouse)

    async def get_store(self, store_id: int) -> live.Store:
        return await self._one(api.store_path(store_id), api.store)

    async def get_connection(self, connection_id: int) -> live.Connection:
        return await self._one(api.connection_path(connection_id), api.connection)

    async def list_channels(self, connection_id: int) -> list[live.Channel]:
        """One connection's channels (apply reads a new connection's; a plan reads them
        from the connection list, never per connection)."""
        return await self._list(api.connection_channels_path(connection_id), {}, api.channel)

    async def get_authorization_request(self, request_id: int) -> live.AuthorizationRequest:
        return await self._one(
            api.authorization_request_path(request_id), api.authorization_request
        )

    # -- what a plan reads ----------------------------------------------------------------

    async def read_live(self, merchant_names: Collection[str] | None = None) -> live.LiveState:
        """The live state a plan needs.

        Without `merchant_names`: one paginated read per list, all six at once (the
        authorization requests twice: the pending ones, and the expired ones that make a
        store's next invite a `reinvite`). With them,
        only those customers (by company_name) and their objects: when they are few for the
        account, only their objects are read (the lists filtered by customer, after one read
        of /customers to find their ids), else the whole account is read and filtered here.
        Either way the state holds the same objects, so the plan's fingerprint and the stale
        check of a saved plan cover exactly what was read.
        """
        if merchant_names is None:
            return await self._read_account(None)
        names = set(merchant_names)
        if len(names) > _NARROW_MAX:
            return only_merchants(await self._read_account(None), names)
        customers = await self.list_customers()
        # Matched as the planner matches (live.name_key): a look-alike spelling is this merchant.
        keys = {live.name_key(n) for n in names}
        mine = [c for c in customers if live.name_key(c.company_name) in keys]
        # A merchant's own reads are about three requests (its stores, connections and
        # warehouses); the account's lists are at least as many pages as /customers each.
        if len(mine) > api.page_count(len(customers), api.PER_PAGE):
            return only_merchants(await self._read_account(customers), names)
        # Filtered again here so that a server ignoring a filter cannot widen the plan; with
        # every customer read, so that only_merchants keeps the look-alikes the plan warns of.
        state = await self._read_customers(mine)
        return only_merchants(dataclasses.replace(state, customers=tuple(customers)), names)

    async def _read_account(self, customers: list[live.Customer] | None) -> live.LiveState:
        try:
            async with asyncio.TaskGroup() as group:
                # In the order `read_live(names)` reads them: /customers first.
                ordered = InOrder(group)
                if customers is None:
                    read = ordered.start(self.list_customers())
                warehouses = ordered.start(self.list_warehouses())
                stores = ordered.start(self.list_stores(api.AMAZON))
                connections = ordered.start(self.list_connections())
                requests = ordered.start(self._requests(api.PENDING))
                expired = ordered.start(self._requests(api.EXPIRED))
        except BaseExceptionGroup as failed:
            raise first_leaf(failed) from None
        return live.LiveState(
            customers=tuple(read.result() if customers is None else customers),
            warehouses=tuple(warehouses.result()),
            # Filtered again here so that a server ignoring a filter cannot widen the plan.
            stores=tuple(s for s in stores.result() if s.platform == live.PLATFORM_AMAZON),
            connections=tuple(connections.result()),
            # Filtered on status again so that a server ignoring the filter cannot pass
            # expired requests off as pending, or the other way round.
            authorization_requests=tuple(
                r for r in (requests.result() or ()) if live.listed_as(r, _PENDING)
            ),
            expired_authorization_requests=tuple(
                r for r in (expired.result() or ()) if live.listed_as(r, _EXPIRED)
            ),
            authorization_requests_missing=requests.result() is None,
        )

    async def _read_customers(self, customers: list[live.Customer]) -> live.LiveState:
        """These customers' objects only: the lists filtered by customer_id, and the pending
        requests of their stores."""
        ids = [c.id for c in customers]
        try:
            async with asyncio.TaskGroup() as group:
                wanted = group.create_task(
                    gather_all(
                        self._list(
                            api.WAREHOUSES, api.warehouses_query(customer_id=i), api.warehouse
                        )
                        for i in ids
                    )
                )
                owned = group.create_task(
                    gather_all(self.list_stores(api.AMAZON, customer_id=i) for i in ids)
                )
                linked = group.create_task(
                    gather_all(self.list_connections(customer_id=i) for i in ids)
                )
        except BaseExceptionGroup as failed:
            raise first_leaf(failed) from None
        warehouses, stores, connections = wanted.result(), owned.result(), linked.result()
        amazon = [s for group in stores for s in group if s.platform == api.AMAZON]
        try:
            async with asyncio.TaskGroup() as group:
                pending = group.create_task(self._requests_of(amazon, api.PENDING))
                lapsed = group.create_task(self._requests_of(amazon, api.EXPIRED))
        except BaseExceptionGroup as failed:
            raise first_leaf(failed) from None
        requests = pending.result()
        return live.LiveState(
            customers=tuple(customers),
            warehouses=tuple(w for group in warehouses for w in group),
            stores=tuple(amazon),
            connections=tuple(c for group in connections for c in group),
            authorization_requests=tuple(requests or ()),
            expired_authorization_requests=tuple(lapsed.result() or ()),
            authorization_requests_missing=requests is None,
        )

    async def _requests_of(
        self, stores: list[live.Store], status: str
    ) -> list[live.AuthorizationRequest] | None:
        """The requests of one status of these stores: the account's list of that status when
        it takes no more pages than a read per store (pending requests expire, so that list
        stays short; the expired one grows), else one filtered read per store. None when the
        API has no such endpoint [assumed] (asked even for no stores: the plan's invites for
        new stores depend on it)."""
        ids = {s.id for s in stores}

        async def read() -> list[live.AuthorizationRequest]:
            query = api.authorization_requests_query(status=status)
            items = await self._core.get_list_within(
                api.AUTHORIZATION_REQUESTS,
                query,
                api.authorization_request,
                max_pages=max(1, len(stores)),
            )
            if items is not None:
                return items
            groups = await gather_all(
                self.list_authorization_requests(status, store_id=s.id) for s in stores
            )
            return [r for group in groups for r in group]

        found = await self._unless_missing(status, read())
        if found is None:
            return None
        return [r for r in found if r.store_id in ids and live.listed_as(r, _LISTED[status])]

    async def _requests(self, status: str) -> list[live.AuthorizationRequest] | None:
        """The requests of one status, or None when the API has no such endpoint [assumed]."""
        return await self._unless_missing(status, self.list_authorization_requests(status))

    async def _unless_missing(
        self, status: str, read: Awaitable[list[live.AuthorizationRequest]]
    ) -> list[live.AuthorizationRequest] | None:
        """`read`'s requests, or None when the API answers that it has no such endpoint."""
        try:
            return await read
        except ApiError as exc:
            if exc.status in api.MISSING_ENDPOINT_STATUSES:
                log.info(
                    "GET %s?status=%s -> %s: no invite endpoint; invites go to the DropStream UI",
                    api.AUTHORIZATION_REQUESTS,
                    status,
                    exc.status,
                )
                return None
            raise

    # -- plumbing -------------------------------------------------------------------------

    async def _list(
        self, path: str, query: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], M]
    ) -> list[M]:
        return await self._core.get_list(path, query, parse)

    async def _one(self, path: str, parse: Callable[[Mapping[str, Any]], M]) -> M:
        data = await self._core.get_json(path)
        try:
            if not isinstance(data, Mapping):
                raise TypeError("not a JSON object")
            return parse(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._core.errors.malformed("GET", path, None, exc) from None


def only_merchants(state: live.LiveState, merchant_names: Collection[str]) -> live.LiveState:
    """The part of `state` that belongs to customers with these company names."""
    # Compared as the planner compares them (live.name_key), so a look-alike spelling of a
    # merchant's name is read, and matched, rather than planned again.
    names = {live.name_key(n) for n in merchant_names}
    ids = {c.id for c in state.customers if live.name_key(c.company_name) in names}
    # Customers whose names differ from a merchant's only in case or spacing are kept, not
    # their objects: the plan warns before it creates a second one beside them (they are no
    # part of the fingerprint, which covers the customers matched by name_key).
    customers = state.customers
    if len(ids) < len(customers):
        # Worked out only when some customer is not a merchant's: a plan of the whole
        # account (every customer a merchant) would spend a millisecond per thousand names.
        near = {live.loose_name_key(n) for n in merchant_names}
        customers = tuple(
            c for c in customers if c.id in ids or live.loose_name_key(c.company_name) in near
        )
    return live.LiveState(
        customers=customers,
        warehouses=_owned(state.warehouses, ids),
        stores=_owned(state.stores, ids),
        connections=_owned(state.connections, ids),
        authorization_requests=_owned(state.authorization_requests, ids),
        expired_authorization_requests=_owned(state.expired_authorization_requests, ids),
        authorization_requests_missing=state.authorization_requests_missing,
    )


_Owned = TypeVar("_Owned", live.Warehouse, live.Store, live.Connection, live.AuthorizationRequest)
_CUSTOMER_OF: Final = operator.attrgetter("customer_id")


def _owned(objects: tuple[_Owned, ...], ids: set[int]) -> tuple[_Owned, ...]:
    """Those of `objects` whose customer is one of `ids`: the tuple itself when that is
    every one of them (the plan of a whole config, checked in one pass in C)."""
    if ids.issuperset(map(_CUSTOMER_OF, objects)):
        return objects
    return tuple(o for o in objects if o.customer_id in ids)


class WriteClient(ReadClient):
    """Reads plus the writes an apply makes. Every write is safe to repeat after a fault."""

    _read_only: ClassVar[bool] = False

    async def create_customer(
        self, company_name: str, *, on_found: Callable[[], None] | None = None
    ) -> int:
        """`on_found` is told when the answer was lost and a read found the customer (made
        by this call, or by a concurrent apply: HttpCore.create)."""

        async def find() -> int | None:
            found = api.find_customer(await self.list_customers(), company_name)
            return None if found is None else found.id

        return await self._core.create(
            api.CUSTOMERS,
            api.customer_body(company_name),
            parse=api.created_id,
            find=find,
            on_found=on_found,
        )

    async def rename_customer(self, customer_id: int, company_name: str) -> None:
        """PATCH the customer's company_name (how a duplicate is neutralized: the API has
        no DELETE for customers)."""
        await self._core.patch(api.customer_path(customer_id), api.customer_body(company_name))

    async def create_store(
        self,
        customer_id: int,
        name: str,
        marketplace_id: str,
        settings: StoreSettings,
        *,
        on_found: Callable[[], None] | None = None,
    ) -> int:
        """A new Amazon store, created disabled; returns its id (`on_found`: as for
        create_customer)."""

        async def find() -> int | None:
            stores = await self.list_stores(api.AMAZON, customer_id=customer_id)
            found = api.find_store(stores, customer_id, name, marketplace_id)
            return None if found is None else found.id

        body = api.store_create_body(customer_id, name, marketplace_id, settings)
        return await self._core.create(
            api.STORES, body, parse=api.created_id, find=find, on_found=on_found
        )

    async def update_store(
        self,
        store_id: int,
        *,
        name: str | None = None,
        settings_patch: Mapping[str, Any] | None = None,
        enabled_at: EnabledAt = UNSET,
    ) -> None:
        """PATCH only what is given; `enabled_at=None` disables, a time enables."""
        body = api.patch_body(
            name=name,
            adapter=api.adapter_patch(settings_patch) if settings_patch else None,
            enabled_at=None if enabled_at is UNSET else enabled_at,
            set_enabled_at=enabled_at is not UNSET,
        )
        if body:
            await self._core.patch(api.store_path(store_id), body)

    async def create_authorization_request(
        self,
        store_id: int,
        email: str,
        *,
        on_existing: Callable[[], None] | None = None,
        on_found: Callable[[], None] | None = None,
    ) -> live.AuthorizationRequest:
        """Send the merchant an authorization link. If a request to the same email is
        already pending (a concurrent apply, or a lost answer), that one is returned;
        `on_existing` is told when it was not this call's (no email was sent), `on_found`
        when it may have been this call's or a concurrent apply's (a lost answer)."""

        async def find() -> live.AuthorizationRequest | None:
            pending = await self.list_authorization_requests(api.PENDING, store_id=store_id)
            return api.find_pending_request(pending, store_id, email)

        path = api.store_authorization_requests_path(store_id)
        body = api.authorization_request_body(email)
        return await self._core.create(
            path,
            body,
            parse=_object(api.authorization_request),
            find=find,
            on_existing=on_existing,
            on_found=on_found,
        )

    async def cancel_authorization_request(self, request_id: int) -> None:
        """Cancel a pending request. Done also when it is already canceled or expired
        (a retry after a lost answer, or a concurrent apply, got there first)."""
        path = api.authorization_request_path(request_id)
        try:
            await self._core.delete(path)
        except ConflictError:
            current = await self.get_authorization_request(request_id)
            if current.status not in api.CANCEL_ALREADY_DONE_STATUSES:
                raise
            log.info("DELETE %s: the request is already %s", path, current.status)

    async def create_connection(
        self,
        customer_id: int,
        store_id: int,
        warehouse_id: int,
        name: str,
        *,
        on_existing: Callable[[], None] | None = None,
        on_found: Callable[[], None] | None = None,
    ) -> int:
        """The wizard's Finalize; the connection starts disabled. If the connection with
        this (customer, store, warehouse) already exists, its id is returned (and
        `on_existing` told, when this call did not make it; `on_found`, when this call
        or a concurrent apply may have: a lost answer)."""

        async def find() -> int | None:
            found = api.find_connection(
                await self.list_connections(customer_id=customer_id, store_id=store_id),
                customer_id,
                store_id,
                warehouse_id,
            )
            return None if found is None else found.id

        body = api.connection_create_body(customer_id, store_id, warehouse_id, name)
        return await self._core.create(
            api.CONNECTIONS,
            body,
            parse=api.created_id,
            find=find,
            on_existing=on_existing,
            on_found=on_found,
        )

    async def update_connection(
        self, connection_id: int, *, name: str | None = None, enabled_at: EnabledAt = UNSET
    ) -> None:
        body = api.patch_body(
            name=name,
            enabled_at=None if enabled_at is UNSET else enabled_at,
            set_enabled_at=enabled_at is not UNSET,
        )
        if body:
            await self._core.patch(api.connection_path(connection_id), body)

    async def update_channel(
        self, connection_id: int, channel_id: int, *, enabled_at: datetime | None
    ) -> None:
        """Enable (a time) or disable (None) one channel of a connection [doc]."""
        body = api.patch_body(enabled_at=enabled_at, set_enabled_at=True)
        await self._core.patch(api.connection_channel_path(connection_id, channel_id), body)


def _object(parse: Callable[[Mapping[str, Any]], M]) -> Callable[[Any], M]:
    def parse_object(data: Any) -> M:
        if not isinstance(data, Mapping):
            raise TypeError("not a JSON object")
        return parse(data)

    return parse_object
