"""A provider outage in the middle of a job, against the emulator: the wait rides it out.

Time is scaled: the emulator runs ``SPEED`` emulated seconds per real second and the waits use the
provider's default poll intervals divided by ``SPEED``, so a 20-minute job with a 10-minute 503
outage takes a few real seconds. The outage tolerance is left at its default (30 min, real), except
in the test that checks the wait does give up once its (scaled) tolerance has passed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_mediajobs.dialects.registry import get_spec
from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.engine import retry as retry_module
from airflow_provider_mediajobs.engine.wait import OUTAGE_TOLERANCE
from airflow_provider_mediajobs.operators import MediaJobSubmitOperator
from airflow_provider_mediajobs.sensors import MediaJobSensor
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections

SPEED = 400.0
PROVIDER = "tensorpix"
QUEUED_S, RUNNING_S = 60.0, 1200.0  # emulated: 1 min queued, 20 min running
OUTAGE_AT, OUTAGE_S = 180.0, 600.0  # emulated: from minute 3 of the job, for 10 minutes
CONN_ID = "outage_tensorpix"


def real(emulated_seconds: float) -> float:
    return emulated_seconds / SPEED


POLL = real(get_spec(PROVIDER).default_poll_interval)
MAX_POLL = real(get_spec(PROVIDER).default_max_poll_interval)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(port=0, seed=3, speed=SPEED, tams_qps=0) as emu:
        yield emu


@pytest.fixture(autouse=True)
def scaled_call_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hooks' own retries of one call (1 s, 2 s, ... real) run on the scaled clock too."""
    original = retry_module.backoff_delay

    def scaled(attempt: int, *, base: float = 1.0, cap: float = 60.0, **kwargs: Any) -> float:
        return original(attempt, base=base / SPEED, cap=cap / SPEED, **kwargs)

    monkeypatch.setattr(retry_module, "backoff_delay", scaled)


@pytest.fixture
def emu(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    emulator.reset()
    conn = {
        "conn_type": PROVIDER,
        "host": emulator.base_url(PROVIDER),
        "password": emulator.credentials(PROVIDER)["api_key"],
        "extra": {"timeout": 5, "rate_limit": 0},
    }
    set_connections(monkeypatch, {CONN_ID: conn})
    return emulator


class Outage:
    """HTTP 503 on every status read of ``job_id`` from ``start`` for ``length`` real seconds."""

    def __init__(self, emu: Emulator, start: float, length: float) -> None:
        self.emu, self.start, self.length = emu, start, length
        self.job_id: str | None = None  # set once known (a submit creates the job)
        self.began: float | None = None
        self.ended: float | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        time.sleep(self.start)
        fault = self.emu.inject_fault(
            provider=PROVIDER, route="status", kind="http_503", count=None, job_id=self.job_id
        )
        self.began = time.monotonic()
        time.sleep(self.length)
        self.emu.remove_fault(fault)
        self.ended = time.monotonic()

    def __enter__(self) -> Outage:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(timeout=30)

    def failed_reads(self) -> int:
        stats = self.emu.stats()["requests"].get(f"{PROVIDER} status", {})
        return sum(v for k, v in stats.items() if str(k).startswith("5"))


def log_lines(capfd: pytest.CaptureFixture[str], level: str = "") -> list[str]:
    """The task/trigger log lines written so far (Airflow's structlog writes them to stdout)."""
    out = capfd.readouterr().out
    return [line for line in out.splitlines() if f"[{level}" in line]


def _new_job(emu: Emulator) -> str:
    return str(emu.add_job(PROVIDER, outcome="succeeded", queued_s=QUEUED_S, running_s=RUNNING_S))


def run_trigger(job_id: str, **timing: float) -> dict[str, Any]:
    """The trigger's one event, the trigger rebuilt from its stored (plain) kwargs as a triggerer does."""
    now = time.time()
    trigger = MediaJobTrigger(
        provider=PROVIDER,
        conn_id=CONN_ID,
        job_id=job_id,
        poll_interval=POLL,
        max_poll_interval=MAX_POLL,
        deadline=now + real(6 * 3600),
        started_at=now,
        **timing,
    )
    trigger = MediaJobTrigger(**json.loads(json.dumps(trigger.serialize()[1])))

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    return asyncio.run(first_event())


def _check_outage_was_real(outage: Outage) -> None:
    assert outage.began is not None and outage.ended is not None, "the outage never happened"
    assert outage.ended - outage.began == pytest.approx(real(OUTAGE_S), abs=0.2)
    # 10 emulated minutes of reads answered 503: far more than the old "10 failures in a row" bound
    # would have ridden out at these intervals (it gave up after ~0.5 s here, ~2 min for real)
    assert outage.failed_reads() >= 5


def test_trigger_rides_out_a_ten_minute_outage(emu: Emulator, capfd: pytest.CaptureFixture[str]) -> None:
    job_id = _new_job(emu)
    with Outage(emu, real(QUEUED_S + OUTAGE_AT), real(OUTAGE_S)) as outage:
        outage.job_id = job_id
        event = run_trigger(job_id)

    assert event["status"] == "succeeded", event["message"]
    assert event["job"]["state"] == "succeeded"
    _check_outage_was_real(outage)
    warnings = log_lines(capfd, "warning")
    assert warnings, "failed reads are logged"
    assert all("in a row" in w and "tolerating transient failures for" in w for w in warnings)
    assert not any(" of " + job_id in w for w in warnings)  # not "Read 3 of 349547 failed"


def test_non_deferrable_submit_rides_out_a_ten_minute_outage(
    emu: Emulator, make_context: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    emu.script(PROVIDER, outcome="succeeded", queued_s=QUEUED_S, running_s=RUNNING_S)
    operator = MediaJobSubmitOperator(
        task_id="submit",
        conn_id=CONN_ID,
        payload={"url": "https://example.com/in.mp4", "ml_models": [1]},
        deferrable=False,
        poll_interval=POLL,
        max_poll_interval=MAX_POLL,
    )
    # the job is created by the operator: the outage hits every job's status reads
    with Outage(emu, real(QUEUED_S + OUTAGE_AT), real(OUTAGE_S)) as outage:
        result = operator.execute(make_context())

    assert result["state"] == "succeeded"
    _check_outage_was_real(outage)
    summaries = [line for line in log_lines(capfd) if "ended:" in line]
    assert len(summaries) == 1
    assert f"{PROVIDER} job {result['job_id']} ended: succeeded" in summaries[0]


def test_poke_mode_sensor_rides_out_a_ten_minute_outage(
    emu: Emulator, make_context: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    job_id = _new_job(emu)
    sensor = MediaJobSensor(
        task_id="wait",
        job_id=job_id,
        conn_id=CONN_ID,
        deferrable=False,
        poke_interval=POLL,
        timeout=real(6 * 3600),
    )
    with Outage(emu, real(QUEUED_S + OUTAGE_AT), real(OUTAGE_S)) as outage:
        outage.job_id = job_id
        result = sensor.execute(make_context())

    assert result["state"] == "succeeded"
    _check_outage_was_real(outage)
    summaries = [line for line in log_lines(capfd) if "ended:" in line]
    assert len(summaries) == 1 and "ended: succeeded" in summaries[0]


def test_an_outage_longer_than_the_tolerance_ends_the_wait(emu: Emulator) -> None:
    """The bound is time: with a (scaled) 5-minute tolerance a 10-minute outage ends the wait with
    an error that says so, about 5 (scaled) minutes after the first failed read."""
    job_id = _new_job(emu)
    tolerance = real(300)
    with Outage(emu, real(QUEUED_S + OUTAGE_AT), real(OUTAGE_S)) as outage:
        outage.job_id = job_id
        event = run_trigger(job_id, outage_tolerance=tolerance, max_backoff=real(60))
        ended = time.monotonic()

    assert event["status"] == "error"
    assert event["error_type"] == "MediaJobTransientError"
    assert "Gave up after" in event["message"] and "in a row" in event["message"]
    assert outage.began is not None
    # given up once the tolerance passed (plus at most one poll of slack), during the outage
    assert tolerance <= ended - outage.began <= tolerance + MAX_POLL + 0.3
    assert event["job"]["state"] == "running"  # the last state seen travels with the error


def test_default_tolerance_is_thirty_minutes() -> None:
    assert OUTAGE_TOLERANCE == 1800.0
    assert MediaJobTrigger(provider=PROVIDER, conn_id=CONN_ID, job_id="1").outage_tolerance == 1800.0
