"""A per-connection request rate shared by every wait on one event loop, that adapts to the provider.

GCRA (the "virtual scheduling" form of a token bucket): each caller reserves the next free slot
and sleeps until it, so there is no lock, no busy loop and FIFO fairness.

Measured against the emulator's token bucket (benchmarks/, 1,000 waits on one 5 QPS connection): sending at
exactly the limit, with the burst the limit allows, drew a 429 now and then -- a request delayed a
few milliseconds on our side arrives right before the next one on time, when the server's bucket
is empty. So the limiter paces at ``HEADROOM`` of the configured rate without bursting: the
server's bucket stays nearly full and absorbs that jitter.

A provider's limit holds for its key, not for one process: several triggerers (or a triggerer and
workers) share it, and none of them knows the others. So the pace adapts the way TCP shares a link
(AIMD): a 429 is a congestion signal. It multiplies this process's rate by ``DECREASE`` (once per
congestion event: the 429s of requests already in flight do not count again) and pauses every wait
on the connection for the provider's ``Retry-After`` -- slots reserved before the 429 are given up
and taken again after the pause, at the lower rate. Every ``INCREASE_EVERY`` seconds without a 429
the rate grows by ``INCREASE_STEP`` of the ceiling, never above ``HEADROOM`` of the configured
limit. A new limiter (a triggerer that starts or restarts) begins at ``START_SHARE`` of the ceiling
and grows by ``SLOW_START_GROWTH`` every ``SLOW_START_EVERY`` seconds until its first 429 or the
ceiling (~10 s): N triggerers started together overshoot the provider's limit a little, not N times.
N processes so converge around their share of the limit with few 429s (docs/benchmarks.md); one
process alone never sees a 429 and stays at the ceiling.

No sleep here passes the current wait's deadline (:mod:`.deadline`): a slot past it is not taken.
"""

from __future__ import annotations

import asyncio
import math
import weakref

from airflow_provider_mediajobs.engine.deadline import past_deadline, sleep_until

HEADROOM = 0.9  # share of the configured rate actually used (the ceiling)
DECREASE = 0.7  # a 429 multiplies the rate by this
INCREASE_STEP = 0.05  # share of the ceiling added ...
INCREASE_EVERY = 5.0  # ... after this many seconds without a 429
MIN_SHARE = 0.05  # the rate never drops below this share of the ceiling
START_SHARE = 1 / 3  # a new limiter starts at this share of the ceiling ...
SLOW_START_GROWTH = 1.25  # ... and multiplies its rate by this
SLOW_START_EVERY = 2.0  # ... every this many seconds, until its first 429 or the ceiling


class AsyncRateLimiter:
    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        headroom: float = HEADROOM,
        start_share: float = START_SHARE,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate  # configured requests/second
        self.ceiling = rate * headroom
        self.current = self.ceiling * min(1.0, max(MIN_SHARE, start_share))  # adapted requests/second
        self._slow_start = self.current < self.ceiling
        self.burst = max(1.0, burst if burst is not None else 1.0)
        self._tat = 0.0  # theoretical arrival time of the next request (loop clock)
        self._epoch = 0  # bumped by a 429: slots reserved before it are void
        self._grown_at: float | None = None  # last increase (or end of the last pause)
        self._hold_until = -math.inf  # 429s before this belong to the last congestion event
        self.decreases = 0  # 429 congestion events seen (for logs and benchmarks)

    @property
    def interval(self) -> float:
        return 1.0 / self.current

    def _grow(self, now: float) -> None:
        """Slow start (multiplicative, before the first 429), then additive increase: one step per
        ``INCREASE_EVERY`` seconds without a 429."""
        if self._grown_at is None:
            self._grown_at = now
            return
        every = SLOW_START_EVERY if self._slow_start else INCREASE_EVERY
        steps = int((now - self._grown_at) / every)
        if steps > 0:
            self._grown_at += steps * every
            if self._slow_start:
                self.current = min(self.ceiling, self.current * SLOW_START_GROWTH**steps)
                self._slow_start = self.current < self.ceiling
            else:
                self.current = min(self.ceiling, self.current + steps * INCREASE_STEP * self.ceiling)

    def _delay(self, now: float, *, take: bool) -> float:
        """Seconds from ``now`` to the next free slot; ``take`` reserves it."""
        self._grow(now)
        tolerance = (self.burst - 1.0) * self.interval
        tat = max(self._tat, now)
        if take:
            self._tat = tat + self.interval
        return max(0.0, tat - tolerance - now)

    def reserve(self, now: float) -> float:
        """Reserve a slot; return how long to wait for it."""
        return self._delay(now, take=True)

    async def acquire(self) -> None:
        """Wait for a slot. A 429 meanwhile voids the slot: take a new one after the pause. A slot
        past the wait's deadline is not taken: :class:`~.deadline.PastDeadline` at the deadline."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if past_deadline(now + self._delay(now, take=False)):
                await sleep_until(now + self._delay(now, take=False))  # to the deadline, then raises
            epoch = self._epoch
            at = now + self.reserve(now)
            taken = self._tat
            try:
                await sleep_until(at)
            except asyncio.CancelledError:
                if epoch == self._epoch and self._tat == taken:  # nobody reserved after it: give it back
                    self._tat = at
                raise
            if epoch == self._epoch:
                return

    def pause(self, seconds: float) -> None:
        """The provider answered 429 (``seconds``: its Retry-After): every wait on this connection
        pauses that long, and the rate drops once per congestion event."""
        now = asyncio.get_running_loop().time()
        until = now + max(0.0, seconds)
        self._slow_start = False
        if now >= self._hold_until:
            self.current = max(MIN_SHARE * self.ceiling, self.current * DECREASE)
            self.decreases += 1
            # the 429s of requests sent before this pause ended are echoes of this event
            self._hold_until = until + self.interval
        self._grown_at = max(until, self._grown_at or until)
        self._tat = max(until, now)
        self._epoch += 1


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
