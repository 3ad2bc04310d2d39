"""The one retry policy: which errors are worth another try, and how long to wait before it.

Capped exponential backoff with full jitter, the provider's ``Retry-After`` as a floor, and a
bound on consecutive attempts. API calls (:mod:`.api`), downloads and the wait loop
(:mod:`.wait`, which bounds an outage by time instead of attempts) all take their delays here.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from airflow_provider_mediajobs.engine.deadline import PastDeadline, past_deadline, sleep_until
from airflow_provider_mediajobs.exceptions import (
    MediaJobBadResponseError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)

T = TypeVar("T")

# What retrying may fix: 5xx, 429, timeouts, resets, and answers a degraded provider garbles.
RETRYABLE: tuple[type[Exception], ...] = (MediaJobTransientError, MediaJobBadResponseError)

_RNG = random.Random()


def retry_after_of(error: BaseException | None) -> float | None:
    """The provider's ``Retry-After`` (seconds) carried by a 429, else None."""
    return error.retry_after if isinstance(error, MediaJobRateLimitedError) else None


def backoff_delay(
    attempt: int,
    *,
    base: float = 1.0,
    cap: float = 60.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = first retry).

    Full jitter (uniform in [base/2, min(cap, base * 2**(attempt-1))]) keeps thousands of waits
    from retrying in lockstep after a shared outage. A provider's ``Retry-After`` is a floor: we
    never come back earlier than asked, but a small jitter spreads those who were told the same.
    """
    rng = rng or _RNG
    ceiling = min(cap, base * (2 ** max(0, min(attempt - 1, 64))))
    delay = rng.uniform(min(base / 2, ceiling), ceiling)
    if retry_after is not None and retry_after >= 0:
        delay = max(delay, retry_after + rng.uniform(0, min(1.0, retry_after * 0.1 + 0.1)))
    return delay


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all for errors in ``retry_on``, with :func:`backoff_delay` between."""

    attempts: int = 3
    base: float = 1.0
    cap: float = 30.0
    retry_on: tuple[type[Exception], ...] = RETRYABLE

    def delay(self, attempt: int, error: BaseException | None) -> float:
        return backoff_delay(attempt, base=self.base, cap=self.cap, retry_after=retry_after_of(error))

    def _next_delay(self, attempt: int, error: Exception) -> float | None:
        """The pause before the next try, or None when ``error`` must be raised."""
        if attempt >= max(1, self.attempts) or not isinstance(error, self.retry_on):
            return None
        return self.delay(attempt, error)

    def call(
        self,
        fn: Callable[[], T],
        *,
        sleep: Callable[[float], object] | None = None,
        on_retry: Callable[[int, Exception, float], None] | None = None,
    ) -> T:
        """``fn()`` until it returns, or raise its last error."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as err:
                delay = self._next_delay(attempt, err)
                if delay is None:
                    raise
                if on_retry is not None:
                    on_retry(attempt, err, delay)
            (sleep or time.sleep)(delay)

    async def acall(self, fn: Callable[[], Awaitable[T]]) -> T:
        """The async twin of :meth:`call` (a plain loop: a retry controller per read costs CPU).
        A retry that would come after the current wait's deadline is not made: the last error is
        raised at the deadline (:mod:`.deadline`)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await fn()
            except Exception as err:
                delay = self._next_delay(attempt, err)
                if delay is None:
                    raise
                at = asyncio.get_running_loop().time() + delay
                if past_deadline(at):
                    with contextlib.suppress(PastDeadline):
                        await sleep_until(at)
                    raise
            await sleep_until(at)
