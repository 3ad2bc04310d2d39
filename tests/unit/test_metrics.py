"""Metrics through Airflow's stats client, recorded by a backend installed as Airflow's own."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_mediajobs import metrics
from airflow_provider_mediajobs._compat import AirflowSensorTimeout
from airflow_provider_mediajobs.dialects.wire import CallContext
from airflow_provider_mediajobs.engine.download import download
from airflow_provider_mediajobs.engine.transport import override_async_transport
from airflow_provider_mediajobs.exceptions import MediaJobFailedError
from airflow_provider_mediajobs.models import JobState, MediaJob
from airflow_provider_mediajobs.operators.destinations import as_storage_path
from airflow_provider_mediajobs.sensors import TensorPixJobSensor
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections
from support.stats import RecordingStats, installed
from support.triggers import fast_trigger


@pytest.fixture(autouse=True)
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connections(monkeypatch, {"tensorpix_default": {"conn_type": "tensorpix", "password": "tp-key"}})


def tensorpix(status: int) -> httpx.Response:
    body = {"id": 42, "status": status, "processing_progress": 0.5, "eta_s": 5, "cost_usd": "0.5000"}
    if status == 2:
        body["output_video"] = {"file": "https://cdn.test/42.mp4?Expires=4102444800&Signature=s3cr3t"}
    return httpx.Response(200, json=body)


def trigger(**overrides: Any) -> MediaJobTrigger:
    return fast_trigger(**{"max_poll_interval": 0.02, **overrides})


async def run(t: MediaJobTrigger, *answers: httpx.Response | Exception) -> dict[str, Any]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    with override_async_transport(httpx.MockTransport(handler)):
        events = [e.payload async for e in t.run()]
    assert len(events) == 1
    return events[0]


async def test_a_trigger_wait_counts_reads_by_outcome_and_the_outage(recording_stats: RecordingStats) -> None:
    event = await run(
        trigger(),
        tensorpix(0),
        httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "0"}),
        httpx.Response(503, json={"detail": "down"}),
        httpx.ReadTimeout("slow"),
        tensorpix(1),
        tensorpix(2),
    )
    assert event["status"] == "succeeded"
    assert recording_stats.counts("mediajobs.status_read.") == {
        "mediajobs.status_read.tensorpix.ok": 3,
        "mediajobs.status_read.tensorpix.429": 1,
        "mediajobs.status_read.tensorpix.5xx": 1,
        "mediajobs.status_read.tensorpix.timeout": 1,
    }
    reads = recording_stats.named("mediajobs.status_read.tensorpix.429")
    assert reads[0][3] == {"provider": "tensorpix", "outcome": "429"}
    [outage] = recording_stats.named("mediajobs.outage_tolerated.")
    assert outage[0] == "timing" and outage[1] == "mediajobs.outage_tolerated.tensorpix"
    assert 0 <= outage[2] < 10 and outage[3] == {"provider": "tensorpix", "ended": "recovered"}
    # in flight while it ran, not after
    gauges = [(kind, value) for kind, _, value, _ in recording_stats.named("mediajobs.waits_in_flight.")]
    assert gauges == [("gauge_delta", 1), ("gauge_delta", -1)]
    # a signed URL or the key never becomes a metric name
    assert not [c for c in recording_stats.calls if "s3cr3t" in str(c) or "tp-key" in str(c)]


async def test_an_outage_the_wait_gives_up_on(recording_stats: RecordingStats) -> None:
    event = await run(trigger(max_consecutive_failures=2), httpx.Response(502, text="bad gateway"))
    assert event["status"] == "error"
    assert recording_stats.counts("mediajobs.status_read.") == {"mediajobs.status_read.tensorpix.5xx": 2}
    [outage] = recording_stats.named("mediajobs.outage_tolerated.")
    assert outage[3]["ended"] == "gave_up"
    assert recording_stats.counts("mediajobs.waits_in_flight.") == {"mediajobs.waits_in_flight.tensorpix": 0}


async def test_a_canceled_wait_leaves_nothing_in_flight(recording_stats: RecordingStats) -> None:
    with override_async_transport(httpx.MockTransport(lambda request: tensorpix(1))):
        task = asyncio.ensure_future(anext(trigger(poll_interval=5, max_poll_interval=5).run()))
        await asyncio.sleep(0.3)
        task.cancel()  # a triggerer stopping, or the trigger moving to another one
        with pytest.raises(asyncio.CancelledError):
            await task
    assert recording_stats.counts("mediajobs.waits_in_flight.") == {"mediajobs.waits_in_flight.tensorpix": 0}


def finished(state: JobState, cost: float | None = 0.5, unit: str | None = "usd") -> dict[str, Any]:
    job = MediaJob(provider="tensorpix", job_id="42", state=state, cost=cost, cost_unit=unit)
    status = {"succeeded": "succeeded", "failed": "failed", "canceled": "canceled"}[state.value]
    return {"status": status, "job": job.to_dict(), "message": "done", "job_id": "42", "status_calls": 3}


def test_jobs_by_final_state_and_their_cost(recording_stats: RecordingStats) -> None:
    sensor = TensorPixJobSensor(task_id="wait", job_id="42")
    sensor.execute_complete({}, event=finished(JobState.SUCCEEDED))
    with pytest.raises(MediaJobFailedError):
        sensor.execute_complete({}, event=finished(JobState.FAILED, cost=12.5, unit="credits"))
    sensor.execute_complete({}, event=finished(JobState.SUCCEEDED, cost=None))  # no cost reported
    with pytest.raises(AirflowSensorTimeout, match="Timed out"):
        sensor.execute_complete({}, event={"status": "timeout", "job": None, "message": "Timed out."})
    assert recording_stats.counts() == {
        "mediajobs.job_ended.tensorpix.succeeded": 2,
        "mediajobs.job_ended.tensorpix.failed": 1,
        "mediajobs.job_ended.tensorpix.timeout": 1,
        "mediajobs.cost_micros.tensorpix.usd": 500_000,
        "mediajobs.cost_micros.tensorpix.credits": 12_500_000,
    }
    [usd] = recording_stats.named("mediajobs.cost_micros.tensorpix.usd")
    assert usd[3] == {"provider": "tensorpix", "unit": "usd"}


def test_bytes_persisted_counts_written_files_only(recording_stats: RecordingStats, tmp_path: Path) -> None:
    """Through the download engine: a file written counts, the same file again (skipped) does not."""
    body = b"\x00" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "video/mp4"})

    ctx = CallContext("vozo", "vozo_default", "job-7")
    target = as_storage_path(tmp_path) / "out.mp4"
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        first = download(client, "https://cdn.test/out.mp4?sig=x", target, kind="video", ctx=ctx)
        again = download(client, "https://cdn.test/out.mp4?sig=x", target, kind="video", ctx=ctx)
    assert (first.skipped, again.skipped) == (False, True)
    assert recording_stats.calls == [("incr", "mediajobs.bytes_persisted.vozo", 1024, {"provider": "vozo"})]


@pytest.mark.parametrize(
    ("unit", "name"), [("unknown unit", "unknown_unit"), (None, "unknown_unit"), ("US$", "us")]
)
def test_units_become_one_name_segment(recording_stats: RecordingStats, unit: Any, name: str) -> None:
    metrics.cost("tensorart", 1, unit)
    assert recording_stats.counts() == {f"mediajobs.cost_micros.tensorart.{name}": 1_000_000}


def test_a_broken_backend_never_fails_the_caller() -> None:
    def broken() -> Any:
        raise RuntimeError("statsd is down")

    with installed(broken):
        metrics.status_read("tensorpix")
        metrics.wait_ended("tensorpix", finished(JobState.SUCCEEDED))
        with metrics.wait_in_flight("tensorpix"):
            pass


async def test_building_the_client_never_blocks_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the client (a DNS lookup of statsd_host) runs in a thread; emitting does not wait."""
    recorder = RecordingStats()

    def slow_factory() -> RecordingStats:
        time.sleep(0.6)  # a slow resolver
        return recorder

    monkeypatch.setattr(metrics, "_prepared_in", None)
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    with installed(slow_factory):
        ticks = asyncio.ensure_future(ticker())
        event = await run(trigger(), tensorpix(1), tensorpix(2))
        stop.set()
        await ticks
    assert event["status"] == "succeeded"
    assert recorder.counts("mediajobs.status_read.") == {"mediajobs.status_read.tensorpix.ok": 2}
    assert max(gaps) < 0.3, f"the event loop was blocked for {max(gaps):.2f}s"
