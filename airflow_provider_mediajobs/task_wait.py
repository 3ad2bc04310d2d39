"""The waiting behaviour shared by the sensors and the submit operators.

Check once; if the job is already finished, return (or fail) without deferring. Otherwise defer to
:class:`~airflow_provider_mediajobs.triggers.MediaJobTrigger` with a wall-clock deadline, and a
slightly longer framework timeout as a backstop in case no triggerer ever runs the trigger. Without
deferral the same wait (:class:`~airflow_provider_mediajobs.engine.wait.WaitState`) runs on the
worker, one read per poke or in a blocking loop. Every wait ends with one summary line in the log.
Given ``destination=``, the task persists the job's outputs right there, in the step that saw it
finish (:mod:`~airflow_provider_mediajobs.operators.persist`): one task per media job.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_mediajobs import lineage, metrics
from airflow_provider_mediajobs.deferrable import resolve_deferrable
from airflow_provider_mediajobs.dialects.registry import get_spec, hook_class, provider_of_connection
from airflow_provider_mediajobs.engine.cadence import Cadence
from airflow_provider_mediajobs.engine.retry import RETRYABLE
from airflow_provider_mediajobs.engine.wait import (
    MAX_BACKOFF,
    OUTAGE_TOLERANCE,
    TIMEOUT,
    WaitState,
    event_for_job,
    event_for_timeout,
    job_of,
    result_or_raise,
    summary_line,
)
from airflow_provider_mediajobs.models import MediaJob
from airflow_provider_mediajobs.operators.persist_options import PersistsOutputs

if TYPE_CHECKING:
    from airflow_provider_mediajobs.hooks import MediaJobHook

# The framework's trigger timeout is checked every 15 s by the scheduler; give the trigger's own
# deadline (which produces a clean "timeout" event) room to fire first.
BACKSTOP_SECONDS = 120.0


def seconds(value: float | timedelta | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TaskWaitMixin(PersistsOutputs):
    """Base of the operators that wait on one job (and persist its outputs when given a
    destination): the wait arguments, declared once here.

    :param conn_id: Airflow connection id (templated); the provider subclasses default it.
    :param job_kind: the provider's job family where it has several (its dialect's ``job_kinds``).
    :param deferrable: wait in the triggerer instead of holding a worker slot; default True
        unless the admin set ``[operators] default_deferrable``.
    :param poll_interval: shortest time between status reads, seconds (provider default if None).
    :param max_poll_interval: longest time between status reads while the job is far from done.
    :param outage_tolerance: how long (seconds or timedelta) failing status reads in a row
        (5xx, 429, timeouts) are ridden out before the wait fails; 30 minutes by default, never
        past the wait's timeout.
    :param max_backoff: longest pause between two failing status reads (seconds or timedelta).
    :param max_consecutive_failures: optional extra bound on failing reads in a row (None: the
        time window alone decides).
    """

    default_provider: ClassVar[str | None] = None
    """Set by a provider's named subclass (from its registry line); None: read from the connection."""
    poll_sets_poke_interval: ClassVar[bool] = False
    """A sensor's ``poke_interval`` follows ``poll_interval`` (poke and reschedule modes)."""

    conn_id: str
    job_kind: str | None
    deferrable: bool
    poll_interval: float | None
    max_poll_interval: float | None
    outage_tolerance: float
    max_backoff: float
    max_consecutive_failures: int | None
    provider: str | None

    def __init__(
        self,
        *,
        conn_id: str | None = None,
        job_kind: str | None = None,
        deferrable: bool | None = None,
        poll_interval: float | None = None,
        max_poll_interval: float | None = None,
        outage_tolerance: float | timedelta | None = OUTAGE_TOLERANCE,
        max_backoff: float | timedelta | None = MAX_BACKOFF,
        max_consecutive_failures: int | None = None,
        **kwargs: Any,
    ) -> None:
        if self.poll_sets_poke_interval and poll_interval is not None:
            kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        provider = self.default_provider
        default_conn = get_spec(provider).default_conn_id if provider else None
        if not (conn_id or default_conn):
            raise ValueError("conn_id is required when no provider is set.")
        self.conn_id = conn_id or str(default_conn)
        self.provider = provider
        self.job_kind = job_kind
        self.deferrable = resolve_deferrable(deferrable)
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        tolerance, backoff = seconds(outage_tolerance), seconds(max_backoff)
        self.outage_tolerance = OUTAGE_TOLERANCE if tolerance is None else tolerance
        self.max_backoff = MAX_BACKOFF if backoff is None else backoff
        self.max_consecutive_failures = max_consecutive_failures

    # ---- OpenLineage (apache-airflow-providers-openlineage calls these when installed) --------
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs named by the payload, files persisted; the job as ``externalQuery`` and ``mediaJobs_job``."""
        return lineage.for_wait(self)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As on complete, plus ``errorMessage`` with the job's or the wait's reason."""
        return lineage.for_wait(self, failed=True)

    # ---- hook -------------------------------------------------------------------------------
    def _resolve_provider(self) -> str:
        if self.provider is None:
            self.provider = provider_of_connection(self.conn_id)
        return self.provider

    @property
    def hook(self) -> MediaJobHook:
        cached = getattr(self, "_hook", None)
        if cached is None:
            cached = hook_class(self._resolve_provider())(conn_id=self.conn_id, job_kind=self.job_kind)
            self._hook = cached
        return cached

    def _intervals(self) -> tuple[float, float]:
        dialect = self.hook.dialect
        low = self.poll_interval if self.poll_interval is not None else dialect.default_poll_interval
        high = (
            self.max_poll_interval
            if self.max_poll_interval is not None
            else max(low, dialect.default_max_poll_interval)
        )
        return float(low), max(float(low), float(high))

    # ---- the wait ---------------------------------------------------------------------------
    def _check_once(self, job_id: str) -> MediaJob | None:
        """One read before deferring, one attempt: transient trouble (a 429 included) is left to the
        trigger, whose reads the triggerer's rate limiter paces; a worker's retries would not be.

        A connection with a ``rate_limit`` defers unread (the trigger reads at once): the limit holds
        for the key, and only the triggerers' limiters share it; tasks starting together would not."""
        if self.hook.config.rate_limit:
            self.log.info(
                "Connection %r has a rate limit: the trigger makes the first read.", self.hook.config.conn_id
            )
            return None
        try:
            return self.hook.get_job(job_id, attempts=1)
        except RETRYABLE as err:
            self.log.warning(
                "First read of job %s failed (%s); waiting in the triggerer anyway.", job_id, err
            )
            return None

    def _wait_for(
        self,
        job_id: str,
        timeout: float,
        context: Any,
        *,
        cancel_on_kill: bool = False,
        job: MediaJob | None = None,
        read_first: bool = True,
    ) -> Any:
        """Return the finished job's dict, or defer (raising ``TaskDeferred``).

        ``job`` is a read of the job made just now (a re-attach's), used instead of another one;
        ``read_first=False`` defers without reading (a job created a moment ago is not finished),
        and the trigger reads it first one poll interval later.
        """
        from airflow_provider_mediajobs.triggers import MediaJobTrigger

        now = time.time()
        if job is None and read_first:
            job = self._check_once(job_id)
        low, high = self._intervals()
        first_read_at = None
        if job is not None:
            if job.is_terminal:
                self.log.info("%s: no need to wait.", job.describe())
                wait = self._wait_state(job_id, deadline=None, started_at=now)
                wait.status_calls = 1
                return self._finish(wait.finish(event_for_job(job), time.time()), job_id, context)
            self.log.info("%s; deferring to the triggerer.", job.describe())
            # just read: the trigger's first read comes one step of the cadence later
            first_read_at = now + Cadence(low, high).next_delay(job, now)
        else:
            self.log.info(
                "Deferring the wait for %s job %s to the triggerer.", self._resolve_provider(), job_id
            )
            if not read_first:
                # created a moment ago: the first read that can find it finished is one interval away
                first_read_at = now + low
        trigger = MediaJobTrigger(
            provider=self._resolve_provider(),
            conn_id=self.conn_id,
            job_id=job_id,
            job_kind=self.job_kind,
            poll_interval=low,
            max_poll_interval=high,
            deadline=now + timeout,
            outage_tolerance=self.outage_tolerance,
            max_backoff=self.max_backoff,
            max_consecutive_failures=self.max_consecutive_failures,
            cancel_on_kill=cancel_on_kill,
            started_at=now,
            first_read_at=first_read_at,
        )
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            kwargs={"job_id": job_id},
            timeout=timedelta(seconds=timeout + BACKSTOP_SECONDS),
        )

    def _wait_state(self, job_id: str, deadline: float | None, started_at: float | None = None) -> WaitState:
        """The wait on the worker (poke mode, non-deferrable submit): same settings as the trigger's."""
        low, high = self._intervals()
        return WaitState(
            provider=self._resolve_provider(),
            job_id=job_id,
            poll_interval=low,
            max_poll_interval=high,
            deadline=deadline,
            started_at=started_at,
            outage_tolerance=self.outage_tolerance,
            max_backoff=self.max_backoff,
            max_consecutive_failures=self.max_consecutive_failures,
            log=self.log,
        )

    def _read(self, job_id: str) -> MediaJob:
        """One status read for the wait loop: the loop, not the hook, retries it."""
        return self.hook.get_job(job_id, attempts=1)

    @staticmethod
    def _resumed_job_id(event: dict[str, Any] | None, job_id: str | None) -> str | None:
        """The job id of a resumed wait: the deferral's kwarg, else the trigger's event.

        A triggerer adds the event to the kwargs given to ``defer``; ``airflow dags test``
        (``dag.test()``, Airflow 3.3) resumes with ``{"event": ...}`` only, so the event names
        the job as well.
        """
        if job_id is None and isinstance(event, dict):
            job = event.get("job")
            job_id = event.get("job_id") or (job.get("job_id") if isinstance(job, dict) else None)
        return None if job_id is None else str(job_id)

    def _log_unfinished(self, wait: WaitState | None, job_id: str) -> None:
        """The summary line of a wait that Airflow ended (a poke-mode sensor's own timeout)."""
        if wait is not None:
            now = time.time()
            event = event_for_timeout(wait.job, wait.provider, job_id, now - wait.started_at)
            self.log.info("%s", summary_line(wait.finish(event, now), wait.job, wait.provider, job_id))

    def _finish(
        self, event: dict[str, Any] | None, job_id: str, context: Any, *, on_timeout: Any = None
    ) -> Any:
        """The task's result from the wait's event; with a destination, the outputs persisted too."""
        provider = self._resolve_provider()
        metrics.wait_ended(provider, event)
        self._lineage_end = (job_id, event)  # for OpenLineage's complete/failure events, after a deferral too
        job = job_of(event)
        if isinstance(event, dict):
            self.log.info("%s", summary_line(event, job, provider, job_id))
            if event.get("status") == TIMEOUT and on_timeout is not None:
                on_timeout(job_id)
        result = result_or_raise(event, job, provider=provider, conn_id=self.conn_id, job_id=job_id)
        assert isinstance(event, dict)
        # How the wait went, for dashboards and the demo; MediaJob.from_dict ignores it.
        result["wait"] = {
            "status_calls": event.get("status_calls"),
            "waited_seconds": event.get("waited_seconds"),
        }
        if self.destination is not None:
            # the event's job was read the moment it finished: its URLs are fresh (no second read)
            result["files"] = self.persist(context, self.hook, job_id, MediaJob.from_dict(result))
        self._lineage_result = result  # with the job's ``files`` once persisted (OpenLineage's outputs)
        return result
