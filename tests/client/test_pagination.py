"""Lists are read whole: Link following, no Link at all, and concurrent pages by total.

Against the sandbox, which sends both X-Total-Count and Link and allows 100 a page; a thin
layer in front of it (on_sandbox.Altered, or one below) takes away or changes the one part
of a server's answer each test is about."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
import pytest

from dropstream_sync.client import api
from dropstream_sync.errors import ApiError, PartialReadError
from tests.client.on_sandbox import US, Alter, Altered, Box, answer


def _customers(box: Box, n: int) -> list[int]:
    box.seed({"customers": [{"id": i, "company_name": f"M{i}"} for i in range(n)]})
    return [c.id for c in asyncio.run(box.observer().list_customers())]


def _pages(box: Box) -> list[int]:
    return sorted(int(r.url.params.get("page", "1")) for r in box.wire.calls("GET", "/customers"))


def _without(*headers: str) -> Alter:
    async def alter(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return answer(response, drop=headers)

    return alter


def test_link_rel_next_is_followed_when_no_total_is_sent(box: Box) -> None:
    ids = _customers(box, 250)
    # A server that does not count its lists.
    no_total = Altered(box.wire, _without("X-Total-Count"))

    customers = asyncio.run(box.reader(no_total).list_customers())

    assert [c.id for c in customers] == ids
    assert _pages(box) == [1, 2, 3]


def test_without_link_or_total_an_empty_page_2_ends_the_list(box: Box) -> None:
    _customers(box, 40)
    # A server with neither pagination header.
    bare = Altered(box.wire, _without("X-Total-Count", "Link"))

    customers = asyncio.run(box.reader(bare).list_customers())

    assert len(customers) == 40
    assert _pages(box) == [1, 2]


def test_without_link_or_total_pages_are_asked_until_one_brings_nothing_new(box: Box) -> None:
    ids = _customers(box, 250)
    bare = Altered(box.wire, _without("X-Total-Count", "Link"))

    customers = asyncio.run(box.reader(bare).list_customers())

    assert [c.id for c in customers] == ids
    assert _pages(box) == [1, 2, 3, 4]


def test_without_link_or_total_a_page_budget_stops_at_the_first_page_past_it(
    box: Box,
) -> None:
    # The pending requests of a few stores are read as the account's list only while that
    # list takes no more pages than a read per store; with no total, page by page.
    ids = _customers(box, 250)
    bare = Altered(box.wire, _without("X-Total-Count", "Link"))

    def within(pages: int) -> list[int] | None:
        core = box.reader(bare)._core
        read = asyncio.run(core.get_list_within("/customers", None, api.customer, max_pages=pages))
        return None if read is None else [c.id for c in read]

    assert within(2) is None
    assert _pages(box) == [1, 2, 3]  # the third page showed the list is longer
    assert within(3) == ids


@pytest.mark.parametrize("total", ["0", "1", "99", "150"])
def test_a_total_the_pages_pass_is_not_taken_for_the_list_s(box: Box, total: str) -> None:
    # X-Total-Count counting something else, and no Link: trusted, it ended the read once
    # the pages held that many, 100 or 200 of 250 customers read as the whole list.
    ids = _customers(box, 250)

    async def miscounted(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return answer(response, headers={"X-Total-Count": total}, drop=("Link",))

    customers = asyncio.run(box.reader(Altered(box.wire, miscounted)).list_customers())

    assert [c.id for c in customers] == ids
    assert _pages(box) == [1, 2, 3, 4]  # as with no count at all: the empty page 4 ends it


def test_a_total_below_page_1_from_a_server_ignoring_page_is_refused(box: Box) -> None:
    _customers(box, 130)
    box.control("POST", "/_sandbox/quirks", {"quirks": ["repeat-page"]})

    async def miscounted(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return answer(response, headers={"X-Total-Count": "1"}, drop=("Link",))

    with pytest.raises(PartialReadError) as caught:
        asyncio.run(box.reader(Altered(box.wire, miscounted)).list_customers())

    assert (
        "it answered 100 items with no Link and an X-Total-Count (1) below them, and the "
        "same items again for page=2" in str(caught.value)
    )
    assert _pages(box) == [1, 2]


def test_a_total_met_by_full_pages_costs_no_request_more(box: Box) -> None:
    # 200 customers, 200 counted: two full pages, and the count is believed.
    _customers(box, 200)
    no_link = Altered(box.wire, _without("Link"))

    customers = asyncio.run(box.reader(no_link).list_customers())

    assert len(customers) == 200
    assert _pages(box) == [1, 2]


def test_without_link_or_total_a_404_past_the_last_page_ends_the_list(box: Box) -> None:
    _customers(box, 40)

    async def no_page_2(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(404, json={"error": "no such page"})
        return answer(response, drop=("X-Total-Count", "Link"))

    customers = asyncio.run(box.reader(Altered(box.wire, no_page_2)).list_customers())

    assert len(customers) == 40
    assert _pages(box) == [1, 2]


def test_with_a_total_the_remaining_pages_are_fetched_without_links(box: Box) -> None:
    ids = _customers(box, 250)
    # A server that counts its lists but sends no Link.
    no_links = Altered(box.wire, _without("Link"))

    customers = asyncio.run(box.reader(no_links).list_customers())

    assert [c.id for c in customers] == ids
    assert _pages(box) == [1, 2, 3]


class SmallerPages(httpx.AsyncBaseTransport):
    """A server whose pages hold at most 50 (the sandbox allows the 100 the client asks)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        asked = int(request.url.params.get("per_page", "25"))
        url = request.url.copy_set_param("per_page", str(min(asked, 50)))
        return await self._inner.handle_async_request(
            httpx.Request(request.method, url, headers=request.headers, content=request.content)
        )


def test_a_server_that_caps_page_size_is_still_read_whole(box: Box) -> None:
    ids = _customers(box, 120)

    customers = asyncio.run(box.reader(SmallerPages(box.wire)).list_customers())

    assert [c.id for c in customers] == ids
    assert len(box.wire.calls("GET", "/customers")) == 3


class InFlight(httpx.AsyncBaseTransport):
    """Counts the requests under way at once (the sandbox does not say)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.now = self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            self.now -= 1


def test_pages_after_the_first_are_fetched_concurrently_but_bounded(box: Box) -> None:
    _customers(box, 1000)
    box.control("POST", "/_sandbox/faults", {"latency_ms": 5})  # so that pages overlap
    counter = InFlight(box.wire)

    customers = asyncio.run(box.reader(counter, page_concurrency=3).list_customers())

    assert len(customers) == 1000
    assert _pages(box) == list(range(1, 11))
    assert counter.peak == 3


def test_rows_added_during_the_read_are_neither_lost_nor_doubled(box: Box) -> None:
    ids = _customers(box, 200)
    added: list[int] = []

    async def add_after_the_first_page(
        request: httpx.Request, response: httpx.Response
    ) -> httpx.Response:
        if request.url.params.get("page") == "1" and request.url.path == "/customers":
            async with box.observer_writer() as other:  # another user, mid-read
                added.extend(
                    [await other.create_customer("new"), await other.create_customer("newer")]
                )
        return response

    customers = asyncio.run(
        box.reader(Altered(box.wire, add_after_the_first_page)).list_customers()
    )

    assert [c.id for c in customers] == ids + added


def test_a_row_repeated_on_the_next_page_is_kept_once(box: Box) -> None:
    ids = _customers(box, 200)
    last_of_page_1: list[object] = []

    # The sandbox's lists are id-ordered, so a new row never sorts first and shifts the
    # later pages by one; this layer repeats the row such a shift would.
    async def shift(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/customers":
            return response
        rows = response.json()
        if request.url.params.get("page") == "1":
            last_of_page_1.append(rows[-1])
            return response
        return answer(response, body=last_of_page_1 + rows)

    customers = asyncio.run(box.reader(Altered(box.wire, shift)).list_customers())

    assert [c.id for c in customers] == ids


def test_a_next_link_to_another_host_is_refused_and_gets_no_token(box: Box) -> None:
    _customers(box, 150)

    # A server (or a proxy) that points its next link elsewhere.
    async def evil(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if "Link" not in response.headers:
            return response
        link = response.headers["Link"].replace("http://sandbox.local", "https://evil.example")
        return answer(response, drop=("X-Total-Count",), headers={"Link": link})

    with pytest.raises(ApiError, match="next-page link points outside"):
        asyncio.run(box.reader(Altered(box.wire, evil)).list_customers())
    assert {r.url.host for r in box.wire.log} == {"sandbox.local"}


def test_a_relative_next_link_is_followed(box: Box) -> None:
    ids = _customers(box, 150)

    # A server whose Link is relative to the API's root.
    async def relative(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if "Link" not in response.headers:
            return answer(response, drop=("X-Total-Count",))
        link = response.headers["Link"].replace("<http://sandbox.local/", "</")
        return answer(response, drop=("X-Total-Count",), headers={"Link": link})

    customers = asyncio.run(box.reader(Altered(box.wire, relative)).list_customers())

    assert [c.id for c in customers] == ids
    assert _pages(box) == [1, 2]


def _second_page_opens_with(box: Box, path: str, row: Mapping[str, object]) -> Altered:
    """The answers, with `row` put first on page 2 of `path`."""

    async def alter(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != path or request.url.params.get("page") != "2":
            return response
        return answer(response, body=[row, *response.json()])

    return Altered(box.wire, alter)


def test_a_repeated_row_is_dropped_even_when_its_repeat_is_unreadable(box: Box) -> None:
    box.seed(
        {
            "customers": [{"id": 1, "company_name": "M1"}],
            "stores": [
                {"id": i, "customer_id": 1, "name": f"S{i}", "adapter": {"marketplace_id": US}}
                for i in range(1, 151)
            ],
        }
    )
    # The row read on page 1 again, changed in between into one that cannot be read: as a
    # repeat it is dropped, so it cannot fail the read.
    repeat = {"id": 1, "customer_id": "one", "name": "S1 renamed"}
    altered = _second_page_opens_with(box, "/stores", repeat)

    stores = asyncio.run(box.reader(altered).list_stores())

    assert [s.id for s in stores] == list(range(1, 151))
    assert stores[0].name == "S1"


def test_an_unreadable_row_on_a_later_page_fails_the_read_with_the_list_named(box: Box) -> None:
    _customers(box, 150)
    broken = {"id": "seven", "company_name": "Broken"}

    with pytest.raises(ApiError, match=r"GET /customers: unexpected answer: id is not an"):
        asyncio.run(box.reader(_second_page_opens_with(box, "/customers", broken)).list_customers())


def test_a_row_whose_id_is_a_list_fails_the_read_as_an_unexpected_answer(box: Box) -> None:
    # An id that is no scalar cannot be de-duplicated by; it is an unreadable row like any
    # other (an ApiError the CLI reports), not a TypeError out of the de-duplication.
    _customers(box, 150)
    broken = {"id": [7], "company_name": "Broken"}

    with pytest.raises(ApiError, match=r"GET /customers: unexpected answer: id is not an"):
        asyncio.run(box.reader(_second_page_opens_with(box, "/customers", broken)).list_customers())


def _total(value: str) -> Alter:
    """Every page of /customers says the list holds `value` items."""

    async def alter(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/customers":
            return response
        return answer(response, headers={"X-Total-Count": value}, drop=("Link",))

    return alter


def test_a_total_far_past_the_list_is_refused_at_its_first_empty_page(box: Box) -> None:
    # 10,000 pages promised, 250 customers there: found in a few requests, not ten
    # thousand (nor ten thousand tasks made up front). Whole or cut short by a server
    # that answers no deep pages, the two cannot be told apart: refused.
    _customers(box, 250)

    reader = box.reader(Altered(box.wire, _total("1000000")), page_concurrency=4)
    with pytest.raises(ApiError) as caught:
        asyncio.run(asyncio.wait_for(reader.list_customers(), timeout=30))

    assert "says 1000000 items, but its pages ended after 250 (page 4 was empty)" in str(
        caught.value
    )
    assert len(_pages(box)) <= 3 + 4


def test_pages_that_end_early_by_less_than_a_page_are_read_whole(box: Box) -> None:
    # Counted 210, then ten gone before the last page was asked (requests expire): the
    # read is whole for what exists, not refused.
    ids = _customers(box, 200)

    reader = box.reader(Altered(box.wire, _total("210")))
    customers = asyncio.run(reader.list_customers())

    assert [c.id for c in customers] == ids


def test_a_server_that_answers_no_deep_pages_is_refused(box: Box) -> None:
    _customers(box, 250)

    async def shallow(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == "/customers" and request.url.params.get("page") != "1":
            return answer(response, body=[], drop=("Link",))
        return answer(response, drop=("Link",))

    with pytest.raises(ApiError, match="says 250 items, but its pages ended after 100"):
        asyncio.run(box.reader(Altered(box.wire, shallow)).list_customers())


def test_a_total_of_more_pages_than_any_read_is_refused_at_once(box: Box) -> None:
    _customers(box, 3)

    reader = box.reader(Altered(box.wire, _total(str(10**12))))
    with pytest.raises(ApiError) as caught:
        asyncio.run(asyncio.wait_for(reader.list_customers(), timeout=30))

    assert "X-Total-Count says 1,000,000,000,000 items" in str(caught.value)
    assert _pages(box) == [1]


def test_a_total_with_page_ignored_stops_at_the_first_repeat(box: Box) -> None:
    _customers(box, 250)
    box.control("POST", "/_sandbox/quirks", {"quirks": ["repeat-page"]})

    reader = box.reader(Altered(box.wire, _total("1000000")), page_concurrency=4)
    with pytest.raises(ApiError, match="same 100 items"):
        asyncio.run(asyncio.wait_for(reader.list_customers(), timeout=30))

    assert len(_pages(box)) <= 1 + 4


def test_an_empty_first_page_of_a_counted_list_is_refused_not_read_as_empty(box: Box) -> None:
    # Read as empty, the plan would create every customer the server counts again.
    _customers(box, 3)

    async def empty(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/customers":
            return response
        return answer(response, body=[])

    with pytest.raises(ApiError) as caught:
        asyncio.run(box.reader(Altered(box.wire, empty)).list_customers())

    assert "its X-Total-Count says 3 items, but its first page held none" in str(caught.value)
