"""Per-app runtime knobs: injected faults, the per-login token bucket, and request stats.

These live in memory, per app (per process): they are test configuration, not account state, so
two apps sharing a state folder can run with different faults. The rate limiter uses real
monotonic time, not the sandbox clock: it models throughput, which the clock does not change.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("500", "502", "503", "drop")


@dataclass
class FaultDecision:
    kind: str  # one of FAULT_KINDS
    after_commit: bool


class Faults:
    """Decides, per API request, whether and how it fails. Seeded for reproducible runs."""

    def __init__(
        self, rate: float = 0.0, after_commit_share: float = 0.0, latency_ms: int = 0,
        seed: int | None = None,
    ) -> None:  # fmt: skip
        self._lock = threading.Lock()
        self.configure(rate, after_commit_share, latency_ms, seed)

    def configure(
        self, rate: float, after_commit_share: float, latency_ms: int, seed: int | None
    ) -> None:
        with self._lock:
            self.rate = rate
            self.after_commit_share = after_commit_share
            self.latency_ms = latency_ms
            self.seed = seed
            self._rng = random.Random(seed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "after_commit_share": self.after_commit_share,
            "latency_ms": self.latency_ms,
            "seed": self.seed,
        }

    def decide(self, is_write: bool) -> FaultDecision | None:
        if self.rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(FAULT_KINDS)
            # Reads have nothing to commit; an "after commit" read fault is just a fault.
            after = is_write and self._rng.random() < self.after_commit_share
        return FaultDecision(kind, after)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per login: `rps` tokens per second, at most `burst` saved up."""

    def __init__(self, rps: float = 0.0, burst: int | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(rps, burst)

    def configure(self, rps: float, burst: int | None) -> None:
        with self._lock:
            self.rps = rps
            self.burst = burst if burst is not None else max(1, math.ceil(rps))
            self._buckets: dict[int, _Bucket] = {}

    def as_dict(self) -> dict[str, Any]:
        return {"rps": self.rps, "burst": self.burst}

    def acquire(self, account_id: int) -> int | None:
        """None when the request may go ahead, else the seconds to wait (at least 1)."""
        if self.rps <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(account_id)
            if bucket is None:
                bucket = self._buckets[account_id] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rps)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / self.rps))


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    faults: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "total_requests": sum(self.requests.values()),
                "rate_limited": self.rate_limited,
                "faults": self.faults,
            }

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.rate_limited = 0
            self.faults = 0
