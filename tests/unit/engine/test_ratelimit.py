"""The adaptive per-connection limiter (engine/ratelimit.py) and the wait's deadline (engine/deadline.py).

The limiter's arithmetic is checked on a given clock; its sleeps on the running loop with short
intervals. No test here measures speed: the bounds only tell "ends at the deadline" from "sleeps
for the next slot" (minutes or more).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from airflow_provider_mediajobs.engine import ratelimit
from airflow_provider_mediajobs.engine.deadline import PastDeadline, within
from airflow_provider_mediajobs.engine.ratelimit import (
    DECREASE,
    HEADROOM,
    INCREASE_EVERY,
    INCREASE_STEP,
    MIN_SHARE,
    SLOW_START_EVERY,
    SLOW_START_GROWTH,
    START_SHARE,
    AsyncRateLimiter,
)
from airflow_provider_mediajobs.engine.retry import RetryPolicy
from airflow_provider_mediajobs.engine.wait import WaitState
from airflow_provider_mediajobs.exceptions import MediaJobRateLimitedError
from airflow_provider_mediajobs.models import JobState, MediaJob

from support.connections import set_connections

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider


def limiter_at(
    rate: float, monkeypatch: pytest.MonkeyPatch, clock: list[float], start_share: float = 1.0
) -> AsyncRateLimiter:
    """A limiter whose ``pause`` reads ``clock[0]`` as the loop time (past its slow start unless
    ``start_share`` says otherwise)."""

    class Loop:
        def time(self) -> float:
            return clock[0]

    monkeypatch.setattr(ratelimit.asyncio, "get_running_loop", lambda: Loop())
    return AsyncRateLimiter(rate, start_share=start_share)


# ---- AIMD -------------------------------------------------------------------------------------
def test_a_429_cuts_the_rate_once_per_congestion_event(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    limiter = limiter_at(5.0, monkeypatch, clock)
    ceiling = 5.0 * HEADROOM
    limiter.pause(1.0)
    assert limiter.current == pytest.approx(ceiling * DECREASE)
    clock[0] += 0.2
    limiter.pause(1.0)  # the 429 of a request already in flight: same event
    assert limiter.current == pytest.approx(ceiling * DECREASE)
    clock[0] += 2.0  # past the pause and one interval: a new event
    limiter.pause(1.0)
    assert limiter.current == pytest.approx(ceiling * DECREASE**2)
    assert limiter.decreases == 2


def test_the_rate_never_drops_below_its_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    limiter = limiter_at(5.0, monkeypatch, clock)
    for _ in range(60):
        clock[0] += 100.0
        limiter.pause(0.0)
    assert limiter.current == pytest.approx(MIN_SHARE * 5.0 * HEADROOM)


def test_sustained_success_adds_back_up_to_the_ceiling_never_above(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    limiter = limiter_at(5.0, monkeypatch, clock)
    ceiling = 5.0 * HEADROOM
    limiter.reserve(0.0)
    limiter.pause(1.0)  # rate cut; growth counts from the end of the pause
    low = limiter.current
    limiter.reserve(1.0 + INCREASE_EVERY * 0.9)
    assert limiter.current == pytest.approx(low)  # not yet
    limiter.reserve(1.0 + INCREASE_EVERY * 3.01)
    assert limiter.current == pytest.approx(low + 3 * INCREASE_STEP * ceiling)
    limiter.reserve(1.0 + 10_000.0)
    assert limiter.current == pytest.approx(ceiling)


def test_a_new_limiter_starts_slow_and_reaches_the_ceiling_within_seconds_without_a_429() -> None:
    """N triggerers started together overshoot the provider's limit a little, not N times; one
    alone paces at the ceiling ~10 s after it started."""
    limiter = AsyncRateLimiter(5.0)
    ceiling = 5.0 * HEADROOM
    limiter.reserve(100.0)
    assert limiter.current == pytest.approx(ceiling * START_SHARE)
    limiter.reserve(100.0 + SLOW_START_EVERY)
    assert limiter.current == pytest.approx(ceiling * START_SHARE * SLOW_START_GROWTH)
    limiter.reserve(100.0 + 6 * SLOW_START_EVERY)
    assert limiter.current == pytest.approx(ceiling)
    limiter.reserve(200.0)
    assert limiter.current == pytest.approx(ceiling)  # never above


def test_the_first_429_ends_the_slow_start(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    limiter = limiter_at(5.0, monkeypatch, clock, start_share=START_SHARE)
    limiter.reserve(0.0)
    limiter.pause(1.0)
    cut = limiter.current
    limiter.reserve(1.0 + SLOW_START_EVERY * 1.01)  # additive from now on: nothing yet
    assert limiter.current == pytest.approx(cut)
    limiter.reserve(1.0 + INCREASE_EVERY * 1.01)
    assert limiter.current == pytest.approx(cut + INCREASE_STEP * 5.0 * HEADROOM)


def test_one_process_alone_paces_at_the_ceiling() -> None:
    limiter = AsyncRateLimiter(5.0, start_share=1.0)
    waits = [limiter.reserve(now=100.0) for _ in range(50)]
    assert waits[-1] == pytest.approx(49 / (5.0 * HEADROOM))


async def test_a_429_pauses_every_waiting_read_and_the_cut_rate_applies_at_once() -> None:
    """Reads already waiting for their turn pause through the provider's Retry-After and then go
    at the cut rate: no queue of turns taken in advance runs on at the old pace."""
    limiter = AsyncRateLimiter(40.0, start_share=1.0)  # turns 28 ms apart
    loop = asyncio.get_running_loop()
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        granted.append(loop.time())

    tasks = [asyncio.create_task(one()) for _ in range(8)]
    await asyncio.sleep(0.01)  # the first went at once, the others wait in line
    limiter.pause(0.5)  # a 429 with Retry-After 0.5 s
    paused_at = loop.time()
    await asyncio.gather(*tasks)
    early = [t for t in granted if t < paused_at + 0.5 - 0.02]
    assert len(early) <= 1, [round(t - paused_at, 3) for t in granted]
    after = sorted(t for t in granted if t >= paused_at + 0.5 - 0.02)
    # at the cut rate (judged over the whole run: a late wake-up shortens one gap)
    assert after[-1] - after[0] >= (len(after) - 1) / limiter.current - 0.02


async def test_a_rate_increase_applies_to_reads_already_waiting() -> None:
    limiter = AsyncRateLimiter(10.0)  # slow start: 3 QPS
    loop = asyncio.get_running_loop()
    await limiter.acquire()
    tasks = [asyncio.create_task(limiter.acquire()) for _ in range(6)]
    await asyncio.sleep(0)
    limiter.current = limiter.ceiling  # what the growth does after a while
    began = loop.time()
    await asyncio.gather(*tasks)
    assert loop.time() - began < 6 / 3.0 * 0.8  # at 9 QPS, not at the 3 QPS they queued at


async def test_a_cancelled_read_gives_its_turn_to_the_next_in_line() -> None:
    limiter = AsyncRateLimiter(4.0, start_share=1.0)  # turns ~0.28 s apart
    loop = asyncio.get_running_loop()
    await limiter.acquire()
    began = loop.time()
    second = asyncio.create_task(limiter.acquire())
    third = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    second.cancel()
    await third
    assert loop.time() - began < 2 * limiter.interval * 0.9  # one turn later, not two


# ---- the deadline -----------------------------------------------------------------------------
async def test_the_limiter_never_sleeps_past_the_wait_deadline() -> None:
    limiter = AsyncRateLimiter(0.001)  # one read per ~1,111 s
    await limiter.acquire()
    loop = asyncio.get_running_loop()
    next_turn = limiter._next_at
    began = loop.time()
    with pytest.raises(PastDeadline), within(time.time() + 0.3):
        await limiter.acquire()
    assert 0.25 <= loop.time() - began < 30
    assert limiter._next_at == next_turn and not limiter._queue  # no turn taken from other waits


async def test_a_pause_that_pushes_a_waiting_read_past_its_deadline_ends_it_at_the_deadline() -> None:
    limiter = AsyncRateLimiter(4.0, start_share=1.0)
    loop = asyncio.get_running_loop()
    await limiter.acquire()

    async def bounded() -> None:
        with within(time.time() + 0.4):
            await limiter.acquire()

    task = asyncio.create_task(bounded())
    await asyncio.sleep(0.05)
    limiter.pause(600.0)  # Retry-After: 10 minutes
    began = loop.time()
    with pytest.raises(PastDeadline):
        await task
    assert loop.time() - began < 30
    assert all(f.done() for f in limiter._queue)  # its place in line is given up


async def test_a_retry_after_the_deadline_is_not_made() -> None:
    calls: list[float] = []

    async def fn() -> None:
        calls.append(time.monotonic())
        raise MediaJobRateLimitedError("429", provider="tensorpix", conn_id="c", retry_after=600.0)

    began = time.monotonic()
    with pytest.raises(MediaJobRateLimitedError), within(time.time() + 0.3):
        await RetryPolicy(attempts=5, base=1.0, cap=30.0).acall(fn)
    assert len(calls) == 1
    assert 0.25 <= time.monotonic() - began < 30  # raised at the deadline, not after 600 s


def running(job_id: str = "42") -> MediaJob:
    return MediaJob(provider="tensorpix", job_id=job_id, state=JobState.RUNNING, provider_status=1)


@pytest.mark.parametrize("hint", ["cadence", "backoff"])
def test_the_wait_pause_never_passes_the_deadline(hint: str) -> None:
    now = 1_000.0
    wait = WaitState(
        provider="tensorpix", job_id="42", poll_interval=60, max_poll_interval=600, deadline=now + 2.5
    )
    if hint == "cadence":
        step = wait.read_ok(running(), now)
    else:
        error = MediaJobRateLimitedError("429", provider="tensorpix", conn_id="c", retry_after=900.0)
        step = wait.read_failed(error, now)
    assert step == pytest.approx(2.5)
    assert wait.before_read(now + 2.5)["status"] == "timeout"


async def test_a_trigger_whose_next_allowed_read_lies_past_its_deadline_times_out_on_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rate_limit 0.001 with a deadline 3 s away: the wait ends with its timeout event in ~3 s, not
    after the ~1,111 s the next slot is away (issue 24); other waits' slots are left alone."""

    from airflow_provider_mediajobs.engine.transport import override_async_transport
    from airflow_provider_mediajobs.triggers import MediaJobTrigger

    set_connections(
        monkeypatch,
        {
            "tp_slow": {
                "conn_type": "tensorpix",
                "password": "tp-key-0123456789",
                "extra": {"rate_limit": 0.001},
            }
        },
    )
    reads: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        reads.append(request)
        return httpx.Response(200, json={"id": 42, "status": 1, "processing_progress": 0.1, "eta_s": 600})

    def trigger(deadline: float) -> MediaJobTrigger:
        return MediaJobTrigger(
            provider="tensorpix",
            conn_id="tp_slow",
            job_id="42",
            poll_interval=0.2,
            max_poll_interval=0.5,
            deadline=deadline,
        )

    with override_async_transport(httpx.MockTransport(handler)):
        # another wait on the connection takes the one free turn (the next is ~1,111 s away)
        other = asyncio.create_task(anext(aiter(trigger(time.time() + 600).run())))
        while not reads and not other.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        other.cancel()
        began = time.monotonic()
        events = [e.payload async for e in trigger(time.time() + 3).run()]
    took = time.monotonic() - began
    (event,) = events
    assert event["status"] == "timeout", event
    assert event["status_calls"] == 0  # the turn after the first lies ~1,111 s away
    assert len(reads) == 1
    assert 2.5 <= took < 60, took
