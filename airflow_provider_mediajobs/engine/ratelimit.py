"""A per-connection request rate shared by every wait on one event loop, that adapts to the provider.

One FIFO queue per connection, paced by a timer on the loop: a read that finds the connection idle
goes at once; others wait in line and are released one per interval. There is no lock, no busy
loop and no task per connection; a change of the rate or a pause applies to everyone waiting at
once (slots reserved in advance at a fixed spacing would keep their old pace until the queue
drained -- 30 s and more with a few dozen waits on one connection).

Measured against the emulator's token bucket (benchmarks/, 1,000 waits on one 5 QPS connection): sending at
exactly the limit, with the burst the limit allows, drew a 429 now and then -- a request delayed a
few milliseconds on our side arrives right before the next one on time, when the server's bucket
is empty. So the limiter paces at ``HEADROOM`` of the configured rate without bursting: the
server's bucket stays nearly full and absorbs that jitter.

A provider's limit holds for its key, not for one process: several triggerers (or a triggerer and
workers) share it, and none of them knows the others. So the pace adapts the way TCP shares a link
(AIMD): a 429 is a congestion signal. It multiplies this process's rate by ``DECREASE`` (once per
congestion event: the 429s of requests already in flight do not count again) and pauses every wait
on the connection for the provider's ``Retry-After``. Every ``INCREASE_EVERY`` seconds without a
429 the rate grows by ``INCREASE_STEP`` of the ceiling, never above ``HEADROOM`` of the configured
limit. A new limiter (a triggerer that starts or restarts) begins at ``START_SHARE`` of the ceiling
and grows by ``SLOW_START_GROWTH`` every ``SLOW_START_EVERY`` seconds until its first 429 or the
ceiling (~10 s): N triggerers started together overshoot the provider's limit a little, not N times.
N processes so converge around their share of the limit with few 429s (docs/benchmarks.md); one
process alone never sees a 429 and stays at the ceiling.

No wait here passes the current wait's deadline (:mod:`.deadline`): a read whose turn would come
after it leaves the queue at the deadline with :class:`~.deadline.PastDeadline`.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

from airflow_provider_mediajobs.engine.deadline import PastDeadline, loop_deadline, past_deadline, sleep_until
from airflow_provider_mediajobs.engine.loopstore import loop_object

HEADROOM = 0.9  # share of the configured rate actually used (the ceiling)
DECREASE = 0.5  # a 429 multiplies the rate by this
INCREASE_STEP = 0.03  # share of the ceiling added ...
INCREASE_EVERY = 5.0  # ... after this many seconds without a 429
MIN_SHARE = 0.05  # the rate never drops below this share of the ceiling
START_SHARE = 1 / 3  # a new limiter starts at this share of the ceiling ...
SLOW_START_GROWTH = 1.25  # ... and multiplies its rate by this
SLOW_START_EVERY = 2.0  # ... every this many seconds, until its first 429 or the ceiling


class AsyncRateLimiter:
    def __init__(self, rate: float, headroom: float = HEADROOM, start_share: float = START_SHARE) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate  # configured requests/second
        self.ceiling = rate * headroom
        self.current = self.ceiling * min(1.0, max(MIN_SHARE, start_share))  # adapted requests/second
        self._slow_start = self.current < self.ceiling
        self._next_at = 0.0  # loop time before which nobody else may go
        self._queue: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None
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

    def reserve(self, now: float) -> float:
        """Take the next turn without queueing; return how long until it (pacing arithmetic)."""
        self._grow(now)
        at = max(self._next_at, now)
        self._next_at = at + self.interval
        return at - now

    async def acquire(self) -> None:
        """Wait for this connection's next turn. A turn that would come after the current wait's
        deadline is not waited for: :class:`~.deadline.PastDeadline` at the deadline."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._queue and now >= self._next_at:
            self.reserve(now)
            return
        turn = max(self._next_at, now) + len(self._queue) * self.interval
        if past_deadline(turn):
            await sleep_until(turn)  # to the deadline, then raises
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append(future)
        self._arm(loop)
        limit = loop_deadline()
        if limit is None:
            await future
            return
        try:
            await asyncio.wait_for(future, max(0.0, limit - now))
        except asyncio.TimeoutError:  # a pause or a cut pushed our turn past the deadline
            raise PastDeadline from None

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is None and self._queue:
            self._timer = loop.call_at(self._next_at, self._release, loop)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let the first live waiter go, then re-arm for the next one an interval later."""
        self._timer = None
        now = loop.time()
        if now < self._next_at:  # a pause moved the next turn
            self._arm(loop)
            return
        while self._queue:
            future = self._queue.popleft()
            if not future.done():  # cancelled waiters (deadline, a cancelled trigger) give up their turn
                future.set_result(None)
                self.reserve(now)
                break
        self._arm(loop)

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
        self._next_at = max(self._next_at, until)


def limiter_for(conn_id: str, base_url: str, rate: float) -> AsyncRateLimiter:
    """The limiter of this connection on the running loop (created on first use)."""
    return loop_object(("limiter", conn_id, base_url, rate), lambda: AsyncRateLimiter(rate))
