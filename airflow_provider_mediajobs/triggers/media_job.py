"""The one trigger that waits for a media job of any provider.

Contract with the triggerer (see docs in the README):
- kwargs are JSON primitives: provider, conn_id, job id, kind, poll settings and wall-clock
  deadlines (epoch seconds); never a key.
- ``run()`` resolves the connection asynchronously once, holds the event loop's shared HTTP pool,
  polls with adaptive, jittered cadence, retries transient errors with capped backoff (honouring
  Retry-After), and yields exactly one event. It has no side effects, so running twice is safe.
- ``on_kill()`` (a user marked the task failed/success or cleared it) cancels the remote job,
  only when the task that submitted it asked for that and the provider can cancel.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mediajobs.engine import transport
from airflow_provider_mediajobs.engine.backoff import backoff_delay
from airflow_provider_mediajobs.engine.cadence import Cadence
from airflow_provider_mediajobs.exceptions import (
    MediaJobBadResponseError,
    MediaJobError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.hooks import MediaJobHook, hook_class
from airflow_provider_mediajobs.models import MediaJob
from airflow_provider_mediajobs.waiting import event_for_error, event_for_job, event_for_timeout

RETRYABLE = (MediaJobTransientError, MediaJobBadResponseError)
PROGRESS_LOG_EVERY = 300.0  # seconds between "still waiting" lines when nothing changes

_tls_builds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[Any]] = (
    weakref.WeakKeyDictionary()
)


async def _tls_context_ready() -> None:
    """Build the process's shared TLS context once, in a thread, however many waits start at once.

    The HTTP client lease builds it on first use too, but each wait that starts before it exists
    starts its own thread for it: 50 waits starting together meant a burst of thread starts and
    parallel CA-bundle loads that held the event loop for 50-100 ms (see
    tests/e2e/test_trigger_event_loop.py).
    """
    if transport._ssl_context is not None:
        return
    loop = asyncio.get_running_loop()
    build = _tls_builds.get(loop)
    if build is None:
        build = _tls_builds[loop] = loop.run_in_executor(None, transport.shared_ssl_context)
    try:
        await asyncio.shield(build)
    finally:
        if build.done():
            _tls_builds.pop(loop, None)  # built (or failed: the next wait tries again)


class MediaJobTrigger(BaseTrigger):
    """Wait for a media job to finish; fire one event ``{"status", "job", "message"}``.

    :param provider: ``goenhance``, ``tensorart``, ``vozo`` or ``tensorpix``.
    :param conn_id: Airflow connection id (resolved in the triggerer, never serialized).
    :param job_id: the provider's job id.
    :param job_kind: the provider's job family where it has several (Vozo ``translate``).
    :param poll_interval: shortest time between two reads, seconds.
    :param max_poll_interval: longest time between two reads, seconds.
    :param deadline: wall-clock epoch seconds after which the wait ends with a ``timeout`` event.
    :param max_consecutive_failures: transient failures in a row that end the wait with ``error``.
    :param cancel_on_kill: cancel the remote job in :meth:`on_kill` (set by submit operators).
    :param started_at: epoch seconds the wait began (for the timeout message).
    """

    def __init__(
        self,
        *,
        provider: str,
        conn_id: str,
        job_id: str,
        job_kind: str | None = None,
        poll_interval: float = 10.0,
        max_poll_interval: float = 60.0,
        deadline: float | None = None,
        max_consecutive_failures: int = 10,
        cancel_on_kill: bool = False,
        started_at: float | None = None,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.conn_id = conn_id
        self.job_id = str(job_id)
        self.job_kind = job_kind
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = max(float(max_poll_interval), self.poll_interval)
        self.deadline = None if deadline is None else float(deadline)
        self.max_consecutive_failures = max(1, int(max_consecutive_failures))
        self.cancel_on_kill = bool(cancel_on_kill)
        self.started_at = time.time() if started_at is None else float(started_at)
        self.status_calls = 0

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_mediajobs.triggers.MediaJobTrigger",
            {
                "provider": self.provider,
                "conn_id": self.conn_id,
                "job_id": self.job_id,
                "job_kind": self.job_kind,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "deadline": self.deadline,
                "max_consecutive_failures": self.max_consecutive_failures,
                "cancel_on_kill": self.cancel_on_kill,
                "started_at": self.started_at,
            },
        )

    def __repr__(self) -> str:
        return f"<MediaJobTrigger {self.provider} job {self.job_id} conn_id={self.conn_id!r}>"

    def _hook(self) -> MediaJobHook:
        return hook_class(self.provider)(conn_id=self.conn_id, job_kind=self.job_kind)

    def _remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.time()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        try:
            await _tls_context_ready()
            async with hook.aconnected():
                event = await self._wait(hook)
        except MediaJobError as err:  # connection problems found before the first read
            event = event_for_error(err)
        event["job_id"] = self.job_id  # `airflow dags test` resumes with the event alone
        event["status_calls"] = self.status_calls
        event["waited_seconds"] = round(time.time() - self.started_at, 3)
        yield TriggerEvent(event)

    async def _wait(self, hook: MediaJobHook) -> dict[str, Any]:
        cadence = Cadence(self.poll_interval, self.max_poll_interval)
        job: MediaJob | None = None
        failures = 0
        last_logged: tuple[Any, ...] | None = None
        last_log_time = 0.0
        while True:
            if self._remaining() <= 0:
                return event_for_timeout(job, self.provider, self.job_id, time.time() - self.started_at)
            try:
                self.status_calls += 1
                job = await hook.aget_job(self.job_id, attempts=1)
            except RETRYABLE as err:
                failures += 1
                if failures >= self.max_consecutive_failures:
                    note = f"Gave up after {failures} failed status reads in a row."
                    self.log.error("%s %s", err, note)
                    return event_for_error(err, job, note)
                retry_after = err.retry_after if isinstance(err, MediaJobRateLimitedError) else None
                delay = backoff_delay(
                    failures, base=self.poll_interval, cap=self.max_poll_interval, retry_after=retry_after
                )
                self.log.warning(
                    "Read %d of %s failed (%s); retrying in %.1fs.", failures, self.job_id, err.summary, delay
                )
                await asyncio.sleep(max(0.0, min(delay, self._remaining())))
                continue
            except MediaJobError as err:  # auth, not found, bad request: waiting will not fix it
                return event_for_error(err, job)
            failures = 0
            if job.is_terminal:
                self.log.info("%s after %d status call(s).", job.describe(), self.status_calls)
                return event_for_job(job)
            now = time.time()
            state_key = (job.state, job.queue_position, round(job.progress or 0, 1))
            if state_key != last_logged or now - last_log_time >= PROGRESS_LOG_EVERY:
                self.log.info("%s", job.describe())
                last_logged, last_log_time = state_key, now
            await asyncio.sleep(max(0.0, min(cadence.next_delay(job, now), self._remaining())))

    async def on_kill(self) -> None:
        """Cancel the remote job when a user kills the task (Airflow 3.3+), if asked and possible."""
        if not self.cancel_on_kill:
            return
        hook = self._hook()
        if not hook.supports_cancel:
            self.log.info("%s cannot cancel jobs; job %s keeps running.", self.provider, self.job_id)
            return
        try:
            canceled = await hook.acancel_job(self.job_id)
        except MediaJobError as err:
            self.log.warning("Could not cancel %s job %s: %s", self.provider, self.job_id, err)
            return
        self.log.info(
            "Cancel of %s job %s: %s.",
            self.provider,
            self.job_id,
            "done" if canceled else "job had already finished",
        )
