"""The real ``airflow dags test`` command (a subprocess) on an example DAG, against the emulator.

The other e2e tests call ``dag.test()`` in-process, which is what this command runs; this one
proves the command itself: DAG discovery from the bundle, connections from ``AIRFLOW_CONN_*``,
the deferral and the trigger run inline, and the XCom a user would find in the metadata DB. The
DAG runs unchanged, with its own poll interval (5 s): one wait of about that long.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_support import SentinelEmulator, check_no_secrets, collect_run, last_trigger_id, latest_run_id

pytestmark = pytest.mark.e2e

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_ID = "example_mediajobs_tensorpix"


def test_airflow_dags_test_command(e2e_env: SentinelEmulator) -> None:
    emu = e2e_env.emulator
    emu.reset()
    emu.script("tensorpix", queued_s=0.5, running_s=1.5)
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
