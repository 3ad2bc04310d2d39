"""Real Airflow 3 on SQLite: ``airflow dags trigger mediajobs_pipeline``, a run without a logical date.

A manual run from the CLI (or the REST API with ``logical_date: null``) has no ``ds``; the example
pipeline must still persist every output, to a folder named after the run id. One Airflow
(api-server, scheduler with the LocalExecutor, triggerer) runs the example pipeline once, against
the emulator with jobs scripted to take a few seconds. The scheduler's own cron runs are off
(``[scheduler] use_job_schedule``), so the CLI run is the only one.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mediajobs_cluster import AIRFLOW, PIPELINE_DAG, AirflowCluster, SentinelEmulator, wait_until

from airflow_provider_mediajobs.models import MediaJob, format_cost, total_cost
from airflow_provider_mediajobs.operators.destinations import path_safe

from support.constants import PROVIDERS

pytestmark = [pytest.mark.airflow_processes, pytest.mark.timeout(600)]

DAG_ID = "mediajobs_pipeline"
SUBMITS = ("goenhance_face_swap", "tensorart_artwork", "vozo_lipsync", "tensorpix_upscale")
# Anything but these ends the wait: a failed render retries only after 5 minutes.
RUNNING = ("scheduled", "queued", "running", "deferred", "restarting", None)


@dataclass
class Outcome:
    cluster: AirflowCluster
    run_id: str
    output_dir: Path
    run: dict[str, Any]
    tis: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)

    def xcom(self, task_id: str) -> Any:
        return self.cluster.xcom(DAG_ID, self.run_id, task_id)

    def task_log(self, task_id: str) -> str:
        folder = (
            self.cluster.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={self.run_id}" / f"task_id={task_id}"
        )
        return "".join(p.read_text(errors="replace") for p in sorted(folder.glob("attempt=*.log")))


def cli_trigger(cluster: AirflowCluster) -> dict[str, Any]:
    """``airflow dags trigger <dag_id> -o json`` as a user types it: no run id, no logical date."""
    result = subprocess.run(
        [AIRFLOW, "dags", "trigger", DAG_ID, "-o", "json"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    # the JSON list is the last line (Airflow may log warnings before it)
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(rows) == 1, rows
    return dict(rows[0])


@pytest.fixture(scope="module")
def outcome(
    sentinel_emulator: SentinelEmulator, record_timings: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    emu = sentinel_emulator.emulator
    root = tmp_path_factory.mktemp("airflow-cli-trigger")
    output_dir = root / "outputs"
    # Done ~12 s after its create (two per provider in case a task is retried): not sooner, as a
    # trigger that fires before the scheduler has processed the deferral's executor event makes
    # Airflow fail the task ("finished with state success, but ... queued"), and here a task's process
    # was seen to take ~5 s to exit after deferring (cause not established).
    for provider in PROVIDERS:
        emu.script(provider, count=2, queued_s=2, running_s=10)
    cluster = AirflowCluster(
        root,
        db_url=f"sqlite:///{root / 'airflow.db'}",
        dag_files=[PIPELINE_DAG],
        connections=sentinel_emulator.connections,
        extra_env={
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "MEDIAJOBS_OUTPUT_DIR": str(output_dir),
        },
    )
    t: dict[str, float] = {}
    try:
        began = time.monotonic()
        cluster.prepare()
        cluster.start_core()
        cluster.start_triggerer("triggerer-1")
        t["airflow_up_s"] = time.monotonic() - began
        triggered = time.monotonic()
        run_id = str(cli_trigger(cluster)["dag_run_id"])

        def finished() -> bool:
            cluster.check_alive()
            states = cluster.run_states(DAG_ID)
            tis = [r for r in cluster.task_states(DAG_ID) if r["run_id"] == run_id]
            stuck = [r for r in tis if r["state"] not in (*RUNNING, "success")]
            return bool(stuck) or states.get(run_id) in ("success", "failed")

        wait_until(finished, 240, "the CLI-triggered run to finish", diagnose=cluster.diagnose)
        t["run_s"] = time.monotonic() - triggered
        t["total_s"] = time.monotonic() - began
        record_timings("sqlite, airflow dags trigger without a logical date", t)
        runs = cluster.rows(
            "SELECT run_id, state, run_type, logical_date FROM dag_run WHERE dag_id = :d", d=DAG_ID
        )
        assert [r["run_id"] for r in runs] == [run_id], runs
        yield Outcome(
            cluster=cluster,
            run_id=run_id,
            output_dir=output_dir,
            run=runs[0],
            tis=[r for r in cluster.task_states(DAG_ID) if r["run_id"] == run_id],
            timings=t,
        )
    finally:
        cluster.stop_all()


def test_the_cli_run_has_no_logical_date_and_succeeds(outcome: Outcome) -> None:
    assert outcome.run["run_type"] == "manual" and outcome.run["logical_date"] is None, outcome.run
    expected = {*SUBMITS, "collect"}  # one task per job: each submit persists its outputs
    # every task on its first try (a destination that fails to render leaves its task up_for_retry)
    assert {(r["task_id"], r["state"], r["try_number"]) for r in outcome.tis} == {
        (task, "success", 1) for task in expected
    }
    assert outcome.run["state"] == "success", outcome.run


def test_every_output_is_persisted_under_the_run_id_folder(outcome: Outcome) -> None:
    folder = outcome.output_dir / path_safe(outcome.run_id)
    assert ":" not in folder.name and "+" not in folder.name, folder
    reported: list[Path] = []
    for task in SUBMITS:
        job = outcome.xcom(task)
        assert job and job["state"] == "succeeded" and job["output_urls"], (task, job)
        files = job["files"]
        assert len(files) == len(job["output_urls"]), (task, files)
        for item in files:
            path = Path(str(item["path"]).removeprefix("file://"))
            assert path.parent == folder, (task, item)
            data = path.read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (item["bytes"], item["sha256"])
            reported.append(path)
    # nothing written anywhere else (no ds folder, no stray temporary file)
    assert sorted(p for p in outcome.output_dir.rglob("*") if p.is_file()) == sorted(reported)


def test_collect_logs_the_total_cost_of_the_run(outcome: Outcome) -> None:
    jobs = [MediaJob.from_dict(job) for job in outcome.xcom("collect")]
    assert sorted(job.provider for job in jobs) == sorted(PROVIDERS)
    totals = total_cost(jobs)
    assert set(totals) == {"credits", "usd"}, totals  # TAMS bills credits, TensorPix dollars
    assert f"Total cost of the run: {format_cost(totals)}" in outcome.task_log("collect")
