"""The one wait (engine/wait.py), without I/O: outage tolerance by time, backoff, deadline, wording."""

from __future__ import annotations

import random
from typing import Any

import pytest

from airflow_provider_mediajobs.engine.wait import (
    WaitState,
    duration,
    event_for_job,
    run_sync,
    summary_line,
)
from airflow_provider_mediajobs.exceptions import (
    MediaJobAuthError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind

T0 = 1_800_000_000.0
JOB_ID = "349547"


class Log:
    """Records what a wait logs, formatted as a logger would."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def _add(self, level: str, msg: str, *args: Any) -> None:
        self.lines.append((level, msg % args if args else msg))

    def info(self, msg: str, *args: Any) -> None:
        self._add("info", msg, *args)

    def warning(self, msg: str, *args: Any) -> None:
        self._add("warning", msg, *args)

    def error(self, msg: str, *args: Any) -> None:
        self._add("error", msg, *args)

    def at(self, level: str) -> list[str]:
        return [text for lvl, text in self.lines if lvl == level]


def running(progress: float = 0.5) -> MediaJob:
    return MediaJob(provider="tensorpix", job_id=JOB_ID, state=JobState.RUNNING, progress=progress)


def done(cost: float | None = 0.5) -> MediaJob:
    return MediaJob(
        provider="tensorpix",
        job_id=JOB_ID,
        state=JobState.SUCCEEDED,
        outputs=[MediaOutput(url="https://cdn.test/a.mp4", kind=OutputKind.VIDEO)],
        cost=cost,
        cost_unit="usd" if cost is not None else None,
    )


def down() -> MediaJobTransientError:
    return MediaJobTransientError("TensorPix answered HTTP 503", provider="tensorpix", job_id=JOB_ID)


def new_wait(log: Log | None = None, **overrides: Any) -> WaitState:
    kwargs: dict[str, Any] = {
        "provider": "tensorpix",
        "job_id": JOB_ID,
        "poll_interval": 10.0,
        "max_poll_interval": 60.0,
        "deadline": T0 + 86400,
        "started_at": T0,
        "log": log or Log(),
        "rng": random.Random(1),
    }
    kwargs.update(overrides)
    return WaitState(**kwargs)


def ride(
    wait: WaitState, seconds: float, now: float = T0
) -> tuple[list[float], float, dict[str, Any] | None]:
    """Feed failing reads for ``seconds``; returns the pauses, the time reached and any event."""
    pauses: list[float] = []
    end = now + seconds
    while now < end:
        step = wait.read_failed(down(), now)
        if isinstance(step, dict):
            return pauses, now, step
        pauses.append(step)
        now += step
    return pauses, now, None


def test_a_long_outage_within_the_tolerance_is_ridden_out() -> None:
    wait = new_wait()
    wait.read_ok(running(), T0)
    pauses, now, event = ride(wait, 25 * 60, T0 + 1)
    assert event is None, "25 minutes of 503s are within the default 30 minutes"
    assert max(pauses) <= 300.0, "backoff is capped at max_backoff (5 min)"
    assert pauses[-1] > 60, "and grows past max_poll_interval"
    assert isinstance(wait.read_ok(done(), now), dict)


def test_the_tolerance_is_time_not_a_count() -> None:
    wait = new_wait(outage_tolerance=600)
    pauses, now, event = ride(wait, 3600)
    assert event is not None and event["status"] == "error"
    assert now - T0 == pytest.approx(600, abs=1e-6), "one last read exactly at the end of the window"
    assert "Gave up after" in event["message"] and "over 10 min" in event["message"]
    assert len(pauses) < 20


def test_the_window_never_runs_past_the_deadline() -> None:
    wait = new_wait(deadline=T0 + 120)
    _pauses, now, event = ride(wait, 3600)
    assert event is not None and event["status"] == "error"
    assert now <= T0 + 120


def test_a_good_read_starts_a_new_window() -> None:
    wait = new_wait(outage_tolerance=600)
    _, now, event = ride(wait, 500)
    assert event is None
    wait.read_ok(running(), now)
    _, _, event = ride(wait, 500, now)
    assert event is None


def test_retry_after_is_a_floor() -> None:
    wait = new_wait()
    throttled = MediaJobRateLimitedError("HTTP 429", retry_after=120, provider="tensorpix")
    assert wait.read_failed(throttled, T0) >= 120


def test_max_consecutive_failures_is_an_optional_extra_bound() -> None:
    wait = new_wait(max_consecutive_failures=3)
    pauses, _now, event = ride(wait, 3600)
    assert len(pauses) == 2 and event is not None
    assert "Gave up after 3 failed status reads in a row" in event["message"]


def test_errors_a_wait_cannot_fix_end_it_at_once() -> None:
    event = new_wait().read_failed(MediaJobAuthError("refused", provider="tensorpix"), T0)
    assert isinstance(event, dict) and event["error_type"] == "MediaJobAuthError"


def test_failed_reads_are_worded_for_people() -> None:
    log = Log()
    wait = new_wait(log)
    for k in range(3):
        wait.read_failed(down(), T0 + k)
    warning = log.at("warning")[-1]
    assert "349547: status read failed, 3 in a row" in warning
    assert "tolerating transient failures for 30 min more" in warning
    assert f"of {JOB_ID}" not in warning  # not "Read 3 of 349547 failed"
    wait.read_ok(running(), T0 + 10)
    assert "status reads work again after 3 failure(s)" in log.at("info")[0]


def test_the_count_bound_is_named_when_set() -> None:
    log = Log()
    new_wait(log, max_consecutive_failures=10).read_failed(down(), T0)
    assert "or until 10 in a row" in log.at("warning")[0]


def test_timeout_after_failing_reads_says_so() -> None:
    wait = new_wait(deadline=T0 + 30)
    wait.read_failed(down(), T0 + 1)
    event = wait.before_read(T0 + 31)
    assert event is not None and event["status"] == "timeout"
    assert "The last 1 status read(s) failed" in event["message"]


def test_progress_is_logged_when_it_changes() -> None:
    log = Log()
    wait = new_wait(log)
    for k, progress in enumerate((0.1, 0.1, 0.1, 0.5)):
        wait.read_ok(running(progress), T0 + k)
    assert len(log.at("info")) == 2


def test_run_sync_counts_calls_and_stamps_the_event() -> None:
    jobs = iter([running(0.2), down(), running(0.8), done()])
    clock = [T0]

    def read() -> MediaJob:
        item = next(jobs)
        if isinstance(item, Exception):
            raise item
        return item

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    event = run_sync(new_wait(), read, clock=lambda: clock[0], sleep=sleep)
    assert event["status"] == "succeeded"
    assert event["status_calls"] == 4
    assert event["job_id"] == JOB_ID
    assert event["waited_seconds"] == pytest.approx(clock[0] - T0, abs=1e-3)


# ---- the summary line ---------------------------------------------------------------------------
def test_summary_line_has_state_duration_calls_cost_and_outputs() -> None:
    event = event_for_job(done()) | {"status_calls": 14, "waited_seconds": 754.2}
    line = summary_line(event, done(), "tensorpix", JOB_ID)
    assert line == (
        "Wait for tensorpix job 349547 ended: succeeded after 13 min; 14 status call(s); "
        "cost 0.5 usd; 1 output(s)."
    )


def test_summary_line_without_cost_or_job() -> None:
    job = done(cost=None)
    assert "cost none reported" in summary_line(event_for_job(job), job, "tensorpix", JOB_ID)
    line = summary_line({"status": "error", "job": None, "status_calls": 1}, None, "tensorpix", JOB_ID)
    assert "ended: error" in line and "0 output(s)" in line


@pytest.mark.parametrize(
    ("seconds", "text"), [(4.25, "4.2s"), (45, "45s"), (600, "10 min"), (1800, "30 min"), (7500, "2 h 5 min")]
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert duration(seconds) == text
