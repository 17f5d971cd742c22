"""The client paces itself: it finds the server's rate from its 429s (never above its ceiling),
shares one concurrency bound between all calls, and a `--merchant` read reads only that
merchant.

The limiter's own arithmetic runs on a fake clock; everything else runs against the bundled
sandbox in this process, with its per-login rate limit (`/_sandbox/rate_limit`) and, where
the point is that the client must find the rate, without the rate header it would announce.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from dropstream_sync.apply import apply_plan
from dropstream_sync.client import (
    BasicCredentials,
    ClientSettings,
    Limits,
    ReadClient,
    Secret,
    WriteClient,
)
from dropstream_sync.client.limiter import Pacer, TokenBucket
from dropstream_sync.config import load_text
from dropstream_sync.planner import plan
from dropstream_sync.sandbox import SandboxApp, create_app, inprocess_transport
from tests.client.on_sandbox import URL, US, FakeTime


class Counting(httpx.AsyncBaseTransport):
    """The sandbox behind a layer that counts requests in flight, keeps what was asked and
    (with `announce=False`) removes the rate header the sandbox sends, as a server that
    announces nothing."""

    def __init__(self, app: SandboxApp, *, announce: bool = True) -> None:
        self._inner = inprocess_transport(app)
        self._announce = announce
        self.in_flight = self.peak = 0
        self.asked: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.asked.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        try:
            await asyncio.sleep(0.001)
            response = await self._inner.handle_async_request(request)
        finally:
            self.in_flight -= 1
        if not self._announce:
            response.headers.pop("x-amzn-RateLimit-Limit", None)
        return response


class Box:
    def __init__(self, tmp: Path) -> None:
        self.app = create_app(tmp / "state")
        info = self.app.sandbox_info
        self._admin = httpx.AsyncClient(
            transport=inprocess_transport(self.app),
            base_url=URL,
            headers={"X-Sandbox-Admin": info.admin_key},
        )
        self.credentials = BasicCredentials(info.username, Secret(info.password))

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        async def call() -> Any:
            response = await self._admin.request(method, path, json=body)
            response.raise_for_status()
            return response.json() if response.content else None

        return asyncio.run(call())

    def seed(self, merchants: int, stores_per: int) -> None:
        customers = [{"id": m, "company_name": f"M{m:03d}"} for m in range(1, merchants + 1)]
        warehouses = [
            {
                "id": m,
                "customer_id": m,
                "description": f"M{m:03d} Warehouse",
                "platform": "dropstream",
                "enabled_at": "2026-01-01T00:00:00Z",
            }
            for m in range(1, merchants + 1)
        ]
        stores = [
            {
                "id": m * 100 + s,
                "customer_id": m,
                "name": f"M{m:03d} US {s}",
                "platform": "amazon",
                "enabled_at": None,
                "adapter": {"marketplace_id": US},
            }
            for m in range(1, merchants + 1)
            for s in range(stores_per)
        ]
        self.admin(
            "POST",
            "/_sandbox/seed",
            {
                "username": self.credentials.username,
                "customers": customers,
                "warehouses": warehouses,
                "stores": stores,
            },
        )

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "/_sandbox/stats")
        return result

    def settings(self, **limits: Any) -> ClientSettings:
        return ClientSettings(URL, self.credentials, Limits(**limits))


def config(merchants: int, stores_per: int) -> str:
    return json.dumps(
        {
            "version": 1,
            "merchants": [
                {
                    "name": f"M{m:03d}",
                    "stores": [
                        {"name": f"M{m:03d} US {s}", "marketplace": "US"} for s in range(stores_per)
                    ],
                }
                for m in range(1, merchants + 1)
            ],
        }
    )


def run(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(make())


# -- the limiter's arithmetic --------------------------------------------------------------


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(rate=10, burst=5, timing=time.timing)

    async def take(n: int) -> None:
        for _ in range(n):
            await bucket.acquire()

    asyncio.run(take(25))
    # 5 at once, then 20 more at 10/s.
    assert time.now - 1000.0 == pytest.approx(2.0)


def test_a_429_cuts_rate_and_burst_once_per_round() -> None:
    time = FakeTime()
    pacer = Pacer(100, burst=8, learn_rate=True, timing=time.timing)
    sent = [asyncio.run(pacer.wait()) for _ in range(3)]  # three requests in flight

    for sent_in in sent:  # ... all answered 429: one overload, one cut
        pacer.refused(sent_in)

    assert pacer.cuts == 1
    assert pacer.rate is not None and pacer.rate < 100
    assert pacer.burst == 4


def test_without_429s_the_pace_climbs_back_but_never_above_the_ceiling() -> None:
    time = FakeTime()
    pacer = Pacer(40, burst=4, learn_rate=True, timing=time.timing)
    for _ in range(5):
        pacer.refused(asyncio.run(pacer.wait()))
    cut = pacer.rate
    assert cut is not None and cut < 20

    async def steady(n: int) -> None:
        for _ in range(n):
            await pacer.wait()

    asyncio.run(steady(2000))
    assert pacer.rate == 40
    assert pacer.burst == 4


def test_an_announced_rate_lowers_the_ceiling_and_never_raises_it() -> None:
    time = FakeTime()
    pacer = Pacer(50, burst=5, learn_rate=True, timing=time.timing)
    pacer.learn(20)
    assert pacer.rate == 20
    pacer.learn(500)
    assert pacer.rate == 20  # climbs from here, up to 50 at most
    asyncio.run(pacer.wait())
    time.now += 3600
    asyncio.run(pacer.wait())
    assert pacer.rate == 50


# -- against the sandbox -------------------------------------------------------------------


def test_an_apply_finds_the_servers_rate_and_ends_without_failures(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.seed(merchants=4, stores_per=0)
    box.admin("POST", "/_sandbox/rate_limit", {"rps": 20, "burst": 5})
    wire = Counting(box.app, announce=False)

    async def scenario() -> tuple[int, int, float | None, int]:
        async with WriteClient(box.settings(), transport=wire) as client:
            the_plan = plan(
                load_text(config(4, 10), "stores.yaml"),
                await client.read_live(),
                now=datetime.now(UTC),
            )
            report = await apply_plan(the_plan, client, parallelism=8)
            stores = await client.list_stores()
            return report.count("failed"), len(stores), client.pacer.lowest, client.pacer.cuts

    failed, stores, rate, cuts = run(scenario)
    assert failed == 0
    assert stores == 40
    # It started at its ceiling (100/s) and met 429s, which brought its pace down (it climbs
    # again while the server accepts, so the pace at the end says little).
    assert cuts >= 1
    assert rate is not None and rate < 100
    limited = box.stats()["rate_limited"]
    assert 0 < limited < 40  # found the rate rather than hammering through every write


def test_a_client_at_its_max_rate_stays_under_a_faster_server(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.seed(merchants=1, stores_per=0)
    box.admin("POST", "/_sandbox/rate_limit", {"rps": 40, "burst": 10})
    wire = Counting(box.app, announce=False)

    async def scenario() -> float | None:
        async with WriteClient(box.settings(rate_limit_rps=8), transport=wire) as client:
            cid = (await client.list_customers())[0].id
            await asyncio.gather(
                *(
                    client.create_store(cid, f"M001 US {i}", US, _store_settings())
                    for i in range(16)
                )
            )
            return client.pacer.rate

    assert run(scenario) == 8
    assert box.stats()["rate_limited"] == 0


def test_a_server_that_announces_its_rate_is_never_overrun(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.seed(merchants=1, stores_per=0)
    box.admin("POST", "/_sandbox/rate_limit", {"rps": 30, "burst": 10})

    async def scenario() -> float | None:
        async with WriteClient(box.settings(), transport=Counting(box.app)) as client:
            cid = (await client.list_customers())[0].id
            await asyncio.gather(
                *(
                    client.create_store(cid, f"M001 US {i}", US, _store_settings())
                    for i in range(30)
                )
            )
            return client.pacer.rate

    rate = run(scenario)
    assert rate is not None and rate <= 30
    assert box.stats()["rate_limited"] <= 2  # at most the odd one from scheduling jitter


def test_the_limiter_can_be_switched_off(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.seed(merchants=3, stores_per=2)

    async def scenario() -> float | None:
        async with ReadClient(
            box.settings(rate_limit_rps=None), transport=Counting(box.app)
        ) as client:
            await client.read_live()
            return client.pacer.rate

    assert run(scenario) is None


def test_pages_overlap_and_all_calls_share_one_concurrency_bound(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.seed(merchants=200, stores_per=5)  # 1,000 stores: 10 pages, and 2 of each other list
    wire = Counting(box.app)

    async def scenario() -> int:
        async with ReadClient(
            box.settings(rate_limit_rps=None, max_concurrency=8), transport=wire
        ) as client:
            return len((await client.read_live()).stores)

    assert run(scenario) == 1000
    assert wire.peak == 8


# -- reading one merchant ------------------------------------------------------------------


def test_a_merchant_read_asks_only_for_that_merchants_objects(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.seed(merchants=300, stores_per=3)  # /customers is 3 pages
    wire = Counting(box.app)

    async def scenario() -> Any:
        async with ReadClient(box.settings(rate_limit_rps=None), transport=wire) as client:
            return await client.read_live(["M007"])

    state = run(scenario)
    assert [c.company_name for c in state.customers] == ["M007"]
    assert {s.customer_id for s in state.stores} == {7}
    assert len(state.stores) == 3 and len(state.warehouses) == 1
    # The token, the customer lookup (3 pages), and one page of each of the merchant's lists
    # (its warehouses, stores, connections, and the pending and the expired requests).
    assert len(wire.asked) == 1 + 3 + 5
    lists = [a for a in wire.asked if not a.startswith(("POST", "GET /customers"))]
    assert all("customer_id=7" in a for a in lists if "authorization_requests" not in a)


def test_a_merchant_read_holds_the_same_objects_as_the_whole_account_filtered(
    tmp_path: Path,
) -> None:
    box = Box(tmp_path)
    box.seed(merchants=300, stores_per=2)

    async def scenario() -> tuple[Any, Any]:
        async with ReadClient(
            box.settings(rate_limit_rps=None), transport=Counting(box.app)
        ) as client:
            from dropstream_sync.client import only_merchants

            narrow = await client.read_live(["M005", "M250"])
            whole = only_merchants(await client.read_live(), ["M005", "M250"])
            return narrow, whole

    narrow, whole = run(scenario)
    assert narrow == whole
    assert len(narrow.stores) == 4


def test_many_merchants_are_read_as_the_whole_account(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.seed(merchants=30, stores_per=1)
    wire = Counting(box.app)

    async def scenario() -> Any:
        async with ReadClient(box.settings(rate_limit_rps=None), transport=wire) as client:
            return await client.read_live([f"M{m:03d}" for m in range(1, 26)])

    state = run(scenario)
    assert len(state.customers) == 25
    # The token and one page of each list (the requests twice: pending, expired).
    assert len(wire.asked) == 7


def _store_settings() -> Any:
    from dropstream_sync.desired import StoreSettings

    return StoreSettings()


# -- the ceiling on the command line -------------------------------------------------------


def _cli(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    import os
    import subprocess
    import sys

    (tmp / "stores.yaml").write_text(config(1, 1))
    return subprocess.run(
        [sys.executable, "-c", "from dropstream_sync.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp,
        env={**os.environ, **(env or {})},
    )


def test_max_rate_caps_the_client_from_the_option_or_the_environment(tmp_path: Path) -> None:
    by_option = _cli(tmp_path, "-vv", "plan", "--sandbox", "box", "--max-rate", "7", "stores.yaml")
    assert by_option.returncode == 0, by_option.stderr
    assert "pacing: at most 7 requests/s" in by_option.stderr

    by_env = _cli(
        tmp_path,
        "-vv",
        "plan",
        "--sandbox",
        "box",
        "stores.yaml",
        env={"DROPSTREAM_MAX_RATE": "2.5"},
    )
    assert "pacing: at most 2.5 requests/s" in by_env.stderr

    unpaced = _cli(tmp_path, "-vv", "plan", "--sandbox", "box", "stores.yaml")
    assert "pacing: off" in unpaced.stderr  # the in-process sandbox has no limit to find


# nan passed the range check (no comparison with it is true) and paced at "nan requests/s".
@pytest.mark.parametrize("value", ["0", "-3", "fast", "nan", "NaN"])
def test_a_max_rate_that_is_no_positive_number_is_refused(tmp_path: Path, value: str) -> None:
    result = _cli(tmp_path, "plan", "--sandbox", "box", "--max-rate", value, "stores.yaml")
    assert result.returncode == 1
    assert "Invalid value for '--max-rate'" in result.stderr
    assert "Traceback" not in result.stderr
