"""Delays between attempts: capped exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import random

_RNG = random.Random()


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
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = rng.uniform(min(base / 2, ceiling), ceiling)
    if retry_after is not None and retry_after >= 0:
        delay = max(delay, retry_after + rng.uniform(0, min(1.0, retry_after * 0.1 + 0.1)))
    return delay
