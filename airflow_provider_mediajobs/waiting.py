"""One decision for every way of waiting: what a job's state means for the task.

The trigger turns a job (or an error) into an event with :func:`event_for_job` /
:func:`event_for_error`; sensors and operators, deferred or poking, turn a job or an event into a
result or an exception with :func:`result_or_raise`. Nothing else decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_mediajobs import exceptions
from airflow_provider_mediajobs.exceptions import (
    MediaJobCanceledError,
    MediaJobError,
    MediaJobTimeoutError,
)
from airflow_provider_mediajobs.models import JobState, MediaJob

SUCCESS, FAILED, CANCELED, TIMEOUT, ERROR = "success", "failed", "canceled", "timeout", "error"
STATUSES = frozenset({SUCCESS, FAILED, CANCELED, TIMEOUT, ERROR})

_STATUS_OF_STATE = {JobState.SUCCEEDED: SUCCESS, JobState.FAILED: FAILED, JobState.CANCELED: CANCELED}


def event_for_job(job: MediaJob) -> dict[str, Any]:
    """The event of a finished job."""
    status = _STATUS_OF_STATE[job.state]
    if status == SUCCESS:
        message = f"{job.provider} job {job.job_id} succeeded with {len(job.outputs)} output(s)."
    elif status == FAILED:
        message = f"{job.provider} job {job.job_id} failed: {job.error or 'no reason given'}"
        if job.retryable:
            message += " (the provider marks this failure as transient: resubmitting may succeed)"
    else:
        message = f"{job.provider} job {job.job_id} was canceled."
    return {"status": status, "job": job.to_dict(), "message": message}


def event_for_timeout(job: MediaJob | None, provider: str, job_id: str, waited: float) -> dict[str, Any]:
    state = f" (last seen: {job.describe()})" if job else ""
    return {
        "status": TIMEOUT,
        "job": job.to_dict() if job else None,
        "message": f"Timed out after {waited:.0f}s waiting for {provider} job {job_id}{state}.",
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
    if status == SUCCESS and job is not None:
        return job.to_dict()
    if status == FAILED:
        raise exceptions.failed_job_error(message, job=job, hint="", **context)
    if status == CANCELED:
        raise MediaJobCanceledError(message, job=job, hint="", **context)
    if status == TIMEOUT:
        raise AirflowSensorTimeout(str(MediaJobTimeoutError(message, **context)))
    raise _error_class(event.get("error_type"))(message, **context, hint="")


def result_for_job(job: MediaJob, *, conn_id: str) -> dict[str, Any]:
    """Same decision for a job read directly (a poke, or the check before deferring)."""
    return result_or_raise(event_for_job(job), provider=job.provider, conn_id=conn_id, job_id=job.job_id)
