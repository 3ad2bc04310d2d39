"""The sensors: check once, defer with a safe trigger, turn events into results or the right error.

The sync HTTP path is mocked with requests_mock; the trigger itself is tested in test_trigger.py.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason

from airflow_provider_mediajobs._compat import (  # the Airflow 3.1 and 3.2+ homes
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferralError,
    TaskDeferred,
)
from airflow_provider_mediajobs.engine.wait import event_for_error, event_for_job, event_for_timeout
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobAuthError,
    MediaJobCanceledError,
    MediaJobConfigError,
    MediaJobError,
    MediaJobFailedError,
    MediaJobNotFoundError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.sensors import (
    GoEnhanceJobSensor,
    MediaJobSensor,
    TensorArtJobSensor,
    TensorPixJobSensor,
    VozoJobSensor,
)
from airflow_provider_mediajobs.task_wait import BACKSTOP_SECONDS
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.constants import SENTINEL
from support.provider_urls import GE, TAMS, TAMS_ID, TP

pytestmark = pytest.mark.usefixtures("provider_connections")

GE_ID = "5334c57d-8443-4b79-ba24-8539c2163c74"


def sensor(cls: type[MediaJobSensor] = TensorPixJobSensor, **kwargs: Any) -> MediaJobSensor:
    kwargs.setdefault("task_id", "wait")
    kwargs.setdefault("job_id", "42")
    kwargs.setdefault("timeout", 3600)
    return cls(**kwargs)


def tp_job(state: JobState, error: str | None = None) -> MediaJob:
    outputs = (MediaOutput(url="https://cdn.tensorpix.test/42.mp4", kind=OutputKind.VIDEO),)
    return MediaJob(
        provider="tensorpix",
        job_id="42",
        state=state,
        progress=1.0 if state is JobState.SUCCEEDED else 0.3,
        outputs=outputs if state is JobState.SUCCEEDED else (),
        error=error,
    )


def is_json_primitive(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(is_json_primitive(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_primitive(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, bool))


# ---- check once, then defer ----------------------------------------------------------------------
def test_finished_job_returns_without_deferring(requests_mock: Any, bodies: Any, make_context: Any) -> None:
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 2))

    result = sensor().execute(make_context())

    assert result["state"] == "succeeded"
    assert result["job_id"] == "42"
    assert result["output_urls"] == ["https://cdn.tensorpix.test/42.mp4?Expires=4102444800"]
    assert requests_mock.call_count == 1
    assert requests_mock.last_request.headers["Authorization"] == f"Token {SENTINEL}"


@pytest.mark.parametrize(
    ("cls", "conn_id", "job_id", "url", "body", "provider"),
    [
        (TensorPixJobSensor, None, "42", TP.format(42), ("tensorpix", 42, 1), "tensorpix"),
        (GoEnhanceJobSensor, None, GE_ID, GE.format(GE_ID), ("goenhance", GE_ID, "processing"), "goenhance"),
        (TensorArtJobSensor, None, TAMS_ID, TAMS.format(TAMS_ID), ("tams", TAMS_ID, "RUNNING"), "tensorart"),
        # The generic sensor learns the provider from the connection type.
        (
            MediaJobSensor,
            "tensorart_default",
            TAMS_ID,
            TAMS.format(TAMS_ID),
            ("tams", TAMS_ID, "WAITING"),
            "tensorart",
        ),
    ],
)
def test_running_job_defers_with_safe_kwargs(
    requests_mock: Any,
    bodies: Any,
    make_context: Any,
    cls: type[MediaJobSensor],
    conn_id: str | None,
    job_id: str,
    url: str,
    body: tuple[Any, ...],
    provider: str,
) -> None:
    builder, *args = body
    requests_mock.get(url, json=getattr(bodies, builder)(*args))
    task = sensor(cls, conn_id=conn_id, job_id=job_id, timeout=3600, poll_interval=2.5, max_poll_interval=30)

    before = time.time()
    with pytest.raises(TaskDeferred) as info:
        task.execute(make_context())
    after = time.time()

    deferred = info.value
    assert isinstance(deferred.trigger, MediaJobTrigger)
    assert deferred.method_name == "execute_complete"
    assert deferred.kwargs == {"job_id": job_id}
    # The framework timeout is a backstop behind the trigger's own deadline.
    assert deferred.timeout == timedelta(seconds=3600 + BACKSTOP_SECONDS)

    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "airflow_provider_mediajobs.triggers.MediaJobTrigger"
    assert is_json_primitive(kwargs), kwargs
    assert kwargs["provider"] == provider
    assert kwargs["conn_id"] == task.conn_id
    assert kwargs["job_id"] == job_id
    assert kwargs["poll_interval"] == 2.5
    assert kwargs["max_poll_interval"] == 30.0
    # A wall-clock deadline (epoch seconds), not a monotonic reading.
    assert before + 3600 <= kwargs["deadline"] <= after + 3600
    assert kwargs["cancel_on_kill"] is False  # a sensor did not start the job
    # The task has just read the job: the trigger's first read comes a cadence step later.
    assert before + 2.5 * 0.9 <= kwargs["first_read_at"] <= after + 30
    everything = json.dumps(kwargs) + json.dumps(deferred.kwargs) + repr(deferred.trigger)
    assert SENTINEL not in everything
    # The trigger kwargs rebuild the same trigger (what the triggerer does).
    assert MediaJobTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_job_id_and_conn_id_are_templated(make_context: Any) -> None:
    assert {"job_id", "conn_id"} <= set(MediaJobSensor.template_fields)
    task = sensor(MediaJobSensor, job_id="{{ params.job }}", conn_id="{{ params.conn }}")
    context = make_context()
    context["params"] = {"job": "77", "conn": "tensorpix_default"}

    task.render_template_fields(context)

    assert task.job_id == "77"
    assert task.conn_id == "tensorpix_default"


def test_transient_first_read_still_defers(
    requests_mock: Any, make_context: Any, no_sleep: list[float]
) -> None:
    requests_mock.get(TP.format(42), status_code=503, text="<html>Service Unavailable</html>")

    with pytest.raises(TaskDeferred) as info:
        sensor().execute(make_context())

    assert isinstance(info.value.trigger, MediaJobTrigger)
    assert requests_mock.call_count >= 1


@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 429, "headers": {"Retry-After": "1"}, "json": {"detail": "slow down"}},
        {"status_code": 503, "text": "busy"},
    ],
)
def test_the_first_read_on_the_worker_is_one_attempt(
    requests_mock: Any, make_context: Any, no_sleep: list[float], answer: dict[str, Any]
) -> None:
    """A worker's retries would be paced by no triggerer's limiter (a fleet's sensors start at
    once): one attempt, then the trigger reads."""
    requests_mock.get(TP.format(42), [answer, {"json": {"id": 42, "status": 2}}])

    with pytest.raises(TaskDeferred):
        sensor().execute(make_context())

    assert requests_mock.call_count == 1 and no_sleep == []


def test_unparseable_first_read_still_defers(
    requests_mock: Any, make_context: Any, no_sleep: list[float]
) -> None:
    requests_mock.get(TP.format(42), text="<html>maintenance</html>", headers={"Content-Type": "text/html"})

    with pytest.raises(TaskDeferred):
        sensor().execute(make_context())


def test_auth_error_on_first_read_fails_at_once(requests_mock: Any, make_context: Any) -> None:
    requests_mock.get(TP.format(42), status_code=401, json={"detail": "Invalid token."})

    with pytest.raises(MediaJobAuthError) as info:
        sensor().execute(make_context())

    assert "tensorpix_default" in str(info.value)
    assert SENTINEL not in str(info.value)


# ---- execute_complete: events to results --------------------------------------------------------
def test_success_event_returns_the_job_dict_with_wait_info(make_context: Any) -> None:
    event = event_for_job(tp_job(JobState.SUCCEEDED)) | {"status_calls": 7, "waited_seconds": 61.5}

    result = sensor().execute_complete(make_context(), event=event, job_id="42")

    assert result["state"] == "succeeded"
    assert result["output_urls"] == ["https://cdn.tensorpix.test/42.mp4"]
    assert result["wait"] == {"status_calls": 7, "waited_seconds": 61.5}
    json.dumps(result)  # XCom-safe


def test_failed_event_fails_with_the_providers_reason(make_context: Any) -> None:
    event = event_for_job(tp_job(JobState.FAILED, error="Input video could not be decoded"))

    with pytest.raises(MediaJobFailedError) as info:
        sensor().execute_complete(make_context(), event=event, job_id="42")

    err = info.value
    assert not isinstance(err, MediaJobCanceledError)
    assert "Input video could not be decoded" in str(err)
    assert err.job is not None and err.job.state is JobState.FAILED
    assert (err.provider, err.conn_id, err.job_id) == ("tensorpix", "tensorpix_default", "42")


def test_canceled_event_fails(make_context: Any) -> None:
    with pytest.raises(MediaJobCanceledError):
        sensor().execute_complete(make_context(), event=event_for_job(tp_job(JobState.CANCELED)), job_id="42")


def test_timeout_event_is_a_sensor_timeout(make_context: Any) -> None:
    event = event_for_timeout(tp_job(JobState.RUNNING), "tensorpix", "42", 3600.0)

    with pytest.raises(AirflowSensorTimeout) as info:
        sensor().execute_complete(make_context(), event=event, job_id="42")

    assert "42" in str(info.value)


@pytest.mark.parametrize(
    "error",
    [
        MediaJobAuthError("TensorPix answered HTTP 401", provider="tensorpix"),
        MediaJobNotFoundError("TensorPix answered HTTP 404", provider="tensorpix"),
        MediaJobTransientError("TensorPix answered HTTP 503", provider="tensorpix"),
        MediaJobApiError("TensorPix answered HTTP 400", provider="tensorpix"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_error_events_raise_the_named_error_class(make_context: Any, error: MediaJobError) -> None:
    event = event_for_error(error, note="Gave up.")

    with pytest.raises(MediaJobError) as info:
        sensor().execute_complete(make_context(), event=event, job_id="42")

    assert type(info.value) is type(error)
    assert "Gave up." in str(info.value)


@pytest.mark.parametrize("error_type", ["ZeroDivisionError", "time", "", None, "AirflowSkipException"])
def test_error_event_with_unknown_type_is_a_media_job_error(make_context: Any, error_type: Any) -> None:
    event = {"status": "error", "job": None, "message": "boom", "error_type": error_type}

    with pytest.raises(MediaJobError) as info:
        sensor().execute_complete(make_context(), event=event, job_id="42")

    assert type(info.value) is MediaJobError


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        "succeeded",
        {"status": "done"},
        {"status": "succeeded", "job": None},
        {"status": "succeeded", "job": 5},
    ],
)
def test_garbage_event_is_a_media_job_error(make_context: Any, event: Any) -> None:
    with pytest.raises(MediaJobError):
        sensor().execute_complete(make_context(), event=event, job_id="42")


# ---- resume_execution and soft_fail ---------------------------------------------------------------
def resume(task: MediaJobSensor, context: Any, event: dict[str, Any]) -> Any:
    return task.resume_execution("execute_complete", {"event": event, "job_id": "42"}, context)


def framework_timeout(task: MediaJobSensor, context: Any) -> Any:
    """What the task runner does when the scheduler times the deferral out (trigger never fired)."""
    kwargs = {"error": TriggerFailureReason.TRIGGER_TIMEOUT, "traceback": None}
    return task.resume_execution(TRIGGER_FAIL_REPR, kwargs, context)


def test_soft_fail_skips_on_a_timeout_event(make_context: Any) -> None:
    event = event_for_timeout(None, "tensorpix", "42", 3600.0)

    with pytest.raises(AirflowSkipException):
        resume(sensor(soft_fail=True), make_context(), event)
    with pytest.raises(AirflowSensorTimeout):
        resume(sensor(soft_fail=False), make_context(), event)


def test_soft_fail_skips_on_the_framework_deferral_timeout(make_context: Any) -> None:
    with pytest.raises(AirflowSkipException):
        framework_timeout(sensor(soft_fail=True), make_context())
    with pytest.raises(AirflowSensorTimeout):  # no retries, like any sensor timeout
        framework_timeout(sensor(soft_fail=False), make_context())


def test_never_fail_skips_on_timeout(make_context: Any) -> None:
    with pytest.raises(AirflowSkipException):
        framework_timeout(sensor(never_fail=True), make_context())


def test_soft_fail_does_not_hide_a_failed_job(make_context: Any) -> None:
    event = event_for_job(tp_job(JobState.FAILED, error="decoder crashed"))

    with pytest.raises(MediaJobFailedError, match="decoder crashed"):
        resume(sensor(soft_fail=True), make_context(), event)
    with pytest.raises(MediaJobCanceledError):
        resume(sensor(soft_fail=True), make_context(), event_for_job(tp_job(JobState.CANCELED)))


def test_soft_fail_does_not_hide_an_error_event(make_context: Any) -> None:
    event = event_for_error(MediaJobAuthError("TensorPix answered HTTP 401", provider="tensorpix"))

    with pytest.raises(MediaJobAuthError):
        resume(sensor(soft_fail=True), make_context(), event)


def test_soft_fail_does_not_hide_a_crashed_wait(make_context: Any) -> None:
    kwargs = {"error": TriggerFailureReason.TRIGGER_FAILURE, "traceback": ["Traceback ...", "boom"]}

    with pytest.raises(TaskDeferralError):
        sensor(soft_fail=True).resume_execution(TRIGGER_FAIL_REPR, kwargs, make_context())


def test_resume_with_success_event_returns_the_job(make_context: Any) -> None:
    result = resume(sensor(soft_fail=True), make_context(), event_for_job(tp_job(JobState.SUCCEEDED)))

    assert result["state"] == "succeeded"


# ---- poke mode: the same decision -----------------------------------------------------------------
def test_poke_returns_false_while_running_then_the_job(
    requests_mock: Any, bodies: Any, make_context: Any
) -> None:
    requests_mock.get(
        TP.format(42),
        [
            {"json": bodies.tensorpix(42, 0)},
            {"json": bodies.tensorpix(42, 1)},
            {"json": bodies.tensorpix(42, 2)},
        ],
    )
    task = sensor(deferrable=False)

    assert task.poke(make_context()) is False
    assert task.poke(make_context()) is False
    done = task.poke(make_context())

    assert isinstance(done, PokeReturnValue)
    assert done.is_done is True
    assert done.xcom_value["state"] == "succeeded"
    assert done.xcom_value["output_urls"] == ["https://cdn.tensorpix.test/42.mp4?Expires=4102444800"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(2, None), (-1, MediaJobFailedError), (-2, MediaJobCanceledError)],
    ids=["ok", "failed", "canceled"],
)
def test_poke_and_deferred_paths_decide_alike(
    requests_mock: Any, bodies: Any, make_context: Any, status: int, error: type[Exception] | None
) -> None:
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, status))
    poking, deferring = sensor(deferrable=False), sensor(deferrable=True)
    # What the trigger would send for this response: the same parser, then event_for_job.
    event = event_for_job(deferring.hook.get_job("42"))

    outcomes = []
    for run in (
        lambda: poking.poke(make_context()).xcom_value,  # type: ignore[union-attr]
        lambda: deferring.execute(make_context()),  # the check before deferring
        lambda: deferring.execute_complete(make_context(), event=event, job_id="42"),
    ):
        try:
            result = run()
        except MediaJobError as err:
            outcomes.append((type(err), str(err)))
        else:
            result.pop("wait", None)
            outcomes.append(("ok", result))

    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0][0] == (error or "ok")


def test_poke_mode_execute_waits_until_done(
    requests_mock: Any, bodies: Any, make_context: Any, no_sleep: list[float]
) -> None:
    requests_mock.get(
        TP.format(42),
        [
            {"json": bodies.tensorpix(42, 0)},
            {"json": bodies.tensorpix(42, 1)},
            {"json": bodies.tensorpix(42, 2)},
        ],
    )

    result = sensor(deferrable=False, poll_interval=7).execute(make_context())

    assert result["state"] == "succeeded"
    assert requests_mock.call_count == 3
    assert no_sleep == [7, 7]


def test_poke_mode_failed_job_fails_even_with_soft_fail(
    requests_mock: Any, bodies: Any, make_context: Any, no_sleep: list[float]
) -> None:
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, -1))

    with pytest.raises(MediaJobFailedError, match="could not be decoded"):
        sensor(deferrable=False, soft_fail=True).execute(make_context())


def test_poke_mode_timeout_skips_with_soft_fail(
    requests_mock: Any, bodies: Any, make_context: Any, no_sleep: list[float]
) -> None:
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 1))

    with pytest.raises(AirflowSkipException):
        sensor(deferrable=False, soft_fail=True, timeout=0).execute(make_context())
    with pytest.raises(AirflowSensorTimeout):
        sensor(deferrable=False, timeout=0).execute(make_context())


def test_poke_rides_out_transient_errors(
    requests_mock: Any, bodies: Any, make_context: Any, no_sleep: list[float]
) -> None:
    requests_mock.get(
        TP.format(42),
        [
            {"status_code": 503, "text": "busy"},
            {"status_code": 503, "text": "busy"},
            {"status_code": 503, "text": "busy"},  # one failed read = the hook's 3 attempts
            {"status_code": 502, "text": "<html>bad gateway</html>"},
            {"status_code": 502, "text": "<html>bad gateway</html>"},
            {"status_code": 502, "text": "<html>bad gateway</html>"},
            {"json": bodies.tensorpix(42, 2)},
        ],
    )

    result = sensor(deferrable=False, poll_interval=3).execute(make_context())

    assert result["state"] == "succeeded"


def test_poke_gives_up_after_max_consecutive_failures(
    requests_mock: Any, make_context: Any, no_sleep: list[float]
) -> None:
    requests_mock.get(TP.format(42), status_code=503, text="busy")
    task = sensor(deferrable=False, max_consecutive_failures=2)

    assert task.poke(make_context()) is False
    with pytest.raises(MediaJobTransientError):
        task.poke(make_context())


def test_never_fail_skips_a_failed_job_in_both_modes(
    requests_mock: Any, bodies: Any, make_context: Any, no_sleep: list[float]
) -> None:
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, -1))
    event = event_for_job(tp_job(JobState.FAILED, error="decoder crashed"))

    with pytest.raises(AirflowSkipException):
        sensor(deferrable=False, never_fail=True).execute(make_context())
    with pytest.raises(AirflowSkipException):
        resume(sensor(never_fail=True), make_context(), event)


# ---- connections --------------------------------------------------------------------------------
def test_generic_sensor_reads_the_provider_from_the_connection(
    requests_mock: Any, bodies: Any, make_context: Any
) -> None:
    requests_mock.get(GE.format(GE_ID), json=bodies.goenhance(GE_ID, "success"))

    result = MediaJobSensor(task_id="wait", conn_id="goenhance_default", job_id=GE_ID).execute(make_context())

    assert result["provider"] == "goenhance"
    assert result["output_urls"] == [f"https://static.goenhance.test/{GE_ID}.jpg"]


def test_generic_sensor_rejects_a_connection_of_another_type(requests_mock: Any, make_context: Any) -> None:
    task = MediaJobSensor(task_id="wait", conn_id="plain_http", job_id="42")

    with pytest.raises(MediaJobConfigError) as info:
        task.execute(make_context())

    assert "plain_http" in str(info.value)
    assert "http" in str(info.value)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("cls", [MediaJobSensor, TensorPixJobSensor])
def test_missing_connection_is_a_config_error_naming_it(
    requests_mock: Any, make_context: Any, cls: type[MediaJobSensor]
) -> None:
    task = cls(task_id="wait", conn_id="no_such_conn", job_id="42")

    with pytest.raises(MediaJobConfigError) as info:
        task.execute(make_context())

    assert "no_such_conn" in str(info.value)
    assert requests_mock.call_count == 0


def test_generic_sensor_needs_a_conn_id() -> None:
    with pytest.raises(ValueError, match="conn_id"):
        MediaJobSensor(task_id="wait", job_id="42")


@pytest.mark.parametrize(
    ("cls", "conn_id"),
    [
        (GoEnhanceJobSensor, "goenhance_default"),
        (TensorArtJobSensor, "tensorart_default"),
        (VozoJobSensor, "vozo_default"),
        (TensorPixJobSensor, "tensorpix_default"),
    ],
)
def test_provider_sensors_default_their_conn_id(cls: type[MediaJobSensor], conn_id: str) -> None:
    assert cls(task_id="wait", job_id="42").conn_id == conn_id
    assert cls(task_id="wait", job_id="42", conn_id="other").conn_id == "other"


# ---- the end of every wait: one summary line ------------------------------------------------------
def summaries(capfd: pytest.CaptureFixture[str]) -> list[str]:
    return [
        line for line in capfd.readouterr().out.splitlines() if "Wait for tensorpix job 42 ended:" in line
    ]


def test_a_deferred_wait_ends_with_one_summary_line(
    make_context: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    job = dataclasses.replace(tp_job(JobState.SUCCEEDED), cost=0.5, cost_unit="usd")
    event = event_for_job(job) | {"status_calls": 7, "waited_seconds": 61.2}

    sensor().execute_complete(make_context(), event=event, job_id="42")

    assert len(lines := summaries(capfd)) == 1
    assert "ended: succeeded after 61s; 7 status call(s); cost 0.5 usd; 1 output(s)." in lines[0]


def test_a_failed_poke_mode_wait_ends_with_one_summary_line(
    requests_mock: Any,
    bodies: Any,
    make_context: Any,
    no_sleep: list[float],
    capfd: pytest.CaptureFixture[str],
) -> None:
    requests_mock.get(TP.format(42), [{"json": bodies.tensorpix(42, 1)}, {"json": bodies.tensorpix(42, -1)}])

    with pytest.raises(MediaJobFailedError):
        sensor(deferrable=False).execute(make_context())

    assert len(lines := summaries(capfd)) == 1
    assert "ended: failed" in lines[0] and "2 status call(s); cost 0.5 usd; 0 output(s)" in lines[0]


def test_a_poke_mode_timeout_ends_with_one_summary_line(
    requests_mock: Any,
    bodies: Any,
    make_context: Any,
    no_sleep: list[float],
    capfd: pytest.CaptureFixture[str],
) -> None:
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 1))

    with pytest.raises(AirflowSensorTimeout):
        sensor(deferrable=False, timeout=0).execute(make_context())

    assert len(lines := summaries(capfd)) == 1
    assert "ended: timeout" in lines[0] and "1 status call(s)" in lines[0]


def test_an_already_finished_job_ends_with_one_summary_line(
    requests_mock: Any, bodies: Any, make_context: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 2))

    sensor().execute(make_context())

    assert len(lines := summaries(capfd)) == 1
    assert "ended: succeeded" in lines[0] and "1 status call(s); cost 0.5 usd; 1 output(s)" in lines[0]
