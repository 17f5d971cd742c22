"""Pagination: every item of a list endpoint, in one read.

Pages are asked `per_page=100`. When the first page tells the total, the remaining pages
are fetched concurrently (bounded); otherwise `Link rel="next"` is followed; with neither,
the first page is the whole list. A next link must stay on the API's origin, because
following it sends the bearer token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Final, TypeVar

import httpx

from dropstream_sync.client import api
from dropstream_sync.errors import ApiError

Get = Callable[[str, Mapping[str, Any] | None], Awaitable[httpx.Response]]
Items = Callable[[str, httpx.Response], list[Mapping[str, Any]]]

_MAX_PAGES: Final = 1_000_000

T = TypeVar("T")


class Pager:
    def __init__(self, api_url: str, get: Get, items: Items, page_concurrency: int) -> None:
        self._base = httpx.URL(api_url + "/")
        self._get = get
        self._items = items
        self._concurrency = page_concurrency

    async def read_all(
        self, path: str, params: Mapping[str, Any] | None = None, *,
        max_pages: int | None = None,
    ) -> list[Mapping[str, Any]] | None:
        """Every item; with `max_pages`, None as soon as the list is known to be longer."""
        query = {**(params or {}), api.PER_PAGE_PARAM: api.PER_PAGE, api.PAGE_PARAM: 1}
        first = await self._get(path, query)
        items = self._items(path, first)
        last = first
        read = 1
        total = api.total_count(first.headers)
        if total is not None and items and len(items) < total:
            pages = api.page_count(total, len(items))
            if max_pages is not None and pages > max_pages:
                return None
            rest = await self._pages_by_total(path, query, pages)
            for response in rest:
                items.extend(self._items(path, response))
            # Rows added while reading push the list past the total: keep following.
            last = rest[-1] if rest else first
            read += len(rest)
        budget = None if max_pages is None else max_pages - read
        more = await self._follow_links(path, api.next_link(last.headers), budget)
        if more is None:
            return None
        items.extend(more)
        return api.dedupe_by_id(items)

    async def _pages_by_total(
        self, path: str, query: Mapping[str, Any], pages: int
    ) -> list[httpx.Response]:
        gate = asyncio.Semaphore(self._concurrency)

        async def page(number: int) -> httpx.Response:
            async with gate:
                return await self._get(path, {**query, api.PAGE_PARAM: number})

        return await gather_all(page(n) for n in range(2, pages + 1))

    async def _follow_links(
        self, path: str, link: str | None, budget: int | None
    ) -> list[Mapping[str, Any]] | None:
        """The items of the pages `link` leads to; None past `budget` pages (if given)."""
        items: list[Mapping[str, Any]] = []
        seen: set[str] = set()
        while link is not None:
            if budget is not None and len(seen) >= budget:
                return None
            url = self._same_origin(path, link)
            if url in seen or len(seen) > _MAX_PAGES:
                raise ApiError("the next-page links go round in a circle", method="GET",
                               path=path)
            seen.add(url)
            response = await self._get(url, None)
            items.extend(self._items(path, response))
            link = api.next_link(response.headers)
        return items

    def _same_origin(self, path: str, link: str) -> str:
        url = self._base.join(link)
        if (url.scheme, url.host, url.port) != (self._base.scheme, self._base.host,
                                                self._base.port):
            # Following it would send the bearer token to another server.
            shown = str(self._base).rstrip("/")
            raise ApiError(f"the next-page link points outside {shown}", method="GET",
                           path=path)
        return str(url)


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
