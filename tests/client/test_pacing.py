"""The client paces itself: a token bucket and one concurrency bound for all calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from dropstream_sync.client import ReadClient, Timing
from dropstream_sync.client.limiter import TokenBucket
from tests.client.client_fakes import FakeDropStream, FakeTime


def test_the_bucket_allows_a_burst_then_the_rate(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=10, burst=5, timing=fake_time.timing)

    async def take(n: int) -> None:
        for _ in range(n):
            await bucket.acquire()

    asyncio.run(take(25))
    # 5 at once, then 20 more at 10/s.
    assert fake_time.now - 1000.0 == pytest.approx(2.0)


def test_concurrent_waiters_are_spaced_by_the_rate(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=4, burst=1, timing=fake_time.timing)
    done: list[float] = []

    async def one() -> None:
        await bucket.acquire()
        done.append(fake_time.now)

    async def many() -> None:
        await asyncio.gather(*(one() for _ in range(5)))

    asyncio.run(many())
    assert fake_time.now - 1000.0 == pytest.approx(1.0)


def test_a_paced_client_spends_at_least_requests_over_rate(
    fake: FakeDropStream, fake_time: FakeTime, make_reader: Callable[..., ReadClient]
) -> None:
    for i in range(1, 41):
        fake.customers[i] = {"id": i, "company_name": f"M{i}"}
    fake.max_per_page = 1  # 40 pages + 1 token request

    asyncio.run(make_reader(rate_limit_rps=10, burst=1).list_customers())

    assert len(fake.log) == 41
    assert fake_time.now - 1000.0 == pytest.approx(4.0)


def test_the_limiter_can_be_switched_off(
    fake: FakeDropStream, fake_time: FakeTime, make_reader: Callable[..., ReadClient]
) -> None:
    for i in range(1, 41):
        fake.customers[i] = {"id": i, "company_name": f"M{i}"}
    fake.max_per_page = 1

    asyncio.run(make_reader(rate_limit_rps=None).list_customers())
    assert fake_time.now == 1000.0


def test_all_calls_share_one_concurrency_bound(fake: FakeDropStream) -> None:
    for i in range(1, 501):
        fake.customers[i] = {"id": i, "company_name": f"M{i}"}
        fake.stores[i] = {"id": i, "customer_id": i, "name": f"S{i}", "platform": "amazon",
                          "adapter": {}, "enabled_at": None}
    fake.max_per_page = 10
    in_flight = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return fake.handle(request)

    from tests.client.client_fakes import settings

    client = ReadClient(settings(max_concurrency=3, page_concurrency=8),
                        transport=httpx.MockTransport(slow), timing=Timing())
    state = asyncio.run(client.read_live())
    assert len(state.stores) == 500
    assert peak == 3


def test_a_server_that_announces_its_rate_sets_the_pace(
    fake: FakeDropStream, fake_time: FakeTime, make_reader: Callable[..., ReadClient]
) -> None:
    for i in range(1, 42):
        fake.customers[i] = {"id": i, "company_name": f"M{i}"}
    fake.max_per_page = 1
    original = fake.handle

    def announce(request: httpx.Request) -> httpx.Response:
        response = original(request)
        response.headers["x-amzn-RateLimit-Limit"] = "40.0"
        return response

    asyncio.run(make_reader(httpx.MockTransport(announce), rate_limit_rps=10,
                            burst=1).list_customers())
    # 42 requests: the token from the burst, then 41 at the announced 40/s (not 10/s).
    assert fake_time.now - 1000.0 == pytest.approx(41 / 40)
