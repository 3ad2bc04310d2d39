"""Wait for a job that something else started; return the job (state, progress, outputs) as XCom.

With ``destination=`` the sensor persists the job's outputs in the step that saw it finish.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_mediajobs.dialects.registry import SENSOR_SUFFIX, convenience_classes
from airflow_provider_mediajobs.engine.wait import WaitState, poll_once
from airflow_provider_mediajobs.exceptions import MediaJobError
from airflow_provider_mediajobs.plugins.links import MediaLink
from airflow_provider_mediajobs.task_wait import TaskWaitMixin, recording_failure

if TYPE_CHECKING:
    from airflow.sdk import Context


class MediaJobSensor(TaskWaitMixin, BaseSensorOperator):
    """Wait until a media job finishes; return its :meth:`MediaJob.to_dict` (XCom).

    Works for any of the four connection types: the provider is read from the connection unless a
    provider-specific subclass sets it.

    :param job_id: the provider's job id (templated).
    :param timeout: seconds before the wait fails with ``AirflowSensorTimeout`` (skipped with
        ``soft_fail=True``); enforced by the trigger's own wall-clock deadline.

    The wait's arguments (``conn_id``, ``job_kind``, ``deferrable``, ``poll_interval``, ...) are
    :class:`~airflow_provider_mediajobs.task_wait.TaskWaitMixin`'s; ``destination`` and the other
    persist arguments (the finished job's outputs persisted in this task; the result then has
    ``files``) are :class:`~airflow_provider_mediajobs.operators.persist_options.PersistsOutputs`'.
    In ``reschedule`` mode each poke starts afresh, so only ``timeout`` bounds ``outage_tolerance``.

    A failed job fails the task with the provider's reason; a canceled job fails it too. With
    ``soft_fail=True`` only a timeout skips: a job that failed is never silently skipped.
    """

    template_fields: Sequence[str] = ("job_id", "conn_id", "job_kind", "destination", "filename_template")
    ui_color = "#f0e4ff"
    operator_extra_links = (MediaLink(),)
    poll_sets_poke_interval = True

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
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
    SENSOR_SUFFIX,
    __name__,
    lambda spec: (
        f"Wait for a {spec.display_name} job (connection ``{spec.default_conn_id}`` unless "
        "``conn_id`` is given)."
    ),
)
globals().update(_NAMED)

__all__ = ["MediaJobSensor", *_NAMED]
