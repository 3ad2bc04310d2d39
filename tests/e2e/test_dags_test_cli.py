"""The real ``airflow dags test`` command (a subprocess) on the example DAGs, against the emulator.

The other e2e tests call ``dag.test()`` in-process, which is what this command runs (and can
shorten poll intervals and timeouts); these prove the command itself for each provider's example
DAG: DAG discovery from the bundle, connections from ``AIRFLOW_CONN_*``, the deferral and the
trigger run inline, the XCom a user would find in the metadata DB, and the exit code — success,
a failed job, a canceled job, transient 503/429 faults. The DAGs run unchanged, with their own
poll intervals (5 s; Vozo 15 s): one wait of about that long each. Timeouts (hours in the
examples) are covered in-process by test_e2e_examples.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    DagResult,
    SentinelEmulator,
    check_no_secrets,
    collect_run,
    error_lines,
    last_trigger_id,
    latest_run_id,
)
from test_e2e_examples import EXAMPLES, SCRIPT, created_job, fault, requests_seen, script

pytestmark = pytest.mark.e2e

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_ID = "example_mediajobs_tensorpix"


def test_airflow_dags_test_command(e2e_env: SentinelEmulator) -> None:
    emu = e2e_env.emulator
    emu.reset()
    # Still queued when the sensor task first reads it (Airflow 3.1 starts it ~5 s after submit).
    emu.script("tensorpix", queued_s=8.0, running_s=1.5)
    conf = {"video_url": "https://e2e.test/cli.mp4", "ml_models": [2]}
    last_trigger = last_trigger_id()
    started = time.time()

    proc = subprocess.run(
        [AIRFLOW, "dags", "test", DAG_ID, "--conf", json.dumps(conf)],
        env=dict(os.environ),  # AIRFLOW_HOME, the bundle and AIRFLOW_CONN_* set by the fixtures
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    result = collect_run(DAG_ID, latest_run_id(DAG_ID), last_trigger, output, time.time() - started)
    check_no_secrets(e2e_env.sentinels, result, started)
    assert result.state == "success", result.tail()
    assert result.tasks == {"submit": "success", "wait": "success", "report": "success"}
    job_id = result.xcom("submit", "job_id")
    assert result.xcom("submit") == job_id  # wait_for_completion=False returns the id
    job = result.xcom("wait")
    assert job["job_id"] == job_id and job["state"] == "succeeded"
    assert job["wait"]["status_calls"] >= 1  # the sensor deferred; the trigger read the job
    assert result.xcom("report") == job["output_urls"] and job["output_urls"]
    [trigger] = result.triggers
    assert trigger["kwargs"]["job_id"] == job_id and trigger["kwargs"]["poll_interval"] == 5.0
    request = emu.job("tensorpix", int(job_id))["request"]
    assert request["url"] == conf["video_url"]
    assert request["ml_models"] == [2]  # a native list: the DAG renders templates as objects
    assert emu.stats()["requests"]["tensorpix status"] == {"200": 1 + job["wait"]["status_calls"]}


# ---- every provider's example DAG, and the ways a wait ends, through the command itself --------
def run_cli(env: SentinelEmulator, dag_id: str, conf: dict[str, Any]) -> tuple[int, DagResult]:
    last_trigger = last_trigger_id()
    started = time.time()
    proc = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, "--conf", json.dumps(conf)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    result = collect_run(dag_id, latest_run_id(dag_id), last_trigger, output, time.time() - started)
    check_no_secrets(env.sentinels, result, started)
    return proc.returncode, result


@pytest.mark.parametrize("provider", ["goenhance", "tensorart", "vozo"])
def test_each_example_dag_succeeds_through_the_command(e2e_env: SentinelEmulator, provider: str) -> None:
    # (tensorpix: test_airflow_dags_test_command above)
    example = EXAMPLES[provider]
    e2e_env.emulator.reset()
    script(e2e_env, provider, outputs=list(example.outputs), **SCRIPT)

    code, result = run_cli(e2e_env, example.dag_id, example.conf)

    assert code == 0, result.tail()
    assert result.state == "success" and set(result.tasks.values()) == {"success"}, result.tail()
    job = result.xcom(example.wait)
    emulated = created_job(e2e_env, result, example)
    assert example.sent(emulated["request"]) == next(iter(example.conf.values()))
    assert job["state"] == "succeeded" and job["job_id"] == str(emulated["job_id"])
    assert len(job["output_urls"]) == len(example.outputs)
    assert job["wait"]["status_calls"] >= 1  # the trigger read the job
    [trigger] = result.triggers
    assert trigger["kwargs"]["job_id"] == job["job_id"]
    assert requests_seen(e2e_env, provider, "status") == {
        "200": example.reads_before_defer + job["wait"]["status_calls"]
    }


def test_a_failed_job_fails_the_command_with_the_reason(e2e_env: SentinelEmulator) -> None:
    example = EXAMPLES["vozo"]
    e2e_env.emulator.reset()
    reason = "cli: no speech found in the audio track"
    script(
        e2e_env,
        "vozo",
        outcome="failed",
        failure_reason=reason,
        failure_code="4101",
        queued_s=0.6,
        running_s=0.6,
    )

    code, result = run_cli(e2e_env, example.dag_id, example.conf)

    assert code != 0 and "DagRun failed" in result.log, result.tail()
    assert result.tasks == {example.wait: "failed", example.use: "upstream_failed"}, result.tasks
    job_id = result.xcom(example.submit, "job_id")
    failures = error_lines(result.log, "MediaJobFailedError")
    assert any(f"[4101] {reason}" in line and job_id in line for line in failures), result.tail()


def test_a_canceled_job_fails_the_command(e2e_env: SentinelEmulator) -> None:
    example = EXAMPLES["tensorpix"]
    e2e_env.emulator.reset()
    script(e2e_env, "tensorpix", outcome="canceled", **SCRIPT)

    code, result = run_cli(e2e_env, example.dag_id, example.conf)

    assert code != 0, result.tail()
    assert result.tasks == {"submit": "success", "wait": "failed", "report": "upstream_failed"}
    job_id = result.xcom(example.submit, "job_id")
    lines = error_lines(result.log, "MediaJobCanceledError")
    assert any(f"job {job_id} was canceled" in line for line in lines), result.tail()


def test_transient_faults_are_ridden_out_by_the_command(e2e_env: SentinelEmulator) -> None:
    example = EXAMPLES["goenhance"]
    e2e_env.emulator.reset()
    script(e2e_env, "goenhance", outputs=list(example.outputs), **SCRIPT)
    worker_reads = example.reads_before_defer  # the worker's read is one attempt, then it defers
    fault(e2e_env, "goenhance", "http_503", count=worker_reads + 2)
    fault(e2e_env, "goenhance", "http_429", count=1, retry_after=1)

    code, result = run_cli(e2e_env, example.dag_id, example.conf)

    assert code == 0, result.tail()
    job = result.xcom(example.wait)
    assert job["state"] == "succeeded" and job["output_urls"]
    status = requests_seen(e2e_env, "goenhance", "status")
    assert status["503"] == worker_reads + 2 and status["429"] == 1, status
    assert sum(status.values()) == worker_reads + job["wait"]["status_calls"]
