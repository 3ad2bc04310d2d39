"""The one trigger that waits for a media job of any provider.

Contract with the triggerer (see docs in the README):
- kwargs are JSON primitives: provider, conn_id, job id, kind, poll settings and wall-clock
  deadlines (epoch seconds); never a key.
- ``run()`` resolves the connection asynchronously once, holds the event loop's shared HTTP pool
  and one status read prepared for the whole wait, runs the one wait loop (:mod:`~airflow_provider_mediajobs.engine.wait`: adaptive cadence,
  transient failures tolerated for ``outage_tolerance`` seconds with capped backoff honouring
  Retry-After) and yields exactly one event. It has no side effects, so running twice is safe.
- ``on_kill()`` cancels the remote job only when a person ended the task (marked it failed or
  success, cleared it) -- read back from the metadata DB: the task instance is no longer deferred
  -- and the task that submitted the job asked for that and the provider can cancel. Airflow 3.3
  also calls it on a triggerer whose trigger moved to another triggerer (after a stall longer than
  the health-check threshold); the task is still deferred then, and the job keeps running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mediajobs import metrics
from airflow_provider_mediajobs._compat import StateUnreadable, task_instance_state
from airflow_provider_mediajobs.dialects.registry import get_dialect
from airflow_provider_mediajobs.engine.wait import (
    MAX_BACKOFF,
    OUTAGE_TOLERANCE,
    WaitState,
    event_for_error,
    run_async,
)
from airflow_provider_mediajobs.exceptions import MediaJobError
from airflow_provider_mediajobs.hooks import MediaJobHook, hook_class


class MediaJobTrigger(BaseTrigger):
    """Wait for a media job to finish; fire one event ``{"status", "job", "message"}``.

    :param provider: a registered provider's name (its connection type).
    :param conn_id: Airflow connection id (resolved in the triggerer, never serialized).
    :param job_id: the provider's job id.
    :param job_kind: the provider's job family where it has several (its spec's ``job_kinds``).
    :param poll_interval: shortest time between two reads, seconds.
    :param max_poll_interval: longest time between two reads, seconds.
    :param deadline: wall-clock epoch seconds after which the wait ends with a ``timeout`` event.
    :param outage_tolerance: seconds of failing status reads in a row (5xx, 429, timeouts) that
        the wait rides out before it ends with ``error``; never past ``deadline``.
    :param max_backoff: longest pause between two failing reads, seconds.
    :param max_consecutive_failures: optional extra bound on failing reads in a row (None: the
        time window alone decides).
    :param cancel_on_kill: cancel the remote job in :meth:`on_kill` (set by submit operators).
    :param started_at: epoch seconds the wait began (for the timeout message).
    :param first_read_at: epoch seconds of the first read (None: at once); the task that deferred
        has just read the job, so reading again right away would learn nothing.
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
        outage_tolerance: float = OUTAGE_TOLERANCE,
        max_backoff: float = MAX_BACKOFF,
        max_consecutive_failures: int | None = None,
        cancel_on_kill: bool = False,
        started_at: float | None = None,
        first_read_at: float | None = None,
    ) -> None:
        super().__init__()
        get_dialect(provider)  # its module imported now (once a process), not at the first read
        self.provider = provider
        self.conn_id = conn_id
        self.job_id = str(job_id)
        self.job_kind = job_kind
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = max(float(max_poll_interval), self.poll_interval)
        self.deadline = None if deadline is None else float(deadline)
        self.outage_tolerance = float(outage_tolerance)
        self.max_backoff = float(max_backoff)
        self.max_consecutive_failures = (
            None if max_consecutive_failures is None else max(1, int(max_consecutive_failures))
        )
        self.cancel_on_kill = bool(cancel_on_kill)
        self.started_at = time.time() if started_at is None else float(started_at)
        self.first_read_at = None if first_read_at is None else float(first_read_at)

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
                "outage_tolerance": self.outage_tolerance,
                "max_backoff": self.max_backoff,
                "max_consecutive_failures": self.max_consecutive_failures,
                "cancel_on_kill": self.cancel_on_kill,
                "started_at": self.started_at,
                "first_read_at": self.first_read_at,
            },
        )

    def __repr__(self) -> str:
        return f"<MediaJobTrigger {self.provider} job {self.job_id} conn_id={self.conn_id!r}>"

    def _hook(self) -> MediaJobHook:
        return hook_class(self.provider)(conn_id=self.conn_id, job_kind=self.job_kind)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        wait = WaitState(
            provider=self.provider,
            job_id=self.job_id,
            poll_interval=self.poll_interval,
            max_poll_interval=self.max_poll_interval,
            deadline=self.deadline,
            started_at=self.started_at,
            outage_tolerance=self.outage_tolerance,
            max_backoff=self.max_backoff,
            max_consecutive_failures=self.max_consecutive_failures,
            log=self.log,
        )
        await metrics.aprepare()  # builds the stats client (a DNS lookup) off the loop, once
        with metrics.wait_in_flight(self.provider):
            try:
                async with hook.status_reads(self.job_id) as read:
                    event = await run_async(wait, read, first_read_at=self.first_read_at)
            except MediaJobError as err:  # connection problems found before the first read
                event = wait.finish(event_for_error(err), time.time())
        yield TriggerEvent(event)

    async def on_kill(self) -> None:
        """Cancel the remote job when a person killed the task (Airflow 3.3+), if asked and possible.

        The triggerer cancels a trigger that is still running again on each of its loops, which
        would interrupt the state read half-way and decide nothing: the decision runs in its own
        task, bounded in time by the state read's and the cancel call's timeouts, and is awaited
        through such repeated cancels."""
        decision = asyncio.ensure_future(self._kill())
        while True:
            try:
                await asyncio.shield(decision)
                return
            except asyncio.CancelledError:
                if decision.done():
                    raise

    async def _kill(self) -> None:
        if not self.cancel_on_kill:
            return
        hook = self._hook()
        if not hook.supports_cancel:
            self.log.info("%s cannot cancel jobs; job %s keeps running.", self.provider, self.job_id)
            return
        cancel, why = await self._kill_is_real()
        if not cancel:
            self.log.info("%s job %s not canceled: %s.", self.provider, self.job_id, why)
            return
        try:
            canceled = await hook.acancel_job(self.job_id)
        except MediaJobError as err:
            self.log.warning("Could not cancel %s job %s (%s): %s", self.provider, self.job_id, why, err)
            return
        self.log.info(
            "Cancel of %s job %s (%s): %s.",
            self.provider,
            self.job_id,
            why,
            "done" if canceled else "job had already finished",
        )

    async def _kill_is_real(self) -> tuple[bool, str]:
        """(cancel?, why): a person ended the task only if it is no longer deferred. A trigger that
        moved to another triggerer is cancelled here too, while its task stays deferred on it."""
        try:
            state = await task_instance_state(getattr(self, "task_instance", None))
        except StateUnreadable as err:
            return False, f"its task's state cannot be read ({err}), so a user kill is not confirmed"
        if state == "deferred":
            return False, "its task is still deferred (the trigger moved to another triggerer)"
        return True, f"its task is {state or 'cleared or gone'}, no longer deferred"
