"""A per-connection request rate shared by every wait on one event loop.

GCRA (the "virtual scheduling" form of a token bucket): each caller reserves the next free slot
and sleeps until it, so there is no lock, no busy loop and FIFO fairness. A 429 with Retry-After
pushes the schedule back for everyone on that connection, not only the wait that got it.
"""

from __future__ import annotations

import asyncio
import weakref


class AsyncRateLimiter:
    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tat = 0.0  # theoretical arrival time of the next request (loop clock)

    def reserve(self, now: float) -> float:
        """Reserve a slot; return how long to wait for it."""
        tolerance = (self.burst - 1.0) * self.interval
        tat = max(self._tat, now)
        self._tat = tat + self.interval
        return max(0.0, tat - tolerance - now)

    async def acquire(self) -> None:
        delay = self.reserve(asyncio.get_running_loop().time())
        if delay > 0:
            await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Push every later slot back by ``seconds`` from now (the provider said Retry-After)."""
        now = asyncio.get_running_loop().time()
        self._tat = max(self._tat, now + seconds)


_limiters: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str, float], AsyncRateLimiter]
] = weakref.WeakKeyDictionary()


def limiter_for(conn_id: str, base_url: str, rate: float) -> AsyncRateLimiter:
    """The limiter of this connection on the running loop (created on first use)."""
    loop = asyncio.get_running_loop()
    per_loop = _limiters.setdefault(loop, {})
    key = (conn_id, base_url, rate)
    limiter = per_loop.get(key)
    if limiter is None:
        limiter = per_loop[key] = AsyncRateLimiter(rate)
    return limiter
