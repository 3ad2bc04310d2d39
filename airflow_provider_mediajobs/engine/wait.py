"""One wait for a job, however it is run: the decision, the cadence, outage tolerance and deadline.

:class:`WaitState` is pure (no I/O but fire-and-forget metrics; the caller passes the time): after
each status read it says how long to pause before the next one, or how the wait ended, as an event
``{"status", "job", "message"}``. :func:`run_async` (the trigger) and :func:`run_sync` (the
non-deferrable submit) loop over it; a poke-mode sensor feeds it one read per poke. :func:`result_or_raise` turns an event into
the task's result or exception, the same for every path.

Transient failures of status reads (5xx, 429, timeouts, garbled answers) are tolerated for a window
of time (``outage_tolerance``, 30 minutes by default, never past the deadline), with capped
exponential backoff between reads: a provider incident does not lose a wait for an hours-long job.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from airflow_provider_mediajobs import exceptions, metrics
from airflow_provider_mediajobs.engine.cadence import Cadence
from airflow_provider_mediajobs.engine.deadline import PastDeadline, within
from airflow_provider_mediajobs.engine.retry import RETRYABLE, backoff_delay, retry_after_of
from airflow_provider_mediajobs.exceptions import (
    MediaJobCanceledError,
    MediaJobError,
    MediaJobTimeoutError,
)
from airflow_provider_mediajobs.models import JobState, MediaJob

# An event's status: a finished job's state, or how the wait ended without one.
SUCCEEDED, FAILED, CANCELED = JobState.SUCCEEDED.value, JobState.FAILED.value, JobState.CANCELED.value
TIMEOUT, ERROR = "timeout", "error"
STATUSES = frozenset({SUCCEEDED, FAILED, CANCELED, TIMEOUT, ERROR})

OUTAGE_TOLERANCE = 1800.0  # seconds of failing status reads in a row that a wait rides out
MAX_BACKOFF = 300.0  # longest pause between two failing reads
PROGRESS_LOG_EVERY = 300.0  # seconds between "still waiting" lines when nothing changes

_LOG = logging.getLogger(__name__)

Step = dict[str, Any] | float  # an event (the wait ended) or seconds to pause before the next read


# ---- events: what a wait ended with -------------------------------------------------------------
def event_for_job(job: MediaJob) -> dict[str, Any]:
    """The event of a finished job."""
    status = job.state.value
    if status == SUCCEEDED:
        message = f"{job.provider} job {job.job_id} succeeded with {len(job.outputs)} output(s)."
    elif status == FAILED:
        message = f"{job.provider} job {job.job_id} failed: {job.error or 'no reason given'}"
        if job.retryable:
            message += " (the provider marks this failure as transient: resubmitting may succeed)"
    else:
        message = f"{job.provider} job {job.job_id} was canceled."
    return {"status": status, "job": job.to_dict(), "message": message}


def event_for_timeout(
    job: MediaJob | None, provider: str, job_id: str, waited: float, note: str = ""
) -> dict[str, Any]:
    state = f" (last seen: {job.describe()})" if job else ""
    return {
        "status": TIMEOUT,
        "job": job.to_dict() if job else None,
        "message": f"Timed out after {waited:.0f}s waiting for {provider} job {job_id}{state}.{note}",
    }


def event_for_error(error: Exception, job: MediaJob | None = None, note: str = "") -> dict[str, Any]:
    text = str(error) if isinstance(error, MediaJobError) else f"{type(error).__name__}: {error}"
    return {
        "status": ERROR,
        "job": job.to_dict() if job else None,
        "message": f"{text} {note}".strip(),
        "error_type": type(error).__name__,
    }


def _error_class(name: object) -> type[MediaJobError]:
    cls = getattr(exceptions, str(name), None)
    return cls if isinstance(cls, type) and issubclass(cls, MediaJobError) else MediaJobError


def result_or_raise(
    event: Mapping[str, Any] | None, *, provider: str, conn_id: str, job_id: str
) -> dict[str, Any]:
    """The job dict of a successful wait; otherwise the exception that fails (or skips) the task."""
    from airflow_provider_mediajobs._compat import AirflowSensorTimeout

    context: dict[str, Any] = {"provider": provider, "conn_id": conn_id, "job_id": job_id}
    if not isinstance(event, Mapping) or event.get("status") not in STATUSES:
        raise MediaJobError(
            f"The trigger sent an event this provider does not understand: {event!r:.200}", **context
        )
    status = event["status"]
    job_data = event.get("job")
    job = MediaJob.from_dict(job_data) if isinstance(job_data, Mapping) else None
    message = str(event.get("message") or status)
    if status == SUCCEEDED and job is not None:
        return job.to_dict()
    if status == FAILED:
        raise exceptions.failed_job_error(message, job=job, hint="", **context)
    if status == CANCELED:
        raise MediaJobCanceledError(message, job=job, hint="", **context)
    if status == TIMEOUT:
        raise AirflowSensorTimeout(str(MediaJobTimeoutError(message, **context)))
    raise _error_class(event.get("error_type"))(message, **context, hint="")


def duration(seconds: float) -> str:
    """``"45s"``, ``"12 min"``, ``"2 h 5 min"``: a span as a person reads it in a log."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60} min"


def summary_line(event: Mapping[str, Any], provider: str, job_id: str) -> str:
    """The one line a person scans at the end of a wait: who, how it ended, how long, what it cost."""
    job_data = event.get("job")
    job = MediaJob.from_dict(job_data) if isinstance(job_data, Mapping) else None
    parts = [f"Wait for {provider} job {job_id} ended: {event.get('status')}"]
    waited = event.get("waited_seconds")
    if isinstance(waited, (int, float)):
        parts.append(f"after {duration(float(waited))}")
    calls = event.get("status_calls")
    line = " ".join(parts)
    line += f"; {calls if calls is not None else 'unknown'} status call(s)"
    line += f"; cost {job.cost_text if job else 'none reported'}"
    line += f"; {len(job.outputs) if job else 0} output(s)."
    return line


# ---- the wait -----------------------------------------------------------------------------------
class WaitState:
    """The state of one wait; every method takes ``now`` (epoch seconds) and returns a :data:`Step`.

    :param deadline: epoch seconds after which the wait ends with ``timeout`` (None: no deadline).
    :param outage_tolerance: seconds of failing status reads in a row before the wait ends with
        ``error``; never past the deadline.
    :param max_backoff: longest pause between two failing reads (backoff starts at
        ``poll_interval``; a provider's ``Retry-After`` is a floor).
    :param max_consecutive_failures: optional extra bound on failing reads in a row (None: time only).
    """

    def __init__(
        self,
        *,
        provider: str,
        job_id: str,
        poll_interval: float,
        max_poll_interval: float,
        deadline: float | None = None,
        started_at: float | None = None,
        outage_tolerance: float = OUTAGE_TOLERANCE,
        max_backoff: float = MAX_BACKOFF,
        max_consecutive_failures: int | None = None,
        log: Any = None,
        rng: random.Random | None = None,
    ) -> None:
        self.provider = provider
        self.job_id = str(job_id)
        self.cadence = (
            Cadence(poll_interval, max_poll_interval)
            if rng is None
            else Cadence(poll_interval, max_poll_interval, rng=rng)
        )
        self.deadline = deadline
        self.started_at = time.time() if started_at is None else started_at
        self.outage_tolerance = max(0.0, float(outage_tolerance))
        self.retry_base = self.cadence.poll_interval
        self.max_backoff = max(float(max_backoff), self.retry_base)
        self.max_consecutive_failures = max_consecutive_failures
        self.log = log or _LOG
        self.rng = rng
        self.job: MediaJob | None = None
        self.status_calls = 0
        self.failures = 0  # failing reads in a row
        self.failing_since: float | None = None
        self.running_at: float | None = None  # when a read first found the job running
        self._last_logged: tuple[Any, ...] | None = None
        self._last_log_time = 0.0

    def remaining(self, now: float) -> float:
        return float("inf") if self.deadline is None else self.deadline - now

    def _pause(self, delay: float, now: float) -> float:
        return max(0.0, min(delay, self.remaining(now)))

    def before_read(self, now: float) -> dict[str, Any] | None:
        """The timeout event once the deadline has passed; None: go and read."""
        if self.remaining(now) > 0:
            return None
        return self.timed_out(now)

    def timed_out(self, now: float) -> dict[str, Any]:
        """The timeout event (the deadline has passed, or the next allowed read lies past it)."""
        note = ""
        if self.failures:
            note = f" The last {self.failures} status read(s) failed over {duration(now - (self.failing_since or now))}."
        return event_for_timeout(self.job, self.provider, self.job_id, now - self.started_at, note)

    def read_ok(self, job: MediaJob, now: float) -> Step:
        self.status_calls += 1
        metrics.status_read(self.provider)
        if self.failures:
            metrics.outage_tolerated(self.provider, now - (self.failing_since or now), recovered=True)
            self.log.info(
                "%s job %s: status reads work again after %d failure(s) over %s.",
                self.provider,
                self.job_id,
                self.failures,
                duration(now - (self.failing_since or now)),
            )
        self.failures, self.failing_since = 0, None
        self.job = job
        if job.state is JobState.RUNNING and self.running_at is None:
            self.running_at = now
        if job.is_terminal:  # the final state, in the log of whoever waited (a trigger's too)
            self.log.info("%s", job.describe())
            return event_for_job(job)
        state_key = (job.state, job.queue_position, round(job.progress or 0, 1))
        if state_key != self._last_logged or now - self._last_log_time >= PROGRESS_LOG_EVERY:
            self.log.info("%s", job.describe())
            self._last_logged, self._last_log_time = state_key, now
        return self._pause(self.cadence.next_delay(job, now), now)

    def read_failed(self, error: MediaJobError, now: float) -> Step:
        """A read that raised: retry transient trouble within the tolerance, end on anything else."""
        self.status_calls += 1
        metrics.status_read(self.provider, error)
        if not isinstance(error, RETRYABLE):  # auth, not found, bad request: waiting will not fix it
            return event_for_error(error, self.job)
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = now
        outage = now - self.failing_since
        window = min(self.outage_tolerance, max(0.0, self.remaining(self.failing_since)))
        left = window - outage
        count_bound = self.max_consecutive_failures
        if left <= 0 or (count_bound is not None and self.failures >= count_bound):
            note = (
                f"Gave up after {self.failures} failed status reads in a row over {duration(outage)} "
                f"(tolerating transient failures for {duration(self.outage_tolerance)}"
                + (f" or {count_bound} reads in a row" if count_bound is not None else "")
                + ")."
            )
            self.log.error("%s %s", error, note)
            metrics.outage_tolerated(self.provider, outage, recovered=False)
            return event_for_error(error, self.job, note)
        retry_after = retry_after_of(error)
        delay = backoff_delay(
            self.failures,
            base=self.retry_base,
            cap=self.max_backoff,
            retry_after=retry_after,
            **({"rng": self.rng} if self.rng else {}),
        )
        # come back for one last read at the end of the window, not a whole backoff step after it
        pause = self._pause(max(min(delay, left), retry_after or 0.0), now)
        tolerance = f"tolerating transient failures for {duration(left)} more"
        if count_bound is not None:
            tolerance += f", or until {count_bound} in a row"
        self.log.warning(
            "%s job %s: status read failed, %d in a row (%s); next read in %s (%s).",
            self.provider,
            self.job_id,
            self.failures,
            error.detail,
            duration(pause),
            tolerance,
        )
        return pause

    def finish(self, event: dict[str, Any], now: float) -> dict[str, Any]:
        """The event as the task receives it: with the job id and how the wait went."""
        event["job_id"] = self.job_id  # `airflow dags test` resumes with the event alone
        event["status_calls"] = self.status_calls
        event["waited_seconds"] = round(now - self.started_at, 3)
        # as the wait saw them (poll resolution): queued until a read found it running, then running
        seen = self.job is not None
        event["queued_seconds"] = round((self.running_at or now) - self.started_at, 3) if seen else None
        event["running_seconds"] = round(now - self.running_at, 3) if self.running_at else None
        return event


async def run_async(
    wait: WaitState, read: Callable[[], Awaitable[MediaJob]], *, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """Read until the wait ends (the trigger); returns the finished event. Sleeps inside a read
    (a rate-limit slot, a retry) end at the wait's deadline too: the wait then times out on time."""
    while True:
        step: Step | None = wait.before_read(clock())
        if step is None:
            try:
                with within(wait.deadline):
                    job = await read()
            except PastDeadline:
                step = wait.timed_out(clock())
            except MediaJobError as err:
                step = wait.read_failed(err, clock())
            else:
                step = wait.read_ok(job, clock())
        if isinstance(step, dict):
            return wait.finish(step, clock())
        await asyncio.sleep(step)


def run_sync(
    wait: WaitState,
    read: Callable[[], MediaJob],
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], object] = time.sleep,
) -> dict[str, Any]:
    """The blocking twin of :func:`run_async` (a wait on the worker)."""
    while True:
        step: Step | None = wait.before_read(clock())
        if step is None:
            step = poll_once(wait, read, clock=clock)
        if isinstance(step, dict):
            return wait.finish(step, clock())
        sleep(step)


def poll_once(
    wait: WaitState, read: Callable[[], MediaJob], *, clock: Callable[[], float] = time.time
) -> Step:
    """One blocking read fed to ``wait`` (a poke, or one turn of :func:`run_sync`)."""
    try:
        job = read()
    except MediaJobError as err:
        return wait.read_failed(err, clock())
    return wait.read_ok(job, clock())
