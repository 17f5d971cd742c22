"""Pagination: every item of a list endpoint, in one read.

Pages are asked `per_page=100`. When the first page tells the total, the remaining pages
are fetched concurrently (bounded); otherwise `Link rel="next"` is followed; with neither,
the first page is the whole list. A next link must stay on the API's origin, because
following it sends the bearer token.

A read that may be partial stops with PartialReadError instead of returning what it got,
because a plan made from it would create and disable objects it never saw: a first page
with no pagination signal whose length looks like a cap (`api.looks_capped`), an object
with pagination keys where a list was expected (`api.envelope_keys`), or a page whose ids
are exactly those of an earlier page (a server ignoring `page`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Final, TypeVar

import httpx

from dropstream_sync.client import api
from dropstream_sync.errors import ApiError, PartialReadError

Get = Callable[[str, Mapping[str, Any] | None], Awaitable[httpx.Response]]
Items = Callable[[str, httpx.Response], list[Mapping[str, Any]]]

_MAX_PAGES: Final = 1_000_000

T = TypeVar("T")


log = logging.getLogger("dropstream_sync.client")


class Pager:
    def __init__(self, api_url: str, get: Get, items: Items, page_concurrency: int) -> None:
        self._base = httpx.URL(api_url + "/")
        self._get = get
        self._items = items
        self._concurrency = page_concurrency

    async def read_all(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        max_pages: int | None = None,
    ) -> list[Mapping[str, Any]] | None:
        """Every item; with `max_pages`, None as soon as the list is known to be longer."""
        query = {**(params or {}), api.PER_PAGE_PARAM: api.PER_PAGE, api.PAGE_PARAM: 1}
        first = await self._get(path, query)
        items = self._page(path, first)
        pages = _Pages(path)
        pages.add(items)
        last = first
        read = 1
        total = api.total_count(first.headers)
        link = api.next_link(first.headers)
        if total is None and link is None and api.looks_capped(len(items)):
            raise PartialReadError(
                path,
                f"it answered exactly {len(items)} items and no sign "
                f"of more pages (no {api.LINK_HEADER}, no "
                f"{api.TOTAL_COUNT_HEADER}), as a capped list would",
            )
        if total is not None and items and len(items) < total:
            count = api.page_count(total, len(items))
            if max_pages is not None and count > max_pages:
                return None
            rest = await self._pages_by_total(path, query, count)
            for response in rest:
                page = self._page(path, response)
                pages.add(page)
                items.extend(page)
            # Rows added while reading push the list past the total: keep following.
            last = rest[-1] if rest else first
            read += len(rest)
        budget = None if max_pages is None else max_pages - read
        more = await self._follow_links(path, api.next_link(last.headers), pages, budget)
        if more is None:
            return None
        items.extend(more)
        result = api.dedupe_by_id(items)
        log.info("read %s: %d object(s) in %d page(s)", path, len(result), max(1, pages.count))
        return result

    def _page(self, path: str, response: httpx.Response) -> list[Mapping[str, Any]]:
        # Only an answer that is a JSON object can be an envelope; a list is never parsed twice.
        if response.content[:64].lstrip()[:1] == b"{":
            try:
                keys = api.envelope_keys(response.json())
            except ValueError:
                keys = []
            if keys:
                raise PartialReadError(
                    path,
                    "it answered an object with the pagination "
                    f"keys {', '.join(keys)} instead of a list",
                )
        return self._items(path, response)

    async def _pages_by_total(
        self, path: str, query: Mapping[str, Any], pages: int
    ) -> list[httpx.Response]:
        gate = asyncio.Semaphore(self._concurrency)

        async def page(number: int) -> httpx.Response:
            async with gate:
                return await self._get(path, {**query, api.PAGE_PARAM: number})

        return await gather_all(page(n) for n in range(2, pages + 1))

    async def _follow_links(
        self, path: str, link: str | None, pages: _Pages, budget: int | None
    ) -> list[Mapping[str, Any]] | None:
        """The items of the pages `link` leads to; None past `budget` pages (if given)."""
        items: list[Mapping[str, Any]] = []
        seen: set[str] = set()
        while link is not None:
            if budget is not None and len(seen) >= budget:
                return None
            url = self._same_origin(path, link)
            if url in seen or len(seen) > _MAX_PAGES:
                raise ApiError("the next-page links go round in a circle", method="GET", path=path)
            seen.add(url)
            response = await self._get(url, None)
            page = self._page(path, response)
            pages.add(page)
            items.extend(page)
            link = api.next_link(response.headers)
        return items

    def _same_origin(self, path: str, link: str) -> str:
        url = self._base.join(link)
        if (url.scheme, url.host, url.port) != (
            self._base.scheme,
            self._base.host,
            self._base.port,
        ):
            # Following it would send the bearer token to another server.
            shown = str(self._base).rstrip("/")
            raise ApiError(f"the next-page link points outside {shown}", method="GET", path=path)
        return str(url)


class _Pages:
    """The ids of every page read so far, to notice a page answered twice."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._seen: set[tuple[Any, ...]] = set()

    def add(self, page: list[Mapping[str, Any]]) -> None:
        if not page:
            return
        ids = tuple(item.get(api.ID_KEY) for item in page)
        if ids in self._seen:
            raise PartialReadError(
                self._path,
                f"two pages answered the same {len(page)} "
                f"items, as when the server ignores `{api.PAGE_PARAM}`",
            )
        self._seen.add(ids)

    @property
    def count(self) -> int:
        return len(self._seen)


async def gather_all(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; on the first failure cancel the rest and raise that failure as is."""
    tasks: list[asyncio.Task[T]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as failed:
        raise first_leaf(failed) from None
    return [t.result() for t in tasks]


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
