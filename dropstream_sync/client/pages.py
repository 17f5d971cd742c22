"""Pagination: every item of a list endpoint, in one read.

Pages are asked `per_page=100`. When the first page tells the total, the remaining pages
are fetched concurrently (bounded); otherwise `Link rel="next"` is followed; with neither,
pages 2, 3, ... are asked until one brings nothing new (or answers 404). A next link must
stay on the API's origin, because following it sends the bearer token.

A read that may be partial stops with PartialReadError instead of returning what it got,
because a plan made from it would create and disable objects it never saw: a first page
with no pagination signal that page 2 only repeats (a server ignoring `page`: whatever its
length, the first answer may be a cap), an object with pagination keys where a list was
expected (`api.envelope_keys`), or a page whose ids are exactly those of an earlier page (a
server ignoring `page`).

What that costs: nothing where the first page carries `X-Total-Count` or `Link` (the model,
and the sandbox's default); one request more than the pages where it carries neither (the
empty page, or the repeat, that ends the read), or where the pages pass the count it gives
(a count of something else) with no `Link` to follow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Final, Generic, TypeVar

import httpx

from dropstream_sync.client import api
from dropstream_sync.errors import ApiError, PartialReadError

Get = Callable[[str, Mapping[str, Any] | None], Awaitable[httpx.Response]]
Items = Callable[[str, httpx.Response], list[Mapping[str, Any]]]
Malformed = Callable[[str, Exception], Exception]

_MAX_PAGES: Final = 1_000_000

T = TypeVar("T")
M = TypeVar("M")


log = logging.getLogger("dropstream_sync.client")


class Pager:
    """Each page becomes models as it arrives and its answer is dropped: a large read never
    holds the account's raw JSON and its models at once."""

    def __init__(
        self, api_url: str, get: Get, items: Items, malformed: Malformed, page_concurrency: int
    ) -> None:
        self._base = httpx.URL(api_url + "/")
        self._get = get
        self._items = items
        self._malformed = malformed
        self._concurrency = page_concurrency

    async def read_all(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        parse: Callable[[Mapping[str, Any]], M],
        *,
        max_pages: int | None = None,
    ) -> list[M] | None:
        """Every item as `parse` makes it, de-duplicated by id; with `max_pages`, None as
        soon as the list is known to be longer. An item `parse` cannot read (KeyError,
        TypeError, ValueError) fails the read once every page is in."""
        query = {**(params or {}), api.PER_PAGE_PARAM: api.PER_PAGE, api.PAGE_PARAM: 1}
        response = await self._get(path, query)
        total = api.total_count(response.headers)
        first = self._page(path, response, parse)
        del response
        if total and not first.ids:
            # Nothing read of what the server counts (a page size it refuses, a filter it
            # answers wrongly): planned from, every counted object would be created again.
            raise PartialReadError(
                path,
                f"its {api.TOTAL_COUNT_HEADER} says {total} items, but its first page held none",
            )
        pages: _Collected[M] = _Collected(path)
        pages.add(first)
        link = first.following
        read = 1
        last = first
        if total is not None and first.ids and len(first.ids) < total:
            count = api.page_count(total, len(first.ids))
            if max_pages is not None and count > max_pages:
                return None
            rest = await self._pages_by_total(path, query, (total, count), first, parse)
            for page in rest:
                pages.add(page)
            # Rows added while reading push the list past the total: keep following.
            link = rest[-1].following if rest else link
            read += len(rest)
            last = rest[-1] if rest else first
        # No sign either way [assumed], or a count the pages read already passed, with a full
        # last page (a count of something else: trusted, it would end the read here). The
        # next page tells whether there is one.
        unsignalled = link is None and bool(first.ids)
        unsignalled = unsignalled and (total is None or _past(total, first, last, pages))
        if unsignalled and not await self._unsignalled(
            path, query, (first, total), pages, read + 1, max_pages, parse
        ):
            return None
        budget = None if max_pages is None else max_pages - read
        if not await self._follow_links(path, link, pages, budget, parse):
            return None
        if pages.failure is not None:
            raise self._malformed(path, pages.failure)
        log.info("read %s: %d object(s) in %d page(s)", path, len(pages.models), pages.count)
        return pages.models

    def _page(
        self, path: str, response: httpx.Response, parse: Callable[[Mapping[str, Any]], M]
    ) -> _Page[M]:
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
        return _Page(self._items(path, response), parse, api.next_link(response.headers))

    async def _unsignalled(
        self,
        path: str,
        query: Mapping[str, Any],
        counted: tuple[_Page[M], int | None],
        pages: _Collected[M],
        start: int,
        max_pages: int | None,
        parse: Callable[[Mapping[str, Any]], M],
    ) -> bool:
        """The rest of a list whose pages said nothing of more: pages `start`, `start` + 1,
        ... for as long as each brings objects not read yet; False past `max_pages` pages.

        A short first page is no proof of the end here: a server that ignores `per_page`
        and `page` and answers its first N rows (N = 30 as readily as 100) sends the same
        answer as a whole list of N. So page 2 is always asked, once: empty (or 404), the
        list has ended; new objects, `page` is honoured and the pages are followed; only
        page 1's objects again, the server ignores `page`, nothing past the first answer
        can be read, and the read is refused whatever its length.
        `counted`: the first page, and the count the server gave (one it passed) if any."""
        first, total = counted
        for number in range(start, _MAX_PAGES + 2):
            try:
                response = await self._get(path, {**query, api.PAGE_PARAM: number})
            except ApiError as exc:
                if exc.status in api.PAST_LAST_PAGE_STATUSES:
                    return True  # [assumed] no such page: the list has ended
                raise
            page = self._page(path, response, parse)
            del response
            if not pages.brings_new(page):
                if number == 2 and page.ids:
                    raise _page_ignored(path, first, page, total)
                # Past page 2, `page` is known to be honoured: a page of nothing new (rows
                # that moved back as others were deleted) is the end.
                return True
            if max_pages is not None and number > max_pages:
                return False
            pages.add(page)
        raise ApiError("the pages never end", method="GET", path=path)

    async def _pages_by_total(
        self,
        path: str,
        query: Mapping[str, Any],
        counted: tuple[int, int],
        first: _Page[M],
        parse: Callable[[Mapping[str, Any]], M],
    ) -> list[_Page[M]]:
        """Pages 2..`pages`, `page_concurrency` at a time, in order. A total is only the
        server's word: one far past the list (a count of something else) must not become
        that many requests, or that many tasks made up front. So a few workers take the
        page numbers in turn, the list ends at its first empty page, and a page that
        repeats the first (the server ignores `page`) stops the read at once. Ending a page
        or more short of the total is a partial read.
        `counted`: the total the server gave and the pages it makes."""
        total, pages = counted
        if pages > _MAX_PAGES:
            raise PartialReadError(
                path,
                f"its {api.TOTAL_COUNT_HEADER} says {total:,} items, {pages:,} pages of "
                f"{len(first.ids)}: more than this client reads",
            )
        got: dict[int, _Page[M]] = {}
        numbers = iter(range(2, pages + 1))
        end = pages + 1  # the first page known to be past the list

        async def worker() -> None:
            nonlocal end
            for number in numbers:  # shared: each number is taken by one worker
                if number >= end:
                    return
                response = await self._get(path, {**query, api.PAGE_PARAM: number})
                page = self._page(path, response, parse)
                del response
                if not page.ids:
                    end = min(end, number)
                    return
                if page.ids == first.ids:
                    raise _answered_twice(path, len(first.ids))
                got[number] = page

        await gather_all(worker() for _ in range(min(self._concurrency, pages - 1)))
        rest = [got[n] for n in sorted(got) if n < end]
        items = len(first.ids) + sum(len(page.ids) for page in rest)
        if end <= pages and total - items >= len(first.ids):
            # Short of the total by a page or more: a server that answers no pages past
            # some depth looks just like this, and a plan would create what it never read.
            # (A list that shrank while it was read falls short by less.)
            raise PartialReadError(
                path,
                f"its {api.TOTAL_COUNT_HEADER} says {total} items, but its pages ended "
                f"after {items} (page {end} was empty)",
            )
        return rest

    async def _follow_links(
        self,
        path: str,
        link: str | None,
        pages: _Collected[M],
        budget: int | None,
        parse: Callable[[Mapping[str, Any]], M],
    ) -> bool:
        """Add the pages `link` leads to; False past `budget` pages (if given)."""
        seen: set[str] = set()
        while link is not None:
            if budget is not None and len(seen) >= budget:
                return False
            url = self._same_origin(path, link)
            if url in seen or len(seen) > _MAX_PAGES:
                raise ApiError("the next-page links go round in a circle", method="GET", path=path)
            seen.add(url)
            page = self._page(path, await self._get(url, None), parse)
            pages.add(page)
            link = page.following
        return True

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


class _Unreadable:
    """An item `parse` could not read, kept in its place until the read is de-duplicated
    (a repeat that is dropped cannot fail the read)."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Page(Generic[M]):
    """One page's ids (as the answer spelled them), its models, and its next link."""

    __slots__ = ("following", "ids", "models", "unreadable")

    def __init__(
        self,
        items: list[Mapping[str, Any]],
        parse: Callable[[Mapping[str, Any]], M],
        link: str | None,
    ) -> None:
        ids = tuple([item.get(api.ID_KEY) for item in items])
        try:
            hash(ids)
        except TypeError:
            # An id that is a list or an object is no id: such a row is not de-duplicated
            # by it, and fails to parse like any other unreadable row.
            ids = tuple(i if isinstance(i, int | str) else None for i in ids)
        self.ids = ids
        self.following = link
        self.models: list[M | _Unreadable]
        try:
            self.models = [parse(item) for item in items]
            self.unreadable = False
        except (KeyError, TypeError, ValueError):
            self.models = [_parsed_or_not(parse, item) for item in items]
            self.unreadable = True


def _parsed_or_not(
    parse: Callable[[Mapping[str, Any]], M], item: Mapping[str, Any]
) -> M | _Unreadable:
    try:
        return parse(item)
    except (KeyError, TypeError, ValueError) as exc:
        return _Unreadable(exc)


def _past(total: int, first: _Page[Any], last: _Page[Any], pages: _Collected[Any]) -> bool:
    """Whether the pages read, ending in `last`, hold more objects than the `total` counted,
    the last page as full as the first: the count is not this list's (one of something
    else, or of the page itself), and the list may go on. (Rows added while it was read do
    the same now and then: the next page, empty, then costs a request.)"""
    return pages.size > total and len(last.ids) >= len(first.ids)


def _page_ignored(
    path: str, first: _Page[Any], second: _Page[Any], total: int | None
) -> PartialReadError:
    again = "the same items again" if set(second.ids) == set(first.ids) else "only items of page 1"
    count = len(first.ids)
    if total is None:
        signs = f"no sign of more pages (no {api.LINK_HEADER}, no {api.TOTAL_COUNT_HEADER})"
    else:
        signs = f"no {api.LINK_HEADER} and an {api.TOTAL_COUNT_HEADER} ({total}) below them"
    return PartialReadError(
        path,
        f"it answered {count} items with {signs}, and {again} for {api.PAGE_PARAM}=2: the "
        f"server ignores the page asked, so whether the list holds more than these {count} "
        "cannot be read",
    )


def _answered_twice(path: str, items: int) -> PartialReadError:
    return PartialReadError(
        path,
        f"two pages answered the same {items} items, as when the server ignores `{api.PAGE_PARAM}`",
    )


class _Collected(Generic[M]):
    """The models of every page so far, in order, without the repeats that offset
    pagination yields when rows are inserted during a read; and the ids of each page, to
    notice a page answered twice."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._pages: set[tuple[Any, ...]] = set()
        self._ids: set[Any] = set()
        self.models: list[M] = []
        self.failure: Exception | None = None  # the first unreadable item kept

    def add(self, page: _Page[M]) -> None:
        ids = page.ids
        if not ids:
            return
        if ids in self._pages:
            raise _answered_twice(self._path, len(ids))
        self._pages.add(ids)
        fresh = set(ids)
        if not page.unreadable and len(fresh) == len(ids) and self._ids.isdisjoint(fresh):
            # The usual page: nothing in it repeats, so it is taken whole.
            self._ids |= fresh
            self.models.extend(page.models)  # type: ignore[arg-type]  # none is _Unreadable
            return
        for key, model in zip(ids, page.models, strict=True):
            if key is not None and key in self._ids:
                continue
            self._ids.add(key)
            if isinstance(model, _Unreadable):
                self.failure = self.failure or model.error
            else:
                self.models.append(model)

    def brings_new(self, page: _Page[M]) -> bool:
        """Whether `page` holds an object (by id) that no page so far held."""
        return not self._ids.issuperset(page.ids)

    @property
    def size(self) -> int:
        """The objects read so far (by id)."""
        return len(self._ids)

    @property
    def count(self) -> int:
        return max(1, len(self._pages))


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
