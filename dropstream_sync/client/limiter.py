"""Client-side pacing: a token bucket, and the clock/sleep it (and the back-off) run on.

Time is injected so that tests of limits and back-off run instantly on a fake clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


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
