"""What a retry cannot fix fails the task without spending its retries (``AirflowFailException``).

The task runner decides by ``isinstance(err, AirflowFailException)``; these tests pin which of
the typed errors are such, that the decision survives the trigger's event and pickling, and that
the sensor's ``soft_fail`` still skips only on a timeout. tests/e2e/test_e2e_retries.py runs it
through real task runs.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from airflow_provider_mediajobs import exceptions as exc
from airflow_provider_mediajobs._compat import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)
from airflow_provider_mediajobs.engine.wait import (
    event_for_error,
    event_for_job,
    event_for_timeout,
    job_of,
    result_or_raise,
)
from airflow_provider_mediajobs.models import JobState, MediaJob
from airflow_provider_mediajobs.sensors import TensorPixJobSensor

from support.constants import SENTINEL, TAMS_HOST
from support.wire import make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

CTX = {"provider": "tensorart", "conn_id": "tensorart_default", "job_id": "7"}
FINAL = [
    exc.MediaJobConfigError("Connection 'x' is of type 'http'."),
    exc.InvalidJobIdError("unsafe job id"),
    exc.MediaJobAuthError("HTTP 401"),
    exc.MediaJobNotFoundError("HTTP 404"),
    exc.MediaJobPermanentFailureError("job 7 failed: bad prompt"),
    exc.OutputExistsError("target exists"),
]
RETRIED = [
    exc.MediaJobTransientError("HTTP 503"),
    exc.MediaJobRateLimitedError("HTTP 429", retry_after=3.0),
    exc.MediaJobBadResponseError("HTML instead of JSON"),
    exc.MediaJobApiError("HTTP 400 insufficient credits"),
    exc.MediaJobFailedError("job 7 failed: no reason given"),
    exc.MediaJobCanceledError("job 7 was canceled"),
    exc.OutputExpiredError("signed URL expired"),
]


@pytest.mark.parametrize("err", FINAL, ids=lambda e: type(e).__name__)
def test_what_a_retry_cannot_fix_fails_without_retries(err: exc.MediaJobError) -> None:
    assert isinstance(err, AirflowFailException)
    again = pickle.loads(pickle.dumps(err))  # errors cross process boundaries
    assert type(again) is type(err) and str(again) == str(err)


@pytest.mark.parametrize("err", RETRIED, ids=lambda e: type(e).__name__)
def test_everything_else_keeps_airflows_retries(err: exc.MediaJobError) -> None:
    assert not isinstance(err, AirflowFailException)


def _failed(**fields: Any) -> MediaJob:
    return MediaJob(provider="tensorart", job_id="7", state=JobState.FAILED, error="bad prompt", **fields)


def test_a_job_failure_the_provider_marks_permanent_fails_without_retries() -> None:
    event = event_for_job(_failed(permanent=True))
    with pytest.raises(exc.MediaJobPermanentFailureError, match="bad prompt") as info:
        result_or_raise(event, job_of(event), **CTX)
    assert isinstance(info.value, AirflowFailException)
    assert isinstance(info.value, exc.MediaJobFailedError)  # still the failed-job family
    assert info.value.job is not None and info.value.job.permanent


@pytest.mark.parametrize("fields", [{}, {"retryable": True}], ids=["unknown kind", "transient"])
def test_other_job_failures_keep_retries(fields: dict[str, Any]) -> None:
    with pytest.raises(exc.MediaJobFailedError) as info:
        job = _failed(**fields)
        result_or_raise(event_for_job(job), job, **CTX)
    assert not isinstance(info.value, AirflowFailException)


def test_permanent_survives_xcom() -> None:
    job = _failed(permanent=True)
    assert MediaJob.from_dict(job.to_dict()) == job
    assert MediaJob.from_dict({k: v for k, v in job.to_dict().items() if k != "permanent"}).permanent is False


def test_an_error_event_from_the_triggerer_keeps_the_decision() -> None:
    with pytest.raises(exc.MediaJobAuthError) as info:
        result_or_raise(event_for_error(exc.MediaJobAuthError("HTTP 403", **CTX)), None, **CTX)
    assert isinstance(info.value, AirflowFailException)
    with pytest.raises(exc.MediaJobTransientError) as transient:
        result_or_raise(event_for_error(exc.MediaJobTransientError("HTTP 503", **CTX)), None, **CTX)
    assert not isinstance(transient.value, AirflowFailException)


@pytest.mark.parametrize(
    ("code", "permanent"), [("FATAL_ERROR", True), ("TRANSITORY_ERROR", False), ("DEFAULT", False)]
)
def test_tams_fatal_error_is_permanent(requests_mock: Any, code: str, permanent: bool) -> None:
    job_id = "784512339871236541"
    body = {"job": {"id": job_id, "status": "FAILED", "failedInfo": {"reason": "NSFW prompt", "code": code}}}
    requests_mock.get(f"{TAMS_HOST}/v1/jobs/{job_id}", json=body)
    job = make_hook("tensorart").get_job(job_id)
    assert (job.state, job.permanent, job.retryable) == (
        JobState.FAILED,
        permanent,
        code == "TRANSITORY_ERROR",
    )


def test_poke_mode_soft_fail_does_not_skip_a_refused_key(requests_mock: Any) -> None:
    """BaseSensorOperator skips on any AirflowFailException under soft_fail; ours still fail."""
    requests_mock.get("https://backend.tensorpix.ai/api/jobs/42/", status_code=401, json={"detail": "no"})
    sensor = TensorPixJobSensor(task_id="wait", job_id="42", deferrable=False, soft_fail=True, timeout=60)
    with pytest.raises(exc.MediaJobAuthError) as info:
        sensor.execute({})  # type: ignore[arg-type]
    assert SENTINEL not in str(info.value)


def test_poke_mode_never_fail_still_skips(requests_mock: Any) -> None:
    requests_mock.get("https://backend.tensorpix.ai/api/jobs/42/", status_code=404, json={"detail": "no"})
    sensor = TensorPixJobSensor(task_id="wait", job_id="42", deferrable=False, never_fail=True, timeout=60)
    with pytest.raises(AirflowSkipException):
        sensor.execute({})  # type: ignore[arg-type]


def test_a_wait_past_its_deadline_is_a_sensor_timeout_without_retries() -> None:
    event = event_for_timeout(None, "tensorart", "7", 3600.0)
    with pytest.raises(exc.MediaJobTimeoutError) as info:
        result_or_raise(event, None, **CTX)
    assert isinstance(info.value, AirflowSensorTimeout)  # no retries; soft_fail skips
    assert "Timed out after 3600s" in str(info.value) and "job_id='7'" in str(info.value)
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is exc.MediaJobTimeoutError and str(again) == str(info.value)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("MediaJobAuthError", exc.MediaJobAuthError),
        ("OutputExpiredError", exc.OutputExpiredError),
        ("MediaJobPermanentFailureError", exc.MediaJobPermanentFailureError),
        ("AirflowException", exc.MediaJobError),  # not of the family
        ("redact", exc.MediaJobError),  # a name in the module, not an error
        (None, exc.MediaJobError),
    ],
)
def test_an_events_error_type_names_a_class_of_the_family(name: object, cls: type) -> None:
    assert exc.error_class(name) is cls
