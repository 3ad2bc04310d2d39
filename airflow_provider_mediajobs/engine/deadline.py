"""The deadline of the wait a read belongs to, seen by every sleep inside that read.

A wait's own pauses are cut at its deadline by :class:`~.wait.JobWait`; a read can sleep too (for a
rate-limit slot, between retries). :func:`within` publishes the wait's deadline to the read's task
(a context variable: each trigger runs in its own task, so waits never see each other's), and those
sleeps go through :func:`sleep_until`, which never sleeps past it: a step whose time lies beyond the
deadline sleeps to the deadline and raises :class:`PastDeadline`, and the wait ends with its timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# the current wait's deadline on the running loop's clock (None: no deadline)
_DEADLINE: ContextVar[float | None] = ContextVar("mediajobs_wait_deadline", default=None)


class PastDeadline(Exception):
    """The next allowed step of a read lies past its wait's deadline; raised at the deadline."""


@contextmanager
def within(deadline: float | None) -> Iterator[None]:
    """Bound the sleeps of reads made in this block by ``deadline`` (epoch seconds; None: none)."""
    if deadline is None:
        yield
        return
    loop_deadline = asyncio.get_running_loop().time() + (deadline - time.time())
    token = _DEADLINE.set(loop_deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def loop_deadline() -> float | None:
    """The current wait's deadline on the running loop's clock, or None."""
    return _DEADLINE.get()


def past_deadline(at: float) -> bool:
    """Whether loop time ``at`` lies after the current wait's deadline."""
    limit = _DEADLINE.get()
    return limit is not None and at > limit


async def sleep_until(at: float) -> None:
    """Sleep until loop time ``at``; if that is past the wait's deadline, sleep to the deadline
    and raise :class:`PastDeadline` instead."""
    loop = asyncio.get_running_loop()
    limit = _DEADLINE.get()
    if limit is not None and at > limit:
        await asyncio.sleep(max(0.0, limit - loop.time()))
        raise PastDeadline
    delay = at - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)
