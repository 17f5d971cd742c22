"""Measure every figure of quality.md's performance table, each as a ratio to its bound.

    python benchmarks/run.py            # full sizes (a few minutes on 2 cores)
    python benchmarks/run.py --smoke    # tiny sizes, for CI: checks the harness runs
    python benchmarks/run.py --write docs/benchmarks.md

A ratio <= 1.0 meets its target. The sandbox runs in this process (the same transport the
tool uses with --sandbox), seeded through its /_sandbox/seed control endpoint, or, for the
figures with latency, as a `sandbox serve` subprocess on a state seeded beforehand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
MARKETPLACES = [
    "ATVPDKIKX0DER",
    "A2EUQ1WTGCTBG2",
    "A1AM78C64UM0Y8",
    "A1F83G8C2ARO7P",
    "A1PA6795UKMFR9",
    "A13V1IB3VIYZZH",
    "A1VC38T7YXB528",
    "A39IBJ37TRP1C6",
]
CODES = ["US", "CA", "MX", "UK", "DE", "FR", "JP", "AU"]


@dataclass
class Row:
    figure: str
    measured: str
    bound: str
    ratio: float
    target: float | None  # None: reported beside its floor, with no target of its own

    @property
    def ok(self) -> bool:
        return self.target is None or self.ratio <= self.target


def seed_document(merchants: int, stores_per: int) -> dict[str, Any]:
    customers, warehouses, stores = [], [], []
    sid = 0
    for m in range(merchants):
        cid = m + 1
        customers.append({"id": cid, "company_name": f"Merchant {m:05d}"})
        warehouses.append(
            {
                "id": cid,
                "customer_id": cid,
                "description": f"Merchant {m:05d} Warehouse",
                "platform": "dropstream",
                "enabled_at": "2026-01-01T00:00:00Z",
            }
        )
        for s in range(stores_per):
            sid += 1
            stores.append(
                {
                    "id": sid,
                    "customer_id": cid,
                    "name": f"Merchant {m:05d} {CODES[s % 8]} {s}",
                    "platform": "amazon",
                    "enabled_at": None,
                    "adapter": {
                        "marketplace_id": MARKETPLACES[s % 8],
                        "fulfillment_channel": "MFN",
                        "import_order_statuses": ["Unshipped", "PartiallyShipped"],
                        "fulfillment_latency": None,
                        "fulfillment_channel_code": "DEFAULT",
                        "authorization": {
                            "status": "missing",
                            "selling_partner_id": None,
                            "authorized_at": None,
                            "expires_at": None,
                        },
                    },
                }
            )
    return {"customers": customers, "warehouses": warehouses, "stores": stores}


def config_for(merchants: int, stores_per: int) -> dict[str, Any]:
    return {
        "version": 1,
        "merchants": [
            {
                "name": f"Merchant {m:05d}",
                "stores": [
                    {"name": f"Merchant {m:05d} {CODES[s % 8]} {s}", "marketplace": CODES[s % 8]}
                    for s in range(stores_per)
                ],
            }
            for m in range(merchants)
        ],
    }


class Sandbox:
    def __init__(self, state: Path, **options: Any) -> None:
        from dropstream_sync.sandbox import create_app, inprocess_transport

        self.app = create_app(state, **options)
        self.transport = inprocess_transport(self.app)
        info = self.app.sandbox_info
        self.username, self.password, self.admin_key = (
            info.username,
            info.password,
            info.admin_key,
        )
        self.admin = httpx.AsyncClient(
            transport=self.transport,
            base_url="http://sandbox.local",
            headers={"X-Sandbox-Admin": self.admin_key},
            timeout=600,
        )

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.admin.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def client(self, write: bool = False, *, paced: bool = False) -> Any:
        """A client set up as `--sandbox` sets it up (no client-side limiter), or with
        `paced`, as against a real server (default limiter, learning the announced rate)."""
        from dropstream_sync.client import (
            BasicCredentials,
            ClientSettings,
            Limits,
            ReadClient,
            Secret,
            WriteClient,
        )

        limits = Limits() if paced else Limits(rate_limit_rps=None)
        settings = ClientSettings(
            "http://sandbox.local", BasicCredentials(self.username, Secret(self.password)), limits
        )
        cls = WriteClient if write else ReadClient
        return cls(settings, transport=self.transport)


LISTS: tuple[tuple[str, dict[str, str | int]], ...] = (
    ("/customers", {}),
    ("/warehouses", {}),
    ("/stores", {"platform": "amazon"}),
    ("/connections", {}),
    ("/authorization_requests", {"status": "pending"}),
    ("/authorization_requests", {"status": "expired"}),
)


async def _token(h: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await h.post(
        "/auth/token", auth=(username, password), json={"grant_type": "client_credentials"}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def bare_read(sandbox: Sandbox) -> int:
    """The lower bound of a plan's reads: the same pages through the same transport, each
    decoded from JSON, and no models built."""
    async with httpx.AsyncClient(transport=sandbox.transport, base_url="http://sandbox.local") as h:
        headers = await _token(h, sandbox.username, sandbox.password)
        pages = 0
        for path, params in LISTS:
            query = {**params, "per_page": 100, "page": 1}
            first = await h.get(path, params=query, headers=headers)
            total = int(first.headers.get("X-Total-Count", "0"))
            count = max(1, math.ceil(total / 100))
            pages += count
            first.json()
            rest = [
                h.get(path, params={**params, "per_page": 100, "page": p}, headers=headers)
                for p in range(2, count + 1)
            ]
            for i in range(0, len(rest), 4):
                # A read decodes what it fetched; building models and planning is the rest.
                for response in await asyncio.gather(*rest[i : i + 4]):
                    response.json()
        return pages


async def sequential_read(url: str, username: str, password: str) -> int:
    """The same pages read one after another over HTTP: what pages that overlap beat."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as h:
        headers = await _token(h, username, password)
        requests = 1
        for path, params in LISTS:
            page = 1
            while True:
                response = await h.get(
                    path, params={**params, "per_page": 100, "page": page}, headers=headers
                )
                requests += 1
                items = response.json()
                total = int(response.headers.get("X-Total-Count", "0"))
                if not items or page * 100 >= total:
                    break
                page += 1
        return requests


def median(values: list[float]) -> float:
    return statistics.median(values)


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = await fn()
    return time.perf_counter() - start, value


async def seed(sandbox: Sandbox, document: dict[str, Any]) -> None:
    await sandbox.control("POST", "/_sandbox/seed", {"username": sandbox.username, **document})


async def plan_against_bare(sandbox: Sandbox, desired: Any, repeats: int) -> tuple[float, float]:
    """Medians of the bare read and of the in-process plan (the client's read and `plan()`,
    each with the collector paused, as the sync client's read and `workflows` pause it),
    taken in turns."""
    from dropstream_sync.heap import collector_paused
    from dropstream_sync.planner import plan

    async def full() -> Any:
        fresh = sandbox.client()
        with collector_paused():
            state = await fresh.read_live(sorted(desired.merchant_names()))
        await fresh.aclose()
        with collector_paused():
            return plan(desired, state, now=datetime.now(UTC))

    bare_times, plan_times = [], []
    for _ in range(repeats):
        t_bare, _pages = await timed(lambda: bare_read(sandbox))
        t_plan, _plan = await timed(full)
        bare_times.append(t_bare)
        plan_times.append(t_plan)
    return median(bare_times), median(plan_times)


async def plan_figures(merchants: int, stores_per: int, repeats: int) -> list[Row]:
    from dropstream_sync.config import load

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp) / "state")
        doc = seed_document(merchants, stores_per)
        await seed(sandbox, doc)
        cfg = Path(tmp) / "stores.json.yaml"
        cfg.write_text(json.dumps(config_for(merchants, stores_per)))
        desired = load([cfg]).desired

        before = await sandbox.control("GET", "/_sandbox/stats")
        client = sandbox.client()
        await client.read_live()
        after = await sandbox.control("GET", "/_sandbox/stats")
        requests = after["total_requests"] - before["total_requests"] - 1  # the second stats call
        await client.aclose()
        n = len(doc["stores"])
        # Six lists: customers, warehouses, stores, connections, pending and expired requests.
        bound = 1 + sum(max(1, math.ceil(k / 100)) for k in (merchants, merchants, n, 0, 0, 0))
        rows.append(
            Row(
                f"requests for a plan of {n} stores",
                f"{requests}",
                f"{bound} (pages at per_page=100 + token)",
                requests / bound,
                1.0,
            )
        )

        b, p = await plan_against_bare(sandbox, desired, repeats)
        rows.append(
            Row(
                f"plan wall time, {n} stores / {merchants} merchants, in-process "
                f"(median of {repeats})",
                f"{p:.2f} s",
                f"bare read {b:.2f} s",
                p / b / 1.25,
                1.0,
            )
        )
    return rows


async def _seeded_plan_times(merchants: int, stores_per: int, repeats: int) -> float:
    from dropstream_sync.config import load

    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp) / "state")
        await seed(sandbox, seed_document(merchants, stores_per))
        cfg = Path(tmp) / "stores.json.yaml"
        cfg.write_text(json.dumps(config_for(merchants, stores_per)))
        desired = load([cfg]).desired
        _bare, p = await plan_against_bare(sandbox, desired, repeats)
        await sandbox.admin.aclose()
    return p


async def growth_figure(small: int, big: int, stores_per: int, repeats: int) -> Row:
    """How the in-process plan's wall time grows from `small` to `big` merchants: the
    exponent k of time ~ size^k (1.0 is linear)."""
    t_small = await _seeded_plan_times(small, stores_per, repeats)
    t_big = await _seeded_plan_times(big, stores_per, repeats)
    exponent = math.log(t_big / t_small) / math.log(big / small)
    return Row(
        f"growth of plan cost, {small * stores_per} -> {big * stores_per} stores, in-process "
        f"(median of {repeats} each)",
        f"exponent {exponent:.2f} ({t_small:.2f} s -> {t_big:.2f} s)",
        "exponent 1.05",
        exponent / 1.05,
        1.0,
    )


BARE_READ_PROCESS = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, {benchmarks!r})
import run
asyncio.run(run.bare_read(run.Sandbox(Path({state!r}))))
"""


def cli_plan_figure(merchants: int, stores_per: int, repeats: int) -> Row:
    """A whole `dropstream-sync plan --sandbox` (start-up, config load, read, plan, output)
    against a fresh process that opens the same sandbox state and does the bare read.
    Reported, with no target of its own: what a user waits for, beside its floor."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        asyncio.run(seeded_state(state, seed_document(merchants, stores_per)))
        cfg = Path(tmp) / "stores.yaml"
        cfg.write_text(json.dumps(config_for(merchants, stores_per)))
        t = _median_run([*CLI, "plan", "--sandbox", str(state), str(cfg)], repeats)
        code = BARE_READ_PROCESS.format(benchmarks=str(ROOT / "benchmarks"), state=str(state))
        bare = _median_run([sys.executable, "-c", code], repeats)
    return Row(
        f"CLI plan, {merchants * stores_per} stores, config load included, fresh process "
        f"(median of {repeats})",
        f"{t:.2f} s",
        f"bare read in a fresh process {bare:.2f} s",
        t / bare,
        None,
    )


async def report_figures(merchants: int, stores_per: int, repeats: int) -> list[Row]:
    """`report` against `plan` on the same seeded account: the requests each sends, and
    the wall time of each whole command's work (reads, plan, and for the report its model
    and HTML page), the median of `repeats`. Target: the plan's requests (its read holds the
    expired invitations), and at most 1.3 x the plan's time."""
    from dropstream_sync.config import load
    from dropstream_sync.heap import collector_paused
    from dropstream_sync.planner import plan
    from dropstream_sync.report import build_report, render_html

    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp) / "state")
        doc = seed_document(merchants, stores_per)
        await sandbox.control("POST", "/_sandbox/seed", {"username": sandbox.username, **doc})
        cfg = Path(tmp) / "stores.json.yaml"
        cfg.write_text(json.dumps(config_for(merchants, stores_per)))
        desired = load([cfg]).desired
        n = len(doc["stores"])

        # The collector paused as the tool pauses it: around the read (the sync client), the
        # plan and the report (workflows).
        async def run_plan() -> int:
            client = sandbox.client()
            with collector_paused():
                state = await client.read_live()
            with collector_paused():
                plan(desired, state, now=datetime.now(UTC))
            sent: int = client.requests_sent
            await client.aclose()
            return sent

        async def run_report() -> int:
            client = sandbox.client()
            with collector_paused():
                state = await client.read_live()
            now = datetime.now(UTC)
            with collector_paused():
                made = plan(desired, state, now=now)
            with collector_paused():
                render_html(build_report(made, state, now))
            sent: int = client.requests_sent
            await client.aclose()
            return sent

        plan_times, report_times = [], []
        plan_requests = report_requests = 0
        for _ in range(repeats):
            t_plan, plan_requests = await timed(run_plan)
            t_report, report_requests = await timed(run_report)
            plan_times.append(t_plan)
            report_times.append(t_report)
        p, r = median(plan_times), median(report_times)
        return [
            Row(
                f"requests for a report of {n} stores",
                f"{report_requests}",
                f"plan's {plan_requests} (expired invitations are in its read)",
                report_requests / plan_requests,
                1.0,
            ),
            Row(
                f"report wall time (HTML), {n} stores",
                f"{r:.2f} s",
                f"plan {p:.2f} s",
                r / p / 1.3,
                1.0,
            ),
        ]


class Served:
    """`dropstream-sync sandbox serve` in a subprocess, on a state seeded beforehand."""

    def __init__(self, state: Path, *args: str) -> None:
        self.state = state
        self.process = subprocess.Popen(
            [*CLI, "sandbox", "serve", "--port", "0", "--state", str(state), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        info = state / "sandbox.json"
        deadline = time.monotonic() + 60
        while not info.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the served sandbox did not start: "
                    + (self.process.stderr.read().decode() if self.process.stderr else "")
                )
            time.sleep(0.05)
        record = json.loads(info.read_text())
        self.url, self.username, self.password = (
            record["url"],
            record["username"],
            record["password"],
        )

    def client(self) -> Any:
        """A client as against a real server: the default limits (paced, finding the rate)."""
        from dropstream_sync.client import BasicCredentials, ClientSettings, ReadClient, Secret

        return ReadClient(
            ClientSettings(self.url, BasicCredentials(self.username, Secret(self.password)))
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def seeded_state(state: Path, document: dict[str, Any]) -> None:
    sandbox = Sandbox(state)
    await seed(sandbox, document)
    await sandbox.admin.aclose()


async def served_figures(
    merchants: int, stores_per: int, latency_ms: int, repeats: int
) -> list[Row]:
    from dropstream_sync.config import load
    from dropstream_sync.planner import plan

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        await seeded_state(state, seed_document(merchants, stores_per))
        cfg = Path(tmp) / "stores.yaml"
        cfg.write_text(json.dumps(config_for(merchants, stores_per)))
        desired = load([cfg]).desired
        served = Served(state, "--latency-ms", str(latency_ms))
        try:
            seq_times, plan_times = [], []
            for _ in range(repeats):
                t_seq, pages = await timed(
                    lambda: sequential_read(served.url, served.username, served.password)
                )

                async def full() -> Any:
                    client = served.client()
                    state = await client.read_live(sorted(desired.merchant_names()))
                    await client.aclose()
                    return plan(desired, state, now=datetime.now(UTC))

                t_plan, _ = await timed(full)
                seq_times.append(t_seq)
                plan_times.append(t_plan)
            s, p = median(seq_times), median(plan_times)
            n = merchants * stores_per
            rows.append(
                Row(
                    f"plan wall time, {n} stores, served sandbox, {latency_ms} ms latency "
                    f"(median of {repeats})",
                    f"{p:.2f} s",
                    f"sequential bare read {s:.2f} s ({pages} requests)",
                    p / s / 0.35,
                    1.0,
                )
            )

            one = "Merchant 00007"
            client = served.client()
            state_of_one = await client.read_live([one])
            sent = client.requests_sent
            await client.aclose()
            customer_pages = max(1, math.ceil(merchants / 100))
            # Its stores, connections and warehouses, and the pending and expired lists.
            own_pages = 3 + 2
            bound = 1 + customer_pages + own_pages
            rows.append(
                Row(
                    f"`plan --merchant` of one merchant ({len(state_of_one.stores)} stores) in {n}",
                    f"{sent} requests",
                    f"{bound} (token + /customers {customer_pages} pages + its {own_pages} pages)",
                    sent / bound,
                    1.0,
                )
            )
        finally:
            served.stop()
    return rows


async def refresh_figure(stores: int, latency_ms: int) -> Row:
    """A Terraform-style refresh (a GET per store and per connection, 10 in flight) against
    the plan's paginated read, on the same served sandbox."""
    from dropstream_sync.config import load
    from dropstream_sync.planner import plan

    merchants = max(1, stores // 10)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        document = seed_document(merchants, stores // merchants)
        document["connections"] = [
            {
                "customer_id": s["customer_id"],
                "warehouse_id": s["customer_id"],
                "store_id": s["id"],
                "name": s["name"],
            }
            for s in document["stores"]
        ]
        await seeded_state(state, document)
        cfg = Path(tmp) / "stores.yaml"
        cfg.write_text(json.dumps(config_for(merchants, stores // merchants)))
        desired = load([cfg]).desired
        served = Served(state, "--latency-ms", str(latency_ms))
        try:

            async def refresh() -> int:
                async with httpx.AsyncClient(base_url=served.url, timeout=60) as h:
                    headers = await _token(h, served.username, served.password)
                    gate = asyncio.Semaphore(10)
                    paths = [f"/stores/{s['id']}" for s in document["stores"]] + [
                        f"/connections/{i}" for i in range(1, len(document["connections"]) + 1)
                    ]

                    async def one(path: str) -> None:
                        async with gate:
                            (await h.get(path, headers=headers)).json()

                    await asyncio.gather(*(one(p) for p in paths))
                    return 1 + len(paths)

            async def full() -> int:
                client = served.client()
                live = await client.read_live(sorted(desired.merchant_names()))
                plan(desired, live, now=datetime.now(UTC))
                sent: int = client.requests_sent
                await client.aclose()
                return sent

            t_refresh, refresh_requests = await timed(refresh)
            t_plan, plan_requests = await timed(full)
        finally:
            served.stop()
    return Row(
        f"plan against a Terraform-style refresh, {stores} stores, {latency_ms} ms latency",
        f"plan {t_plan:.2f} s, {plan_requests} requests",
        f"refresh {t_refresh:.2f} s, {refresh_requests} requests (10 in flight)",
        t_plan / t_refresh,
        1.0,
    )


def memory_figure(merchants: int, stores_per: int) -> Row:
    """Peak RSS of a CLI `plan` alone, on a state seeded by another process beforehand."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        asyncio.run(seeded_state(state, seed_document(merchants, stores_per)))
        cfg = Path(tmp) / "stores.yaml"
        cfg.write_text(json.dumps(config_for(merchants, stores_per)))
        # A wrapper whose only child is the CLI, so RUSAGE_CHILDREN is that plan's peak.
        code = (
            "import resource, subprocess, sys\n"
            f"subprocess.run({[*CLI, 'plan', '--sandbox', str(state), str(cfg)]!r}, "
            "stdout=subprocess.DEVNULL, check=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
    rss_mb = int(out.stdout.strip().splitlines()[-1]) / 1024
    n = merchants * stores_per
    return Row(
        f"CLI plan peak memory, {n} stores, pre-seeded state",
        f"{rss_mb:.0f} MB",
        "250 MB",
        rss_mb / 250,
        1.0,
    )


class NoRateHeader(httpx.AsyncBaseTransport):
    """The sandbox as a server that announces nothing: the client must find the rate."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        response.headers.pop("x-amzn-RateLimit-Limit", None)
        return response


async def apply_figure(changes: int, rps: float, burst: int, announce: bool) -> Row:
    from dropstream_sync.apply import apply_plan
    from dropstream_sync.client import BasicCredentials, ClientSettings, Secret, WriteClient
    from dropstream_sync.config import load
    from dropstream_sync.planner import plan

    merchants = max(1, changes // 50)
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp) / "state")
        # Customers exist already, so every change is a create_store: one write each.
        await seed(sandbox, seed_document(merchants, 0))
        cfg = Path(tmp) / "stores.yaml"
        cfg.write_text(json.dumps(config_for(merchants, changes // merchants)))
        desired = load([cfg]).desired
        transport = sandbox.transport if announce else NoRateHeader(sandbox.transport)
        # The default client, as against a real server.
        client = WriteClient(
            ClientSettings(
                "http://sandbox.local", BasicCredentials(sandbox.username, Secret(sandbox.password))
            ),
            transport=transport,
        )
        the_plan = plan(desired, await client.read_live(), now=datetime.now(UTC))
        writes = len(the_plan.changes)
        await sandbox.control("POST", "/_sandbox/rate_limit", {"rps": rps, "burst": burst})
        before = await sandbox.control("GET", "/_sandbox/stats")
        t, report = await timed(lambda: apply_plan(the_plan, client, parallelism=8))
        after = await sandbox.control("GET", "/_sandbox/stats")
        failed = report.count("failed")
        limited = after["rate_limited"] - before["rate_limited"]
        rate, cuts = client.pacer.rate, client.pacer.cuts
        await client.aclose()
    bound = writes / rps
    header = "rate announced" if announce else "no rate header"
    return Row(
        f"apply of {writes} changes at {rps:g} req/s, burst {burst}, {header}",
        f"{t:.1f} s, {failed} failed, {limited} 429s honoured ({cuts} cuts, "
        f"ending at {rate:.0f} req/s)"
        if rate is not None
        else f"{t:.1f} s",
        f"{bound:.1f} s (writes / rate)",
        t / bound / 1.15 if not failed else 99.0,
        1.0,
    )


def _median_run(args: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return median(times)


def validate_figure(stores: int) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        import yaml

        path = Path(tmp) / "stores.yaml"
        path.write_text(
            "version: 1\n"
            + yaml.safe_dump({"merchants": config_for(max(1, stores // 10), 10)["merchants"]})
        )
        t = _median_run([*CLI, "validate", str(path)], 3)
        bare = _median_run(
            [
                sys.executable,
                "-c",
                "import yaml, sys; yaml.load(open(sys.argv[1]), Loader=yaml.CSafeLoader)",
                str(path),
            ],
            3,
        )
    return Row(
        f"validate of a {stores}-store file (median of 3)",
        f"{t:.2f} s",
        f"python + yaml.load, C loader: {bare:.2f} s",
        t / bare / 1.5,
        1.0,
    )


def help_figure() -> Row:
    t = _median_run(["dropstream-sync", "--help"])
    bare = _median_run([sys.executable, "-c", "import click"])
    return Row(
        "dropstream-sync --help (median of 5)",
        f"{t * 1000:.0f} ms",
        f"python -c 'import click': {bare * 1000:.0f} ms",
        t / bare / 1.2,
        1.0,
    )


NOTES = """## Reading the figures
Every figure is a ratio measured in this one run: the measured value over its bound times the
allowance quality.md gives it; at most 1.00 meets the target. Times are medians where the row
says so (single runs otherwise: an apply of 1,000 writes is its own average).

- **Requests for a plan**: one paginated read per list at `per_page=100` plus the token, counted
  by the sandbox's own stats; nothing is read per store.
- **Plan wall time, in-process** is `read_live` (six paginated reads: five lists, the
  authorization requests once pending and once expired; decoded into models) plus the pure
  `plan()`, against the bare read: the same pages fetched and decoded through the same
  in-process transport, no models. The gap is the client's model building and the planner's
  own cost (issue 18.4). The collector is paused around the read and around `plan()`, as
  the tool's sync client and workflows pause it; the plan's live fingerprint is worked out
  when something asks for it (a saved plan, JSON or markdown output, apply), so a plan that
  is only shown, as here, does not pay for it.
- **Growth of plan cost** is the same in-process plan at 10,000 and at 100,000 stores (10
  per merchant), each a median: the exponent k of time ~ stores^k, 1.0 being linear.
- **CLI plan, fresh process** is a whole `dropstream-sync plan --sandbox` run (interpreter
  start, imports, config load, read, plan, text output) beside a fresh process that only
  opens the same sandbox state and does the bare read. It has no target of its own: it is
  what a user waits for, next to its floor.
- **Plan wall time, served** runs a `sandbox serve` subprocess with 50 ms of latency added to
  every request and the default client (paced, 8 requests in flight, finding the rate); the
  bound is the same pages read one after another over HTTP. What it shows is that pages
  overlap and that nothing paces reads below what the server allows.
- **`plan --merchant`** counts every request the client sent for one merchant of the account:
  the token, the customer lookup (a read of /customers), then that merchant's own lists, read
  with `customer_id=` filters, and the pending and expired requests (each the account's list
  of that status when it is no longer than one read per store, as here).
- **Terraform-style refresh**: a GET per store and per connection, 10 in flight, against the
  plan's paginated read of the same 1,000 stores and connections. The ratio is plan / refresh.
- **CLI plan peak memory** is the RSS high-water mark of a `dropstream-sync plan --sandbox`
  process alone (measured by a wrapper whose only child it is), on a state seeded beforehand
  by another process.
- **Apply** runs the default client against the in-process sandbox limited per login. With
  the rate announced (`x-amzn-RateLimit-Limit`, which the sandbox sends) the client never goes
  faster and its burst stays under the server's; with no header it starts at its ceiling
  (100 req/s) and finds the rate from the 429s: each is waited out for `Retry-After` by the
  request it answered and lowers the pace of all (the count of 429s and cuts is in the row).
  At 100 req/s without a header the ceiling and the server's rate coincide, so that row shows
  the ceiling holding rather than the search.
- **validate** and **--help** are fresh processes against the same interpreter doing only the
  unavoidable part (loading the YAML with the C loader; importing click).
"""

# The section after the table that says why a figure misses is written by hand after a run
# and kept by --write (from this heading to the end of the file).
MISSES_HEADING = "## Where a figure misses"


def kept_misses(path: Path) -> str:
    """The hand-written section of `path` that --write keeps, or a placeholder."""
    try:
        text = path.read_text()
    except OSError:
        text = ""
    at = text.find(MISSES_HEADING)
    if at < 0:
        return f"\n{MISSES_HEADING} (this run)\n- (to be written after the run)\n"
    return "\n" + text[at:]


def table(rows: list[Row]) -> str:
    lines = ["| figure | measured | bound | ratio to target | meets |", "|---|---|---|---|---|"]
    for r in rows:
        if r.target is None:
            lines.append(
                f"| {r.figure} | {r.measured} | {r.bound} | {r.ratio:.2f} x its floor | "
                "(no target) |"
            )
            continue
        lines.append(
            f"| {r.figure} | {r.measured} | {r.bound} | {r.ratio:.2f} | "
            f"{'yes' if r.ok else '**no**'} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; no targets checked")
    parser.add_argument("--write", metavar="FILE", help="write the table to FILE (markdown)")
    args = parser.parse_args()
    if args.smoke:
        sizes: dict[str, Any] = dict(
            merchants=10,
            growth_merchants=20,
            stores_per=5,
            repeats=1,
            served_merchants=20,
            served_per=5,
            latency=5,
            refresh_stores=20,
            refresh_latency=2,
            mem_merchants=10,
            mem_per=5,
            applies=[(20, 50, 10, True), (20, 100, 10, False), (10, 20, 10, False)],
            validate=100,
        )
    else:
        sizes = dict(
            merchants=1000,
            growth_merchants=10000,
            stores_per=10,
            repeats=5,
            served_merchants=1000,
            served_per=10,
            latency=50,
            refresh_stores=1000,
            refresh_latency=20,
            mem_merchants=5000,
            mem_per=10,
            applies=[(1000, 50, 10, True), (1000, 100, 10, False), (1000, 10, 10, False)],
            validate=10000,
        )
    rows = asyncio.run(plan_figures(sizes["merchants"], sizes["stores_per"], sizes["repeats"]))
    rows.append(
        asyncio.run(
            growth_figure(
                sizes["merchants"], sizes["growth_merchants"], sizes["stores_per"], sizes["repeats"]
            )
        )
    )
    rows.append(cli_plan_figure(sizes["merchants"], sizes["stores_per"], 3))
    rows += asyncio.run(report_figures(sizes["merchants"], sizes["stores_per"], sizes["repeats"]))
    rows += asyncio.run(
        served_figures(sizes["served_merchants"], sizes["served_per"], sizes["latency"], 3)
    )
    rows.append(asyncio.run(refresh_figure(sizes["refresh_stores"], sizes["refresh_latency"])))
    rows.append(memory_figure(sizes["mem_merchants"], sizes["mem_per"]))
    for changes, rps, burst, announce in sizes["applies"]:
        rows.append(asyncio.run(apply_figure(changes, rps, burst, announce)))
    rows.append(validate_figure(sizes["validate"]))
    rows.append(help_figure())
    text = table(rows)
    print(text)
    if args.write:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        Path(args.write).write_text(
            "# Benchmarks\n\nThe latest run of `python benchmarks/run.py` "
            f"({stamp}).\n\nMachine: {machine()}.\n\nA ratio is measured / (bound x allowance); "
            "at most 1.00 meets the target (the project's targets).\n\n"
            + text
            + "\n\n"
            + NOTES
            + kept_misses(Path(args.write))
        )
    return 0 if args.smoke or all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
