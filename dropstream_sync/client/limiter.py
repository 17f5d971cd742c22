"""Client-side pacing: a token bucket whose rate follows the server, and the clock/sleep it
(and the back-off) run on.

The API promises only that a 429 comes with `Retry-After`; a rate header is best effort
(docs/api-model.md). So the pace is found, not guessed, the way TCP finds a link's capacity:
start at the ceiling (or at the rate the server announces, if lower), cut rate and burst on a
429 (once per round trip: the 429s of requests sent before the cut are the same overload),
and climb back additively while the server accepts. The ceiling (`--max-rate`) is never
exceeded. A 429's `Retry-After` is waited by the request it answered, not by every call:
the cut already slows the others down.

Time is injected so that tests of limits and back-off run instantly on a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

log = logging.getLogger("dropstream_sync.client")

# A cut keeps this share of the rate.
_DECREASE: Final = 0.85
# While the server accepts, the rate climbs by this share of itself per second (at least
# _MIN_CLIMB req/s per second), and the burst by one token every _BURST_CLIMB seconds.
_CLIMB: Final = 0.10
_MIN_CLIMB: Final = 0.5
_BURST_CLIMB: Final = 2.0
_FLOOR: Final = 0.1  # requests per second: below this a 429 is answered by Retry-After alone
# A cut never goes below what the server was seen to accept over the last _WINDOW seconds
# (a little under it, for the burst it may have spent), and always cuts at least _LEAST.
_WINDOW: Final = 2.0
_ACCEPTED_SHARE: Final = 0.97
_LEAST: Final = 0.95


@dataclass(slots=True)
class Timing:
    """The monotonic clock and the sleep used by the limiter and the retries."""

    clock: Clock = time.monotonic
    sleep: Sleep = field(default=asyncio.sleep)


class TokenBucket:
    """`rate` requests per second on average, up to `burst` at once.

    A caller takes a token when one is there, else sleeps until one should be and looks
    again: a waiter does not keep a place reserved at the old pace when the rate is cut,
    so a cut slows down at once the requests already waiting (and the lock is never held
    across a sleep).
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
        while True:
            async with self._lock:
                self._refill(self._timing.clock())
                # (less a rounding error, which a clock cannot advance past)
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                wait = (1.0 - self._tokens) / self.rate
            await self._timing.sleep(wait)

    def set(self, rate: float, burst: float | None = None) -> None:
        """Change the sustained rate (tokens saved so far are kept, at the old rate) and,
        if given, the burst."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._refill(self._timing.clock())
        self.rate = rate
        if burst is not None:
            self.burst = max(1.0, burst)
            self._tokens = min(self._tokens, self.burst)

    def drain(self) -> None:
        """Forget the saved-up burst: after a 429 the server's bucket is empty too."""
        self._refill(self._timing.clock())
        self._tokens = min(self._tokens, 0.0)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now


class Pacer:
    """When the next request may go, for every call of one client (the server's bucket is
    per login). `ceiling=None` turns pacing off: then a 429 only delays its own request.

    `wait()` returns the round the request is sent in; `accepted()` and `refused(round)`
    report how the server answered it.
    """

    def __init__(self, ceiling: float | None, burst: int, learn_rate: bool, timing: Timing) -> None:
        self._timing = timing
        self.ceiling = ceiling
        self._max_burst = float(burst)
        self._bucket = TokenBucket(ceiling, burst, timing) if ceiling is not None else None
        self._learn = learn_rate
        self._announced: float | None = None
        self._round = 0
        self._last_climb = self._started = timing.clock()
        self._accepted: deque[float] = deque()
        self.cuts = 0  # how often a 429 lowered the pace (observable, for tests and -v)
        self.lowest: float | None = None  # the lowest pace a 429 brought it to

    @property
    def rate(self) -> float | None:
        """The pace now, in requests per second (None: not paced)."""
        return None if self._bucket is None else self._bucket.rate

    @property
    def burst(self) -> float | None:
        return None if self._bucket is None else self._bucket.burst

    def _limit(self) -> float:
        assert self.ceiling is not None
        if self._announced is None:
            return self.ceiling
        return min(self.ceiling, self._announced)

    async def wait(self) -> int:
        # The round is the one the token is reserved in: a request that then sleeps across a
        # cut was scheduled at the old pace, and its 429 is part of the old overload.
        sent_in = self._round
        if self._bucket is not None:
            self._climb()
            await self._bucket.acquire()
        return sent_in

    def learn(self, rate: float | None) -> None:
        """Never faster than a rate the server announced (if it did, and learning is on)."""
        if self._bucket is None or not self._learn or rate is None or rate == self._announced:
            return
        log.debug("the server announces %.3g requests/s", rate)
        self._announced = rate
        if self._bucket.rate > self._limit():
            self._bucket.set(self._limit())

    def accepted(self) -> None:
        """The server answered a request (with anything but a 429)."""
        if self._bucket is None:
            return
        now = self._timing.clock()
        self._accepted.append(now)
        while self._accepted and self._accepted[0] < now - _WINDOW:
            self._accepted.popleft()

    def refused(self, sent_in: int) -> None:
        """A 429 answered a request sent in round `sent_in`."""
        if self._bucket is None:
            return
        self._bucket.drain()
        if sent_in != self._round:
            return  # sent before the last cut: the same overload, already answered
        now = self._timing.clock()
        factor = _DECREASE
        current = self._bucket.rate
        rate = current * factor
        if now - self._started >= _WINDOW:
            seen = sum(1 for t in self._accepted if t >= now - _WINDOW) / _WINDOW
            rate = min(current * _LEAST, max(rate, seen * _ACCEPTED_SHARE))
        rate = max(min(_FLOOR, self._limit()), rate)
        burst = max(1.0, self._bucket.burst / 2)
        self._bucket.set(rate, burst)
        self._round += 1
        self.cuts += 1
        self.lowest = rate if self.lowest is None else min(self.lowest, rate)
        self._last_climb = now
        log.debug("429: pacing at %.3g requests/s, burst %d", rate, int(burst))

    def _climb(self) -> None:
        assert self._bucket is not None
        now = self._timing.clock()
        elapsed = now - self._last_climb
        if elapsed <= 0:
            return
        self._last_climb = now
        limit = self._limit()
        bucket = self._bucket
        if bucket.rate >= limit and bucket.burst >= self._max_burst:
            return
        rate = min(limit, bucket.rate + max(_MIN_CLIMB, bucket.rate * _CLIMB) * elapsed)
        burst = min(self._max_burst, bucket.burst + elapsed / _BURST_CLIMB)
        bucket.set(rate, burst)
