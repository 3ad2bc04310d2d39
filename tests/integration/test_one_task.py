"""One task per media job: submit operators and sensors given ``destination=`` persist the outputs in
the step that saw the job finish (issue 29), against the emulator, with real files on disk.

What is checked: the resume step persists without reading the job again; the XCom job dict gains
``files``, exactly the records ``MediaJobOutputsOperator`` returns for the same job; a failed
download is retried inside the step; a retried task re-attaches to its job and only downloads;
where it cannot re-attach, the task log says so; the Media view shows the files as persisted.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from airflow.sdk import Asset

from airflow_provider_mediajobs._compat import TaskDeferred
from airflow_provider_mediajobs.exceptions import MediaJobConfigError, OutputTooLargeError
from airflow_provider_mediajobs.operators import MediaJobOutputsOperator, TensorPixSubmitJobOperator
from airflow_provider_mediajobs.plugins.records import PERSISTED, task_media
from airflow_provider_mediajobs.sensors import TensorArtJobSensor, TensorPixJobSensor
from airflow_provider_mediajobs.task_records import TRIES_KEY, last_job_id

PAYLOAD = {"url": "https://example.com/media/clip.mp4", "ml_models": [1]}
RECORD_KEYS = {"url", "path", "bytes", "sha256", "content_type", "kind", "skipped"}


class TI:
    """What the operators read from a task instance."""

    def __init__(self, try_number: int = 1) -> None:
        self.dag_id, self.task_id, self.run_id, self.map_index = "pipeline", "upscale", "manual__1", -1
        self.try_number = try_number
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


class Store:
    """Airflow 3.3's task state store (get/set)."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = dict(data or {})

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.data[key] = value


def Events() -> Any:
    """``outlet_events`` as a task sees it (Airflow's own accessors: an Asset is not hashable on 3.1)."""
    from airflow.sdk.execution_time.context import OutletEventAccessors

    return OutletEventAccessors()


def make_context(store: Store | None = None, try_number: int = 1) -> dict[str, Any]:
    ti = TI(try_number)
    context: dict[str, Any] = {"ti": ti, "task_instance": ti, "outlet_events": Events()}
    if store is not None:
        context["task_state_store"] = store
    return context


def counts(emulator: Any, provider: str = "tensorpix") -> dict[str, int]:
    requests = emulator.stats()["requests"]
    return {
        "create": sum(requests.get(f"{provider} create", {}).values()),
        "status": sum(requests.get(f"{provider} status", {}).values()),
        "cdn": sum(requests.get("cdn", {}).values()),
    }


def run_trigger(deferred: TaskDeferred) -> dict[str, Any]:
    async def first_event() -> dict[str, Any]:
        async for event in deferred.trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger yielded no event")

    return asyncio.run(first_event())


def submit(dest: Any, **kwargs: Any) -> TensorPixSubmitJobOperator:
    kwargs.setdefault("poll_interval", 0.05)
    return TensorPixSubmitJobOperator(task_id="upscale", payload=PAYLOAD, destination=str(dest), **kwargs)


def same_as_outputs_operator(job: dict[str, Any], dest: Any) -> list[dict[str, Any]]:
    """What MediaJobOutputsOperator returns for the same job and destination (files already there)."""
    return MediaJobOutputsOperator(task_id="persist", job_id=job, destination=str(dest)).execute({})


# ---- submit, defer, resume, persist ---------------------------------------------------------------
def test_deferred_submit_persists_in_its_resume_step_without_reading_again(emulator, files, dest):
    emulator.script("tensorpix", count=1, queued_s=1, running_s=2, output_bytes=300_000)
    asset = Asset(name="renders", uri="file:///renders")
    operator = submit(dest, outlets=[asset])
    context = make_context(Store())

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    assert counts(emulator)["status"] == 0  # a job created a moment ago is not read before deferring
    event = run_trigger(deferred.value)
    before = counts(emulator)
    job = operator.execute_complete(context, event=event, **deferred.value.kwargs)
    after = counts(emulator)

    assert after["status"] == before["status"]  # the event's job is used: no second read
    assert after["cdn"] - before["cdn"] == 1
    (record,) = job["files"]
    assert set(record) == RECORD_KEYS
    assert record["bytes"] == 300_000 and record["skipped"] is False
    assert list(files(dest)) == [record["path"].rsplit("/", 1)[-1]]
    # the same records the outputs operator returns for this job (which now finds them unchanged)
    again = same_as_outputs_operator(job, dest)
    assert [r | {"skipped": False} for r in again] == job["files"]
    # Assets see the same files either way
    extra = context["outlet_events"][asset].extra
    assert extra["job_id"] == job["job_id"] and extra["files"][0]["sha256"] == record["sha256"]


def test_non_deferrable_submit_persists_too(emulator, files, dest, monkeypatch):
    emulator.script("tensorpix", count=1, queued_s=0.5, running_s=0.5, output_bytes=10_000)
    monkeypatch.setattr("time.sleep", lambda s: None)

    job = submit(dest, deferrable=False).execute(make_context(Store()))

    assert job["state"] == "succeeded"
    assert [r["bytes"] for r in job["files"]] == [10_000]
    assert len(files(dest)) == 1


def test_a_failed_download_is_retried_inside_the_step(emulator, files, dest, no_backoff):
    emulator.script("tensorpix", count=1, queued_s=0, running_s=0.1, output_bytes=50_000)
    operator = submit(dest)
    context = make_context(Store())
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    event = run_trigger(deferred.value)
    emulator.inject_fault(provider="tensorpix", route="cdn", kind="truncated", count=1)

    job = operator.execute_complete(context, event=event, **deferred.value.kwargs)

    assert len(no_backoff) == 1  # one retry, inside the step
    assert [r["bytes"] for r in job["files"]] == [50_000]


def test_a_retried_task_reattaches_to_its_job_and_only_downloads(emulator, files, dest, no_backoff):
    emulator.script("tensorpix", count=2, queued_s=0, running_s=0.1, output_bytes=80_000)
    store = Store()
    first = submit(dest, max_bytes=1000)  # try 1: the job succeeds, persisting it fails
    context = make_context(store)
    with pytest.raises(TaskDeferred) as deferred:
        first.execute(context)
    event = run_trigger(deferred.value)
    with pytest.raises(OutputTooLargeError):
        first.execute_complete(context, event=event, **deferred.value.kwargs)
    job_id = last_job_id(store.data[TRIES_KEY])
    before = counts(emulator)

    # try 2 (the task retried, max_bytes fixed): the same job, read once, downloaded; no create
    job = submit(dest).execute(make_context(store, try_number=2))

    after = counts(emulator)
    assert after["create"] == before["create"]
    assert after["status"] - before["status"] == 1
    assert job["job_id"] == job_id
    assert [r["bytes"] for r in job["files"]] == [80_000]
    assert len(files(dest)) == 1


def test_a_retry_that_cannot_reattach_says_so(emulator, dest, monkeypatch):
    """No task state store (Airflow 3.1/3.2) and no idempotent create (TensorPix): a new job is paid."""
    emulator.script("tensorpix", count=1, queued_s=5, running_s=5)
    operator = submit(dest)
    warnings: list[str] = []
    monkeypatch.setattr(operator.log, "warning", lambda msg, *args: warnings.append(msg % args))

    with pytest.raises(TaskDeferred):
        operator.execute(make_context(store=None, try_number=2))

    assert any("submits a new tensorpix job" in w and "task state store" in w for w in warnings), warnings


def test_a_first_try_does_not_warn(emulator, dest, monkeypatch):
    emulator.script("tensorpix", count=1, queued_s=5, running_s=5)
    operator = submit(dest)
    warnings: list[str] = []
    monkeypatch.setattr(operator.log, "warning", lambda msg, *args: warnings.append(msg % args))

    with pytest.raises(TaskDeferred):
        operator.execute(make_context(store=None))

    assert warnings == []


# ---- sensors ---------------------------------------------------------------------------------------
def test_sensor_with_a_destination_persists_a_finished_job(emulator, finished, served, files, dest):
    job = finished("tensorpix", output_bytes=20_000)
    sensor = TensorPixJobSensor(task_id="wait", job_id=job.job_id, destination=str(dest))
    before = counts(emulator)

    result = sensor.execute(make_context())  # found finished by its one read: no deferral

    assert counts(emulator)["status"] - before["status"] == 1
    assert len(result["files"]) == len(served(job)) == 1
    assert sorted(files(dest).values()) == sorted(served(job).values())


def test_a_sensor_on_a_rate_limited_connection_leaves_the_first_read_to_the_trigger(
    emulator, finished, served, files, dest
):
    """TAMS's limit holds for the key: sensors starting together on workers would bypass the
    triggerers' shared pace, so the wait defers unread and the trigger reads at once."""
    job = finished("tensorart", outputs=["image", "video"], output_bytes=20_000)
    sensor = TensorArtJobSensor(
        task_id="wait", job_id=job.job_id, destination=str(dest), filename_template="{index}-{kind}{ext}"
    )
    context = make_context()
    before = counts(emulator, "tensorart")

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    assert counts(emulator, "tensorart")["status"] == before["status"]
    assert deferred.value.trigger.first_read_at is None
    result = sensor.execute_complete(context, event=run_trigger(deferred.value), **deferred.value.kwargs)

    assert counts(emulator, "tensorart")["status"] - before["status"] == 1
    assert [r["path"].rsplit("/", 1)[-1] for r in result["files"]] == ["0-image.png", "1-video.mp4"]
    assert sorted(files(dest).values()) == sorted(served(job).values())


# ---- arguments ------------------------------------------------------------------------------------
def test_asset_true_names_the_destination(tmp_path):
    operator = submit(tmp_path / "renders", asset=True)
    assert operator.outlets == [Asset(uri=f"file://{tmp_path / 'renders'}")]
    assert "destination" in operator.template_fields and "filename_template" in operator.template_fields


def test_asset_true_needs_a_destination():
    with pytest.raises(MediaJobConfigError):
        TensorPixSubmitJobOperator(task_id="t", payload=PAYLOAD, asset=True)


def test_a_destination_needs_the_wait(tmp_path):
    with pytest.raises(ValueError, match="wait_for_completion"):
        submit(tmp_path, wait_for_completion=False)


def test_negative_max_bytes_is_refused_when_the_dag_is_parsed(tmp_path):
    with pytest.raises(MediaJobConfigError):
        submit(tmp_path, max_bytes=-1)


# ---- the Media view -----------------------------------------------------------------------------
def test_media_view_shows_a_one_task_jobs_files_as_persisted():
    files = [
        {
            "url": "https://cdn.test/a.mp4",
            "path": "file:///renders/tensorpix-1-0.mp4",
            "bytes": 10,
            "sha256": "ab" * 32,
            "content_type": "video/mp4",
            "kind": "video",
            "skipped": False,
        }
    ]
    job = {
        "provider": "tensorpix",
        "job_id": "1",
        "state": "succeeded",
        "outputs": [{"url": "https://cdn.test/a.mp4?sig=x", "kind": "video"}],
        "files": files,
    }

    media = task_media("upscale", -1, "success", "TensorPixSubmitJobOperator", {"return_value": job})

    assert media is not None and media.job_id == "1"
    assert [(i.source, i.path) for i in media.items] == [(PERSISTED, "file:///renders/tensorpix-1-0.mp4")]


def test_the_url_policy_applies_to_the_one_task_way(emulator, files, dest, no_backoff):
    """allow_private_hosts=False on the task overrides the connection: the emulator's CDN is loopback."""
    from airflow_provider_mediajobs.exceptions import PrivateOutputHostError

    emulator.script("tensorpix", count=1, queued_s=0, running_s=0.1, output_bytes=1000)
    operator = submit(dest, allow_private_hosts=False, download_deadline=60)
    context = make_context(Store())
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    event = run_trigger(deferred.value)

    with pytest.raises(PrivateOutputHostError):
        operator.execute_complete(context, event=event, **deferred.value.kwargs)
    assert files(dest) == {}
