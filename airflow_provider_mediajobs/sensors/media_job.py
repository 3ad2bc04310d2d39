"""Wait for a job that something else started; return the job (state, progress, outputs) as XCom.

With ``destination=`` the sensor persists the job's outputs in the step that saw it finish.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_mediajobs.deferrable import resolve_deferrable
from airflow_provider_mediajobs.dialects.registry import convenience_classes
from airflow_provider_mediajobs.engine.wait import MAX_BACKOFF, OUTAGE_TOLERANCE, WaitState, poll_once
from airflow_provider_mediajobs.exceptions import MediaJobError
from airflow_provider_mediajobs.operators.filenames import DEFAULT_TEMPLATE
from airflow_provider_mediajobs.operators.persist import (
    DEFAULT_ATTEMPTS_PER_FILE,
    DEFAULT_DOWNLOAD_DEADLINE,
    DEFAULT_DOWNLOAD_TIMEOUT,
    outlets_with_asset,
)
from airflow_provider_mediajobs.plugins.links import MediaLink
from airflow_provider_mediajobs.task_wait import TaskWaitMixin, recording_failure

if TYPE_CHECKING:
    from airflow.sdk import Context


class MediaJobSensor(TaskWaitMixin, BaseSensorOperator):
    """Wait until a media job finishes; return its :meth:`MediaJob.to_dict` (XCom).

    Works for any of the four connection types: the provider is read from the connection unless a
    provider-specific subclass sets it.

    :param job_id: the provider's job id (templated).
    :param conn_id: Airflow connection id (templated); the subclasses default it.
    :param job_kind: the provider's job family where it has several (its dialect's ``job_kinds``).
    :param deferrable: wait in the triggerer instead of holding a worker slot; default True
        unless the admin set ``[operators] default_deferrable``.
    :param poll_interval: shortest time between status reads, seconds (provider default if None).
    :param max_poll_interval: longest time between status reads while the job is far from done.
    :param outage_tolerance: how long (seconds or timedelta) failing status reads in a row
        (5xx, 429, timeouts) are ridden out before the wait fails; 30 minutes by default, never
        past ``timeout``. In ``reschedule`` mode each poke starts afresh, so only ``timeout`` bounds it.
    :param max_backoff: longest pause between two failing reads in the triggerer (seconds).
    :param max_consecutive_failures: optional extra bound on failing reads in a row (formerly the
        only bound, default 10; now None: the time window alone decides).
    :param timeout: seconds before the wait fails with ``AirflowSensorTimeout`` (skipped with
        ``soft_fail=True``); enforced by the trigger's own wall-clock deadline.
    :param destination: persist the finished job's outputs here, in this task (templated), with
        ``filename_template``, ``max_bytes``, ``overwrite``, ``asset``, ``download_timeout``,
        ``download_deadline``, ``allow_private_hosts``, ``attempts_per_file`` and ``progress_interval`` as for ``MediaJobOutputsOperator``; the
        result then has ``files``, that operator's records.

    A failed job fails the task with the provider's reason; a canceled job fails it too. With
    ``soft_fail=True`` only a timeout skips: a job that failed is never silently skipped.
    """

    template_fields: Sequence[str] = ("job_id", "conn_id", "job_kind", "destination", "filename_template")
    ui_color = "#f0e4ff"
    operator_extra_links = (MediaLink(),)
    default_provider: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        job_id: str,
        conn_id: str | None = None,
        job_kind: str | None = None,
        deferrable: bool | None = None,
        poll_interval: float | None = None,
        max_poll_interval: float | None = None,
        outage_tolerance: float | timedelta = OUTAGE_TOLERANCE,
        max_backoff: float | timedelta = MAX_BACKOFF,
        max_consecutive_failures: int | None = None,
        destination: Any = None,
        filename_template: str = DEFAULT_TEMPLATE,
        max_bytes: int | Mapping[str, int] | None = None,
        overwrite: bool = False,
        asset: bool = False,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
        download_deadline: float | None = DEFAULT_DOWNLOAD_DEADLINE,
        allow_private_hosts: bool | None = None,
        attempts_per_file: int = DEFAULT_ATTEMPTS_PER_FILE,
        progress_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        if poll_interval is not None:
            kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**outlets_with_asset(kwargs, destination, asset))
        self.job_id = job_id
        self._init_wait(
            conn_id=conn_id,
            provider=self.default_provider,
            job_kind=job_kind,
            deferrable=resolve_deferrable(deferrable),
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            outage_tolerance=outage_tolerance,
            max_backoff=max_backoff,
            max_consecutive_failures=max_consecutive_failures,
        )
        self._init_persist(
            destination=destination,
            filename_template=filename_template,
            max_bytes=max_bytes,
            overwrite=overwrite,
            download_timeout=download_timeout,
            download_deadline=download_deadline,
            allow_private_hosts=allow_private_hosts,
            attempts_per_file=attempts_per_file,
            progress_interval=progress_interval,
        )
        self._poke_wait: WaitState | None = None

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            from airflow_provider_mediajobs._compat import AirflowSensorTimeout, AirflowSkipException

            try:
                with recording_failure(context):
                    return super().execute(context)
            except (AirflowSensorTimeout, AirflowSkipException) as err:
                # soft_fail skips on any AirflowFailException; only a timeout may skip (see resume_execution)
                if (
                    isinstance(err, AirflowSkipException)
                    and isinstance(err.__cause__, MediaJobError)
                    and not self.never_fail
                ):
                    raise err.__cause__ from None
                self._log_unfinished(self._poke_wait, str(self.job_id))  # Airflow's timeout
                raise
        with recording_failure(context):
            return self._wait_for(str(self.job_id), float(self.timeout), context)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One read of the wait (poke mode): transient failures return False until the tolerance ends."""
        job_id = str(self.job_id)
        if self._poke_wait is None:
            self._poke_wait = self._wait_state(job_id, deadline=None)
        step = poll_once(self._poke_wait, lambda: self._read(job_id))
        if not isinstance(step, dict):
            return False
        event = self._poke_wait.finish(step, time.time())
        self._poke_wait = None
        return PokeReturnValue(is_done=True, xcom_value=self._finish(event, job_id, context))

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, job_id: str | None = None
    ) -> Any:
        with recording_failure(context):
            return self._finish(event, self._resumed_job_id(event, job_id) or str(self.job_id), context)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        # BaseSensorOperator turns *any* error after deferral into a skip under soft_fail; a failed
        # media job must fail the task, so only timeouts get the soft_fail treatment here.
        # never_fail skips on any error, as it does in poke mode.
        from airflow.sdk import BaseOperator

        from airflow_provider_mediajobs._compat import (
            AirflowSensorTimeout,
            AirflowSkipException,
            TaskDeferralTimeout,
        )

        try:
            try:
                return BaseOperator.resume_execution(self, next_method, next_kwargs, context)
            except TaskDeferralTimeout as err:
                raise AirflowSensorTimeout(*err.args) from err
        except AirflowSkipException:
            raise
        except AirflowSensorTimeout as err:
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(f"Skipping on timeout (soft_fail): {err}") from err
            raise
        except Exception as err:
            if self.never_fail:
                raise AirflowSkipException(f"Skipping on error (never_fail): {err}") from err
            raise


_NAMED = convenience_classes(
    MediaJobSensor,
    "JobSensor",
    __name__,
    lambda spec: (
        f"Wait for a {spec.display_name} job (connection ``{spec.default_conn_id}`` unless "
        "``conn_id`` is given)."
    ),
)
globals().update(_NAMED)

__all__ = ["MediaJobSensor", *_NAMED]
