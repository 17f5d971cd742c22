"""Lists are read whole: Link following, no Link at all, and concurrent pages by total."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from dropstream_sync.client import ReadClient
from dropstream_sync.errors import ApiError
from tests.client.client_fakes import FakeDropStream


def _customers(fake: FakeDropStream, n: int) -> None:
    for i in range(n):
        fake.customers[i + 1] = {"id": i + 1, "company_name": f"M{i}"}


def _pages(fake: FakeDropStream) -> list[int]:
    return sorted(int(r.url.params.get("page", "1")) for r in fake.calls("GET", "/customers"))


def test_link_rel_next_is_followed_when_no_total_is_sent(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    _customers(fake, 250)
    fake.send_total = False

    customers = asyncio.run(make_reader().list_customers())

    assert [c.id for c in customers] == list(range(1, 251))
    assert _pages(fake) == [1, 2, 3]


def test_without_link_or_total_the_first_page_is_the_whole_list(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    _customers(fake, 40)
    fake.send_total = False
    fake.send_link = False

    customers = asyncio.run(make_reader().list_customers())

    assert len(customers) == 40
    assert _pages(fake) == [1]


def test_with_a_total_the_remaining_pages_are_fetched_without_links(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    _customers(fake, 250)
    fake.send_link = False

    customers = asyncio.run(make_reader().list_customers())

    assert [c.id for c in customers] == list(range(1, 251))
    assert _pages(fake) == [1, 2, 3]


def test_a_server_that_caps_page_size_is_still_read_whole(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    _customers(fake, 120)
    fake.max_per_page = 50

    customers = asyncio.run(make_reader().list_customers())

    assert len(customers) == 120
    assert _pages(fake) == [1, 2, 3]


def test_pages_after_the_first_are_fetched_concurrently_but_bounded(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    _customers(fake, 1000)
    in_flight = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return fake.handle(request)

    customers = asyncio.run(
        make_reader(httpx.MockTransport(slow), page_concurrency=3).list_customers()
    )

    assert len(customers) == 1000
    assert _pages(fake) == list(range(1, 11))
    assert peak == 3


def test_rows_added_during_the_read_are_neither_lost_nor_doubled(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    _customers(fake, 200)
    original = fake.handle

    def insert_after_first_page(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.params.get("page") == "1" and request.url.path == "/customers":
            # A new row sorted first shifts every later page by one.
            fake.customers[0] = {"id": 0, "company_name": "new"}
            fake.customers[201] = {"id": 201, "company_name": "newer"}
        return response

    customers = asyncio.run(
        make_reader(httpx.MockTransport(insert_after_first_page)).list_customers()
    )

    ids = [c.id for c in customers]
    assert len(ids) == len(set(ids))
    assert set(range(1, 202)) <= set(ids)


def test_a_next_link_to_another_host_is_refused_and_gets_no_token(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    def evil(request: httpx.Request) -> httpx.Response:
        if request.url.host != "api.test":
            raise AssertionError("the client followed a link to another host")
        fake.log.append(request)
        link = '<https://evil.example/customers?page=2>; rel="next"'
        return httpx.Response(200, json=[{"id": 1, "company_name": "A"}], headers={"Link": link})

    with pytest.raises(ApiError, match="next-page link points outside"):
        asyncio.run(make_reader(httpx.MockTransport(evil), token="t").list_customers())


def test_a_relative_next_link_is_followed(
    make_reader: Callable[..., ReadClient]
) -> None:
    pages = {
        "1": ([{"id": 1, "company_name": "A"}], '</customers?page=2&per_page=100>; rel="next"'),
        "2": ([{"id": 2, "company_name": "B"}], None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        items, link = pages[request.url.params.get("page", "1")]
        return httpx.Response(200, json=items, headers={"Link": link} if link else {})

    customers = asyncio.run(make_reader(httpx.MockTransport(handler), token="t").list_customers())
    assert [c.company_name for c in customers] == ["A", "B"]
