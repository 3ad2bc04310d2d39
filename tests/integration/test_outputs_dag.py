"""The operator inside a DAG, run by Airflow's own ``dag.test()``: XCom, files and the Asset event.

A sensor reads a finished TensorArt job from the emulator, the outputs operator takes the sensor's
XCom (``wait.output``) and writes to a folder; the DAG runs twice, so the second run shows the
idempotent re-run (everything skipped) and a second Asset event.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DAG = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_mediajobs.operators import MediaJobOutputsOperator
from airflow_provider_mediajobs.sensors import TensorArtJobSensor

with DAG("outputs_dag", start_date=datetime(2026, 1, 1), schedule=None, catchup=False):
    wait = TensorArtJobSensor(task_id="wait", job_id="{job_id}", poll_interval=0.5)
    MediaJobOutputsOperator(
        task_id="persist",
        job_id=wait.output,
        destination="{destination}",
        filename_template="{{index}}-{{kind}}{{ext}}",
        asset=True,
    )
"""


@pytest.mark.e2e
def test_dag_test_records_xcom_and_an_asset_event(emulator, finished, served, files, tmp_path):
    job = finished("tensorart", outputs=["image", "video"], output_bytes=20_000)
    expected = served(job)
    destination = tmp_path / "renders"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "outputs_dag.py").write_text(
        textwrap.dedent(DAG).format(job_id=job.job_id, destination=destination)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
    )

    proc = subprocess.run(
        [sys.executable, str(HERE / "dag_run.py"), "outputs_dag"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT=")]
    assert proc.returncode == 0 and lines, (proc.stdout[-3000:], proc.stderr[-3000:])
    first, second = json.loads(lines[-1].removeprefix("RESULT="))["runs"]

    # run 1: both tasks succeeded, the files are byte-exact, XCom describes them
    assert first["state"].endswith("success"), first
    assert {t: v["state"] for t, v in first["tasks"].items()} == {"wait": "success", "persist": "success"}
    written = first["tasks"]["persist"]["value"]
    assert [Path(r["path"].removeprefix("file://")).name for r in written] == ["0-image.png", "1-video.mp4"]
    on_disk = files(destination)
    assert sorted(on_disk.values()) == sorted(expected.values())
    for result in written:
        body = on_disk[Path(result["path"]).name]
        assert result["sha256"] == hashlib.sha256(body).hexdigest()
        assert result["bytes"] == len(body)
        assert result["skipped"] is False
        assert "sig=" not in result["url"]

    # the Asset event for the destination, with the files in its extra
    (event,) = first["asset_events"]
    assert event["uri"] == f"file://{destination}"
    assert event["task_id"] == "persist"
    assert event["extra"]["job_id"] == job.job_id
    assert event["extra"]["conn_id"] == "tensorart_default"
    assert [f["sha256"] for f in event["extra"]["files"]] == [r["sha256"] for r in written]

    # run 2: the same files again, skipped, and recorded as such
    assert second["state"].endswith("success"), second
    again = second["tasks"]["persist"]["value"]
    assert [r["skipped"] for r in again] == [True, True]
    assert [r["sha256"] for r in again] == [r["sha256"] for r in written]
    (event2,) = second["asset_events"]
    assert [f["skipped"] for f in event2["extra"]["files"]] == [True, True]
    assert files(destination) == on_disk
    assert emulator.stats()["cdn_authorization_headers"] == 0
