"""The cadence's rules: idle growth with the wait's age, queue positions, overdue back-off, the cap."""

from __future__ import annotations

import random

import pytest

from airflow_provider_mediajobs.engine.cadence import (
    AIM_WITHIN,
    END_MARGIN,
    ETA_SHARE,
    IDLE_SHARE,
    JITTER,
    Cadence,
)
from airflow_provider_mediajobs.models import JobState, MediaJob

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider


def job(state: JobState = JobState.RUNNING, **fields: object) -> MediaJob:
    return MediaJob(provider="goenhance", job_id="1", state=state, **fields)  # type: ignore[arg-type]


def follow(cadence: Cadence, states: list[JobState], start: float = 0.0) -> list[tuple[float, float]]:
    """(time, delay) of each read of a hint-less job that reports ``states`` in turn."""
    now, out = start, []
    for state in states:
        delay = cadence.next_delay(job(state), now)
        out.append((now, delay))
        now += delay
    return out


def test_without_hints_the_delay_is_half_the_time_waited_so_far() -> None:
    cadence = Cadence(5.0, 60.0, rng=random.Random(3))
    reads = follow(cadence, [JobState.QUEUED] * 20)
    assert reads[0][1] <= 5.0 * (1 + JITTER)  # a fresh wait reads at the floor
    for now, delay in reads:
        expected = min(60.0, max(5.0, IDLE_SHARE * now))
        assert expected * (1 - JITTER) <= delay <= min(60.0, expected * (1 + JITTER))
    # the cap is reached within a few minutes, and a 10-minute job costs ~16 reads, not 120
    assert sum(1 for now, _ in reads if now < 600) <= 18


def test_a_state_change_does_not_restart_the_back_off() -> None:
    calm = follow(Cadence(5.0, 60.0, rng=random.Random(4)), [JobState.QUEUED] * 12)
    changed = follow(Cadence(5.0, 60.0, rng=random.Random(4)), [JobState.QUEUED] * 6 + [JobState.RUNNING] * 6)
    assert [d for _, d in changed] == pytest.approx([d for _, d in calm])


def test_no_delay_exceeds_the_cap_and_jitter_still_spreads_waits() -> None:
    cadence = Cadence(5.0, 60.0, rng=random.Random(5))
    delays = [cadence.next_delay(job(), now) for now in (0.0, *range(1000, 5000, 50))]
    assert max(delays) <= 60.0
    assert len({round(d, 6) for d in delays[1:]}) > 20  # at the cap, not in lockstep
    assert min(delays[1:]) >= 60.0 * (1 - JITTER)


def test_a_queue_position_spaces_reads_by_the_jobs_ahead() -> None:
    cadence = Cadence(2.0, 60.0, rng=random.Random(6))
    delay = cadence.next_delay(job(JobState.QUEUED, queue_position=9), now=0.0)
    assert 20.0 * (1 - JITTER) <= delay <= 20.0 * (1 + JITTER)


def test_past_a_stale_eta_it_backs_off_instead_of_reading_at_the_floor() -> None:
    cadence = Cadence(5.0, 60.0, rng=random.Random(7))
    now, delays = 0.0, []
    for _ in range(12):  # the provider keeps saying "0 s left" for a job that goes on
        delay = cadence.next_delay(job(eta_seconds=0.0), now)
        delays.append(delay)
        now += delay
    assert delays[0] <= 5.0 * (1 + JITTER)
    assert delays[-1] >= 30.0  # grown from the moment the predicted end passed
    assert max(delays) <= 60.0


def test_an_eta_again_ends_the_overdue_back_off() -> None:
    cadence = Cadence(5.0, 60.0, rng=random.Random(8))
    now = 0.0
    for _ in range(10):
        now += cadence.next_delay(job(eta_seconds=0.0), now)
    assert cadence.next_delay(job(eta_seconds=8.0), now) == pytest.approx(8.0 * 1.05)


@pytest.mark.parametrize("intervals", [1.5, 2.0, AIM_WITHIN - 0.1])
def test_close_to_a_predicted_end_the_next_read_lands_just_past_it(intervals: float) -> None:
    remaining = intervals * 10.0
    assert Cadence(10.0, 60.0).next_delay(job(eta_seconds=remaining), 0.0) == pytest.approx(
        remaining * (1 + END_MARGIN)
    )


def test_far_from_a_predicted_end_it_goes_part_of_the_way_and_leaves_one_interval() -> None:
    cadence = Cadence(10.0, 60.0, rng=random.Random(4))
    remaining = AIM_WITHIN * 10.0 + 5.0
    delay = cadence.next_delay(job(eta_seconds=remaining), 0.0)
    assert 10.0 <= delay <= remaining - 10.0
    assert delay == pytest.approx(remaining * ETA_SHARE, rel=JITTER) or delay == remaining - 10.0


def test_a_first_progress_is_measured_soon_even_late_in_a_wait() -> None:
    cadence = Cadence(5.0, 60.0, rng=random.Random(9))
    follow(cadence, [JobState.QUEUED] * 10)  # queued for minutes, no hint
    assert cadence.next_delay(job(progress=0.0), now=600.0) <= 5.0 * (1 + JITTER)
