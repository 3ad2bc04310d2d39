"""The submit operators: XCom before waiting, re-attach on retry, idempotent TAMS creates, timeouts."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_mediajobs._compat import AirflowSensorTimeout, TaskDeferred
from airflow_provider_mediajobs.engine.wait import event_for_job, event_for_timeout
from airflow_provider_mediajobs.exceptions import MediaJobFailedError
from airflow_provider_mediajobs.models import JobState, MediaJob
from airflow_provider_mediajobs.operators import (
    GoEnhanceSubmitJobOperator,
    MediaJobSubmitOperator,
    TensorArtSubmitJobOperator,
    TensorPixSubmitJobOperator,
)
from airflow_provider_mediajobs.operators import submit as submit_module
from airflow_provider_mediajobs.task_records import TRIES_KEY
from airflow_provider_mediajobs.task_wait import BACKSTOP_SECONDS
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.constants import SENTINEL
from support.provider_urls import TAMS, TAMS_CREATE, TAMS_ID, TP, TP_CREATE

pytestmark = pytest.mark.usefixtures("provider_connections")

GE_ID = "37c82d82-8765-4031-8cb3-722df8a668e6"
TP_PAYLOAD = {"url": "https://example.com/in.mp4", "ml_models": [1]}
TAMS_PAYLOAD = {"stages": [{"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}}]}


def tensorpix_op(**kwargs: Any) -> TensorPixSubmitJobOperator:
    kwargs.setdefault("task_id", "submit")
    kwargs.setdefault("payload", TP_PAYLOAD)
    return TensorPixSubmitJobOperator(**kwargs)


def tams_op(**kwargs: Any) -> TensorArtSubmitJobOperator:
    kwargs.setdefault("task_id", "submit")
    kwargs.setdefault("payload", TAMS_PAYLOAD)
    return TensorArtSubmitJobOperator(**kwargs)


def calls(requests_mock: Any, method: str, url_part: str = "") -> list[Any]:
    return [r for r in requests_mock.request_history if r.method == method and url_part in r.url]


def tams_request_ids(requests_mock: Any) -> list[str]:
    return [r.json()["requestId"] for r in calls(requests_mock, "POST", TAMS_CREATE)]


# ---- submit, push XCom, defer ---------------------------------------------------------------------
def test_submit_pushes_the_job_id_before_deferring(
    requests_mock: Any, bodies: Any, make_context: Any, store_class: Any
) -> None:
    journal: list[tuple[Any, ...]] = []
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})

    def status(request: Any, context: Any) -> dict[str, Any]:
        journal.append(("status_read",))
        return bodies.tensorpix(42, 1)

    requests_mock.get(TP.format(42), json=status)
    store = store_class()
    context = make_context(store=store, journal=journal)

    with pytest.raises(TaskDeferred) as info:
        tensorpix_op(timeout=600).execute(context)

    # the job id first, then what the job was asked (for the Media view); a job created a moment
    # ago is not read back before deferring: the trigger reads it
    inputs = {
        "texts": [{"label": "Models", "text": "1"}],
        "media": [{"label": "Source video", "url": "https://example.com/in.mp4", "kind": "video"}],
    }
    assert context["ti"].xcoms == {"job_id": "42", "media_inputs": inputs}
    assert journal == [("xcom_push", "job_id", "42"), ("xcom_push", "media_inputs", inputs)]
    assert store.data == {TRIES_KEY: [{"try": 1, "job_id": "42"}]}
    assert calls(requests_mock, "POST")[0].json() == TP_PAYLOAD
    deferred = info.value
    assert isinstance(deferred.trigger, MediaJobTrigger)
    assert deferred.method_name == "execute_complete"
    assert deferred.kwargs == {"job_id": "42"}
    _, kwargs = deferred.trigger.serialize()
    assert kwargs["job_id"] == "42"
    assert kwargs["cancel_on_kill"] is True  # the operator started the job, so a kill cancels it
    assert SENTINEL not in json.dumps(kwargs)


def test_a_new_job_is_first_read_one_poll_interval_after_its_create(
    requests_mock: Any, make_context: Any, store_class: Any
) -> None:
    """Nothing read it yet, and a job created a moment ago is not done: the trigger's first read
    comes one interval later, not at once (a read that could only say "queued")."""
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    before = time.time()
    with pytest.raises(TaskDeferred) as info:
        tensorpix_op(poll_interval=7).execute(make_context(store=store_class()))
    after = time.time()

    kwargs = info.value.trigger.serialize()[1]
    assert before + 7 <= kwargs["first_read_at"] <= after + 7
    assert calls(requests_mock, "GET") == []


def test_without_waiting_returns_the_job_id(requests_mock: Any, make_context: Any) -> None:
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    context = make_context()

    assert tensorpix_op(wait_for_completion=False).execute(context) == "42"

    assert context["ti"].xcoms["job_id"] == "42"
    assert calls(requests_mock, "GET") == []


def test_a_new_job_is_not_read_before_deferring(requests_mock: Any, bodies: Any, make_context: Any) -> None:
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 2))

    with pytest.raises(TaskDeferred):
        tensorpix_op().execute(make_context())

    assert calls(requests_mock, "GET") == []


# ---- re-attach on retry ----------------------------------------------------------------------------
def test_retry_reattaches_to_a_running_job(
    requests_mock: Any, bodies: Any, make_context: Any, store_class: Any
) -> None:
    requests_mock.post(TP_CREATE, json={"id": 99, "status": 0})
    requests_mock.get(TP.format(41), json=bodies.tensorpix(41, 1))
    context = make_context(store=store_class({TRIES_KEY: [{"try": 1, "job_id": "41"}]}), try_number=2)

    with pytest.raises(TaskDeferred) as info:
        tensorpix_op().execute(context)

    assert calls(requests_mock, "POST") == []
    assert context["ti"].xcoms["job_id"] == "41"
    assert info.value.kwargs == {"job_id": "41"}
    assert info.value.trigger.serialize()[1]["job_id"] == "41"


def test_retry_returns_a_job_that_finished_meanwhile(
    requests_mock: Any, bodies: Any, make_context: Any, store_class: Any
) -> None:
    requests_mock.get(TP.format(41), json=bodies.tensorpix(41, 2))
    context = make_context(store=store_class({TRIES_KEY: [{"try": 1, "job_id": "41"}]}), try_number=2)

    result = tensorpix_op().execute(context)

    assert result["job_id"] == "41"
    assert result["state"] == "succeeded"
    assert calls(requests_mock, "POST") == []


@pytest.mark.parametrize(
    "previous",
    [{"json": "failed"}, {"json": "canceled"}, {"status_code": 404, "json": {"detail": "Not found."}}],
    ids=["failed", "canceled", "gone"],
)
def test_retry_submits_anew_when_the_previous_job_is_dead(
    requests_mock: Any, bodies: Any, make_context: Any, store_class: Any, previous: dict[str, Any]
) -> None:
    if previous.get("json") in ("failed", "canceled"):
        previous = {"json": bodies.tensorpix(41, -1 if previous["json"] == "failed" else -2)}
    requests_mock.get(TP.format(41), **previous)
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 0))
    store = store_class({TRIES_KEY: [{"try": 1, "job_id": "41"}]})
    context = make_context(store=store, try_number=2)

    with pytest.raises(TaskDeferred) as info:
        tensorpix_op().execute(context)

    assert len(calls(requests_mock, "POST")) == 1
    assert context["ti"].xcoms["job_id"] == "42"
    assert store.data == {TRIES_KEY: [{"try": 1, "job_id": "41"}, {"try": 2, "job_id": "42"}]}
    assert info.value.kwargs == {"job_id": "42"}


# ---- TAMS: deterministic requestId -------------------------------------------------------------------
def test_tams_request_id_is_derived_from_the_task_instance(
    requests_mock: Any, bodies: Any, make_context: Any
) -> None:
    requests_mock.post(TAMS_CREATE, json={"job": {"id": TAMS_ID, "status": "CREATED"}})
    requests_mock.get(TAMS.format(TAMS_ID), json=bodies.tams(TAMS_ID, "RUNNING"))

    for ti_fields in (
        {},
        {},  # the same task instance again (a retry without a state store)
        {"run_id": "scheduled__2026-01-02T00:00:00+00:00"},
        {"map_index": 3},
        {"task_id": "other"},
    ):
        with pytest.raises(TaskDeferred):
            tams_op().execute(make_context(**ti_fields))

    ids = tams_request_ids(requests_mock)
    assert ids[0] == ids[1]
    assert len(set(ids)) == 4
    assert all(i.startswith("airflow-") and len(i) <= 64 for i in ids)
    assert calls(requests_mock, "POST")[0].json()["stages"] == TAMS_PAYLOAD["stages"]
    assert calls(requests_mock, "POST")[0].headers["Authorization"] == f"Bearer {SENTINEL}"


def test_tams_explicit_request_id_is_used_verbatim(
    requests_mock: Any, bodies: Any, make_context: Any
) -> None:
    requests_mock.post(TAMS_CREATE, json={"job": {"id": TAMS_ID, "status": "CREATED"}})
    requests_mock.get(TAMS.format(TAMS_ID), json=bodies.tams(TAMS_ID, "RUNNING"))

    with pytest.raises(TaskDeferred):
        tams_op(request_id="my-key-1").execute(make_context())

    assert tams_request_ids(requests_mock) == ["my-key-1"]


def test_tams_resubmits_when_the_idempotent_create_returns_a_failed_job(
    requests_mock: Any, bodies: Any, make_context: Any
) -> None:
    new_id = "812345678901234999"
    requests_mock.post(
        TAMS_CREATE,
        [
            {"json": {"job": {"id": TAMS_ID, "status": "FAILED"}}},
            {"json": {"job": {"id": new_id, "status": "CREATED"}}},
        ],
    )
    requests_mock.get(TAMS.format(TAMS_ID), json=bodies.tams(TAMS_ID, "FAILED"))
    requests_mock.get(TAMS.format(new_id), json=bodies.tams(new_id, "RUNNING"))
    context = make_context(try_number=2)

    with pytest.raises(TaskDeferred) as info:
        tams_op().execute(context)

    base, retry = tams_request_ids(requests_mock)
    assert retry == f"{base}-try2"
    assert context["ti"].xcoms["job_id"] == new_id
    assert info.value.kwargs == {"job_id": new_id}


# ---- timeouts ---------------------------------------------------------------------------------------
def timeout_event(provider: str, job_id: str) -> dict[str, Any]:
    job = MediaJob(provider=provider, job_id=job_id, state=JobState.RUNNING, progress=0.5)
    return event_for_timeout(job, provider, job_id, 600.0) | {"status_calls": 30, "waited_seconds": 600.0}


@pytest.mark.parametrize("cancel_on_timeout", [True, False])
@pytest.mark.parametrize(
    ("make_op", "job_id", "cancel_url"),
    [(tams_op, TAMS_ID, TAMS.format(TAMS_ID)), (tensorpix_op, "42", TP.format(42))],
    ids=["tensorart", "tensorpix"],
)
def test_timeout_event_cancels_the_remote_job_when_asked(
    requests_mock: Any, make_context: Any, make_op: Any, job_id: str, cancel_url: str, cancel_on_timeout: bool
) -> None:
    requests_mock.delete(cancel_url, status_code=204)
    operator = make_op(cancel_on_timeout=cancel_on_timeout)

    with pytest.raises(AirflowSensorTimeout) as info:
        operator.execute_complete(
            make_context(), event=timeout_event(operator.provider, job_id), job_id=job_id
        )

    assert job_id in str(info.value)
    assert len(calls(requests_mock, "DELETE", cancel_url)) == (1 if cancel_on_timeout else 0)
    assert requests_mock.call_count == (1 if cancel_on_timeout else 0)


def test_goenhance_timeout_cannot_cancel_and_says_so(
    requests_mock: Any, make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = GoEnhanceSubmitJobOperator(task_id="submit", payload={"source": "a.jpg"})
    warnings: list[str] = []
    monkeypatch.setattr(operator.log, "warning", lambda msg, *args: warnings.append(msg % args))

    with pytest.raises(AirflowSensorTimeout):
        operator.execute_complete(make_context(), event=timeout_event("goenhance", GE_ID), job_id=GE_ID)

    assert requests_mock.call_count == 0
    assert any("cannot cancel" in w and GE_ID in w for w in warnings)


def test_a_failed_cancel_still_reports_the_timeout(requests_mock: Any, make_context: Any) -> None:
    requests_mock.delete(TP.format(42), status_code=403, json={"detail": "Forbidden."})

    with pytest.raises(AirflowSensorTimeout):
        tensorpix_op().execute_complete(make_context(), event=timeout_event("tensorpix", "42"), job_id="42")

    assert len(calls(requests_mock, "DELETE")) == 1


def test_execute_complete_success_and_failure_do_not_cancel(requests_mock: Any, make_context: Any) -> None:
    done = MediaJob(provider="tensorpix", job_id="42", state=JobState.SUCCEEDED)
    failed = MediaJob(provider="tensorpix", job_id="42", state=JobState.FAILED, error="out of credits")

    result = tensorpix_op().execute_complete(make_context(), event=event_for_job(done), job_id="42")
    with pytest.raises(MediaJobFailedError, match="out of credits"):
        tensorpix_op().execute_complete(make_context(), event=event_for_job(failed), job_id="42")

    assert result["state"] == "succeeded"
    assert "wait" in result
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("timeout", "execution_timeout", "expected"),
    [
        (3600, timedelta(minutes=10), 600.0),
        (timedelta(minutes=5), timedelta(hours=1), 300.0),
        (900, None, 900.0),
    ],
)
def test_deferral_deadline_uses_the_shorter_of_timeout_and_execution_timeout(
    requests_mock: Any,
    bodies: Any,
    make_context: Any,
    timeout: Any,
    execution_timeout: timedelta | None,
    expected: float,
) -> None:
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 1))

    before = time.time()
    with pytest.raises(TaskDeferred) as info:
        tensorpix_op(timeout=timeout, execution_timeout=execution_timeout).execute(make_context())
    after = time.time()

    deadline = info.value.trigger.serialize()[1]["deadline"]
    assert before + expected <= deadline <= after + expected
    assert info.value.timeout == timedelta(seconds=expected + BACKSTOP_SECONDS)


# ---- deferrable=False: the same wait, on the worker ------------------------------------------------
class FakeClock:
    """Replaces the ``time`` module inside submit.py: sleeping advances the clock, instantly."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(submit_module, "time", fake)
    return fake


def test_sync_wait_polls_until_done(
    requests_mock: Any, bodies: Any, make_context: Any, clock: FakeClock
) -> None:
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    requests_mock.get(
        TP.format(42),
        [
            {"json": bodies.tensorpix(42, 0)},
            {"json": bodies.tensorpix(42, 1)},
            {"json": bodies.tensorpix(42, 2)},
        ],
    )
    context = make_context()

    result = tensorpix_op(deferrable=False, poll_interval=5, max_poll_interval=20).execute(context)

    assert result["state"] == "succeeded"
    assert result["output_urls"] == ["https://cdn.tensorpix.test/42.mp4?Expires=4102444800"]
    assert context["ti"].xcoms["job_id"] == "42"
    assert len(calls(requests_mock, "GET")) == 3
    assert len(clock.slept) == 2
    assert all(4.5 <= s <= 22 for s in clock.slept)  # within the cadence bounds (+-10 % jitter)


def test_sync_wait_fails_on_a_failed_job(
    requests_mock: Any, bodies: Any, make_context: Any, clock: FakeClock
) -> None:
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    requests_mock.get(TP.format(42), [{"json": bodies.tensorpix(42, 1)}, {"json": bodies.tensorpix(42, -1)}])

    with pytest.raises(MediaJobFailedError, match="could not be decoded"):
        tensorpix_op(deferrable=False).execute(make_context())

    assert calls(requests_mock, "DELETE") == []


@pytest.mark.parametrize("cancel_on_timeout", [True, False])
def test_sync_wait_times_out_and_cancels(
    requests_mock: Any, bodies: Any, make_context: Any, clock: FakeClock, cancel_on_timeout: bool
) -> None:
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 1, eta=None))
    requests_mock.delete(TP.format(42), status_code=204)

    with pytest.raises(AirflowSensorTimeout) as info:
        tensorpix_op(
            deferrable=False, timeout=60, poll_interval=5, cancel_on_timeout=cancel_on_timeout
        ).execute(make_context())

    assert "42" in str(info.value)
    assert sum(clock.slept) == pytest.approx(60.0)  # never sleeps past the deadline
    assert len(calls(requests_mock, "DELETE")) == (1 if cancel_on_timeout else 0)


def test_generic_operator_reads_the_provider_from_the_connection(
    requests_mock: Any, bodies: Any, make_context: Any
) -> None:
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})

    operator = MediaJobSubmitOperator(
        task_id="submit", conn_id="tensorpix_default", payload=TP_PAYLOAD, wait_for_completion=False
    )

    assert operator.execute(make_context()) == "42"
    assert operator.hook.provider == "tensorpix"


@pytest.mark.parametrize(
    ("cls", "conn_id"),
    [
        (GoEnhanceSubmitJobOperator, "goenhance_default"),
        (TensorArtSubmitJobOperator, "tensorart_default"),
        (TensorPixSubmitJobOperator, "tensorpix_default"),
    ],
)
def test_provider_operators_default_their_conn_id(cls: Any, conn_id: str) -> None:
    assert cls(task_id="submit", payload={}).conn_id == conn_id


def test_a_failed_wait_records_the_job_and_how_the_try_ended(make_context: Any, store_class: Any) -> None:
    """The Media view reads both: the failed job's XCom (reason, cost) and the tries' record."""
    store = store_class({TRIES_KEY: [{"try": 1, "job_id": "42"}]})
    context = make_context(store=store)
    job = MediaJob(
        provider="tensorpix",
        job_id="42",
        state=JobState.FAILED,
        error="bad input video",
        cost=0.5,
        cost_unit="usd",
        raw={"private": "provider payload"},
    )
    with pytest.raises(MediaJobFailedError):
        tensorpix_op().execute_complete(context, event=event_for_job(job), job_id="42")
    pushed = context["ti"].xcoms["job"]
    assert (pushed["job_id"], pushed["error"], pushed["cost"]) == ("42", "bad input video", 0.5)
    assert "raw" not in pushed
    assert store.data[TRIES_KEY] == [
        {
            "try": 1,
            "job_id": "42",
            "state": "failed",
            "error": "bad input video",
            "cost": 0.5,
            "cost_unit": "usd",
        }
    ]
