"""A retried submit: every resubmit says why, which job it replaces and what that one cost; the
re-attach read rides out transient trouble instead of failing the try (issue 17 items 2 and 3)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_mediajobs._compat import TaskDeferred
from airflow_provider_mediajobs.exceptions import MediaJobCanceledError, MediaJobFailedError
from airflow_provider_mediajobs.models import JobState, MediaJob
from airflow_provider_mediajobs.operators import TensorArtSubmitJobOperator, TensorPixSubmitJobOperator
from airflow_provider_mediajobs.task_records import TRIES_KEY, last_job_id

from support.provider_urls import TAMS, TAMS_CREATE, TAMS_ID, TP, TP_CREATE

pytestmark = pytest.mark.usefixtures("provider_connections")


class TaskLog:
    """What the task logged (Airflow's structlog writes task logs to stdout in tests)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.seen = ""

    @property
    def text(self) -> str:
        self.seen += self.capsys.readouterr().out
        return self.seen


@pytest.fixture
def log(capsys: pytest.CaptureFixture[str]) -> TaskLog:
    return TaskLog(capsys)


def retried_submit(requests_mock: Any, bodies: Any, make_context: Any, store_class: Any) -> Any:
    """Try 2 of a TensorPix submit whose try 1 created job 41; a new submit creates job 42."""
    requests_mock.post(TP_CREATE, json={"id": 42, "status": 0})
    requests_mock.get(TP.format(42), json=bodies.tensorpix(42, 0))
    store = store_class({TRIES_KEY: [{"try": 1, "job_id": "41"}]})
    context = make_context(store=store, try_number=2)
    op = TensorPixSubmitJobOperator(task_id="submit", payload={"url": "https://example.com/in.mp4"})
    with pytest.raises(TaskDeferred) as info:
        op.execute(context)
    return store, info.value


def _posts(requests_mock: Any) -> int:
    return sum(1 for r in requests_mock.request_history if r.method == "POST")


def _before_submit(log: TaskLog) -> str:
    text = log.text
    assert "Submitted tensorpix job 42." in text, text
    return text[: text.index("Submitted tensorpix job 42.")]


def test_previous_job_unknown_says_so_before_submitting(
    requests_mock: Any, bodies: Any, make_context: Any, store_class: Any, log: TaskLog
) -> None:
    requests_mock.get(TP.format(41), status_code=404, json={"detail": "Not found."})

    store, deferred = retried_submit(requests_mock, bodies, make_context, store_class)

    assert last_job_id(store.data[TRIES_KEY]) == "42" and deferred.kwargs == {"job_id": "42"}
    before = _before_submit(log)
    assert "Resubmitting: tensorpix does not know job 41 of the previous try (not found)" in before


def test_previous_job_failed_says_why_and_what_it_cost(
    requests_mock: Any, bodies: Any, make_context: Any, store_class: Any, log: TaskLog
) -> None:
    requests_mock.get(TP.format(41), json=bodies.tensorpix(41, -1))

    retried_submit(requests_mock, bodies, make_context, store_class)

    before = _before_submit(log)
    assert (
        "Resubmitting: the previous try's tensorpix job 41 failed (Input video could not be decoded); "
        "cost 0.5 usd." in before
    ), before


def test_previous_job_canceled_says_so_with_its_cost(
    requests_mock: Any, bodies: Any, make_context: Any, store_class: Any, log: TaskLog
) -> None:
    requests_mock.get(TP.format(41), json=bodies.tensorpix(41, -2))

    retried_submit(requests_mock, bodies, make_context, store_class)

    assert "Resubmitting: the previous try's tensorpix job 41 was canceled; cost 0.5 usd." in _before_submit(
        log
    )


def test_tams_idempotent_resubmit_says_why_and_what_it_cost(
    requests_mock: Any, bodies: Any, make_context: Any, log: TaskLog
) -> None:
    new_id = "812345678901234999"
    requests_mock.post(
        TAMS_CREATE,
        [
            {"json": {"job": {"id": TAMS_ID, "status": "FAILED"}}},
            {"json": {"job": {"id": new_id, "status": "CREATED"}}},
        ],
    )
    requests_mock.get(TAMS.format(TAMS_ID), json=bodies.tams(TAMS_ID, "FAILED", reason="GPU lost"))
    requests_mock.get(TAMS.format(new_id), json=bodies.tams(new_id, "RUNNING"))
    op = TensorArtSubmitJobOperator(task_id="submit", payload={"stages": [{"type": "DIFFUSION"}]})

    with pytest.raises(TaskDeferred):
        op.execute(make_context(try_number=2))

    lines = [line for line in log.text.splitlines() if "Resubmitting with requestId" in line]
    assert len(lines) == 1, log.text
    assert f"tensorart job {TAMS_ID} failed (GPU lost); cost 2 credits" in lines[0]


@pytest.mark.parametrize(
    "blip",
    [
        {"status_code": 503, "text": "upstream unavailable"},
        {"exc": requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected")},
    ],
    ids=["503", "connection drop"],
)
def test_reattach_read_rides_out_transient_trouble(
    requests_mock: Any,
    bodies: Any,
    make_context: Any,
    store_class: Any,
    monkeypatch: pytest.MonkeyPatch,
    blip: dict[str, Any],
) -> None:
    """An outage outlasting the hook's own retries: re-attach anyway, the wait retries the reads."""
    monkeypatch.setattr("time.sleep", lambda s: None)  # the hook's backoff between attempts
    requests_mock.get(TP.format(41), [blip] * 20)  # every read of the retry's start fails
    store = store_class({TRIES_KEY: [{"try": 1, "job_id": "41"}]})
    context = make_context(store=store, try_number=2)
    op = TensorPixSubmitJobOperator(task_id="submit", payload={"url": "https://example.com/in.mp4"})

    with pytest.raises(TaskDeferred) as info:
        op.execute(context)

    assert _posts(requests_mock) == 0  # no second, paid job
    assert info.value.kwargs == {"job_id": "41"}
    assert info.value.trigger.serialize()[1]["job_id"] == "41"
    assert context["ti"].xcoms["job_id"] == "41" and store.data[TRIES_KEY] == [
        {"try": 1, "job_id": "41"},
        {"try": 2, "job_id": "41"},
    ]


def test_reattach_read_recovers_from_a_single_503(
    requests_mock: Any, bodies: Any, make_context: Any, store_class: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda s: None)
    requests_mock.get(
        TP.format(41), [{"status_code": 503, "text": "busy"}, {"json": bodies.tensorpix(41, 2)}]
    )
    context = make_context(store=store_class({TRIES_KEY: [{"try": 1, "job_id": "41"}]}), try_number=2)

    result = TensorPixSubmitJobOperator(task_id="submit", payload={"url": "u"}).execute(context)

    assert result["job_id"] == "41" and result["state"] == "succeeded"
    assert _posts(requests_mock) == 0


def _job(state: JobState, **fields: Any) -> MediaJob:
    return MediaJob(provider="tensorpix", job_id="349527", state=state, **fields)


def test_job_failure_messages_carry_the_cost() -> None:
    failed = _job(JobState.FAILED, cost=0.42, cost_unit="usd")
    err = MediaJobFailedError("tensorpix job 349527 failed: reported status -1 (Failed)", job=failed)
    assert "tensorpix job 349527 failed: reported status -1 (Failed); cost 0.42 usd." in str(err)
    canceled = MediaJobCanceledError(
        "tensorpix job 349527 was canceled.", job=_job(JobState.CANCELED, cost=1, cost_unit="usd")
    )
    assert "was canceled; cost 1 usd." in str(canceled)
    assert "cost" not in str(MediaJobFailedError("job failed: x", job=_job(JobState.FAILED)))  # none reported
