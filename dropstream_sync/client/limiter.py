"""Client-side pacing: a token bucket, and the clock/sleep it (and the back-off) run on.

Time is injected so that tests of limits and back-off run instantly on a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

log = logging.getLogger("dropstream_sync.client")


@dataclass(slots=True)
class Timing:
    """The monotonic clock and the sleep used by the limiter and the retries."""

    clock: Clock = time.monotonic
    sleep: Sleep = field(default=asyncio.sleep)


class TokenBucket:
    """`rate` requests per second on average, up to `burst` at once.

    Each caller reserves its token under a lock and then sleeps outside it, so waiters are
    served in arrival order and the lock is never held across a sleep.
    """

    def __init__(self, rate: float, burst: int, timing: Timing) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self._timing = timing
        self._tokens = float(burst)
        self._last = timing.clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._timing.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            await self._timing.sleep(wait)

    def set_rate(self, rate: float) -> None:
        """Change the sustained rate (tokens saved so far are kept, at the old rate)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        now = self._timing.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self.rate = rate

    def drain(self) -> None:
        """Forget the saved-up burst: after a 429 the server's bucket is empty too."""
        self._tokens = min(self._tokens, 0.0)
        self._last = self._timing.clock()


class Pacer:
    """When the next request may go: the client's bucket, the server's announced rate, and
    the cool-down a 429 asks for (shared by every call: the server's bucket is per login)."""

    def __init__(self, rate: float | None, burst: int, learn_rate: bool, timing: Timing) -> None:
        self._timing = timing
        self._bucket = TokenBucket(rate, burst, timing) if rate is not None else None
        self._learn = learn_rate
        self._cooldown_until = 0.0

    async def wait(self) -> None:
        wait = self._cooldown_until - self._timing.clock()
        if wait > 0:
            await self._timing.sleep(wait)
        if self._bucket is not None:
            await self._bucket.acquire()

    def learn(self, rate: float | None) -> None:
        """Pace at the rate a server announced (if it did, and learning is on)."""
        if self._bucket is None or not self._learn or rate is None or rate == self._bucket.rate:
            return
        log.debug("pacing at the server's rate: %.3g requests/s", rate)
        self._bucket.set_rate(rate)

    def cool_down(self, seconds: float) -> None:
        self._cooldown_until = max(self._cooldown_until, self._timing.clock() + seconds)
        if self._bucket is not None:
            self._bucket.drain()
