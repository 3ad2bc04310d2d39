"""The example pipeline in a real Airflow process, seen by OpenLineage and by a StatsD listener.

A child process runs ``dag.test()`` (what ``airflow dags test`` runs) on the example pipeline
against the emulator, configured only by environment variables as a deployment would be:
OpenLineage's file transport (``[openlineage] transport``) and StatsD (``[metrics] statsd_*``)
pointed at a UDP socket on 127.0.0.1 that this test reads. The events must be drawable by a
lineage tool: each submit task's media inputs and job, each outputs task's files and the same job
id linking the two; no signature, key or query string anywhere in them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.lineage import SCHEMA_URL

from support.connections import connection_env, environ_without_airflow
from support.constants import PROVIDERS

# Ten tasks through dag.test(): about 2 min on Airflow 3.3, 4-5 min on 3.1 (slower between tasks)
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(660)]

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "example_dags"
SUBMITS = {
    "goenhance_face_swap": "goenhance",
    "tensorart_artwork": "tensorart",
    "vozo_lipsync": "vozo",
    "tensorpix_upscale": "tensorpix",
}
SIGNED_VIDEO = (
    "https://media.example:8443/in/clip.mp4?X-Amz-Signature=0badc0ffee0badc0ffee&X-Amz-Credential=AKIAEXAMPLE"
)


class StatsdListener:
    """A UDP socket on 127.0.0.1 that keeps every StatsD line it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            self.lines.extend(data.decode(errors="replace").splitlines())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def total(self, name: str) -> float:
        """Sum of the values sent for ``name`` (counters and delta gauges)."""
        total = 0.0
        for line in self.lines:
            metric, _, rest = line.partition(":")
            if metric == name:
                total += float(rest.split("|")[0])
        return total

    def names(self) -> set[str]:
        return {line.partition(":")[0] for line in self.lines}


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("pipeline")
    events_file = tmp / "openlineage.jsonl"
    outputs = tmp / "outputs"
    listener = StatsdListener()
    with Emulator(port=0, seed=7, speed=1.0, tams_qps=0) as emu:
        for provider in PROVIDERS:
            emu.script(provider, count=2, queued_s=0.6, running_s=0.6)
        env = environ_without_airflow()
        env.update(
            AIRFLOW_HOME=str(tmp / "airflow"),
            AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLES),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__UNIT_TEST_MODE="True",
            AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            AIRFLOW__OPENLINEAGE__NAMESPACE="mediajobs-test",
            AIRFLOW__METRICS__STATSD_ON="True",
            AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
            AIRFLOW__METRICS__STATSD_PORT=str(listener.port),
            AIRFLOW__METRICS__STATSD_PREFIX="airflow",
            MEDIAJOBS_OUTPUT_DIR=str(outputs),
            PIPELINE_CONF=json.dumps({"source_video": SIGNED_VIDEO, "output_dir": str(outputs)}),
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        secrets = [emu.credentials(p).get("api_key") for p in PROVIDERS]
        # the emulator's CDN is on 127.0.0.1: downloads there need the connection's consent
        conns = {f"{p}_default": emu.connection(p, allow_private_hosts=True) for p in PROVIDERS}
        env.update(connection_env(conns))
        proc = subprocess.run(
            [sys.executable, str(HERE / "pipeline_child.py"), "mediajobs_pipeline"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    listener.close()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT=")]
    assert proc.returncode == 0 and lines, (proc.stdout[-4000:], proc.stderr[-4000:])
    result = json.loads(lines[-1].removeprefix("RESULT="))
    assert result["state"].endswith("success"), (result, proc.stderr[-4000:])
    text = events_file.read_text() if events_file.exists() else ""
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    if os.environ.get("MEDIAJOBS_DEBUG_DUMP"):
        Path(os.environ["MEDIAJOBS_DEBUG_DUMP"]).write_text(
            json.dumps({"events": events, "statsd": listener.lines, "stderr": proc.stderr[-20000:]})
        )
    yield {
        "result": result,
        "events": events,
        "text": text,
        "statsd": listener,
        "secrets": [s for s in secrets if s],
        "stderr": proc.stderr,
    }


def completes(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The COMPLETE event of each task, by task id."""
    found = {}
    for event in run["events"]:
        if event.get("eventType") == "COMPLETE" and event["job"]["name"].startswith("mediajobs_pipeline."):
            found[event["job"]["name"].removeprefix("mediajobs_pipeline.")] = event
    return found


def test_submit_tasks_describe_their_inputs_and_job(pipeline_run: dict[str, Any]) -> None:
    events = completes(pipeline_run)
    tasks = pipeline_run["result"]["tasks"]
    for task_id, provider in SUBMITS.items():
        event = events[task_id]
        job = tasks[task_id]["value"]
        facets = event["run"]["facets"]
        assert facets["externalQuery"]["externalQueryId"] == job["job_id"]
        assert facets["externalQuery"]["source"].startswith(f"{provider}://127.0.0.1:")
        ours = facets["mediaJobs_job"]
        assert ours["provider"] == provider and ours["jobId"] == job["job_id"]
        assert ours["state"] == "succeeded"
        assert ours["_schemaURL"] == SCHEMA_URL
        # (OpenLineage's serializer leaves out fields that are None)
        assert ours.get("cost") == job["cost"] and ours.get("costUnit") == job["cost_unit"]
        assert ours.get("jobKind") == job["job_kind"]
        assert ours["queueSeconds"] >= 0 and ours.get("runSeconds", 0) >= 0
    inputs = {t: {(d["namespace"], d["name"]) for d in events[t]["inputs"]} for t in SUBMITS}
    assert inputs["goenhance_face_swap"] == {
        ("https://example.com", "/media/poster.jpg"),
        ("https://example.com", "/media/face.jpg"),
    }
    assert inputs["tensorart_artwork"] == set()  # a prompt: no input media
    assert ("https://media.example:8443", "/in/clip.mp4") in inputs["vozo_lipsync"]
    assert ("https://example.com", "/media/voice.mp3") in inputs["vozo_lipsync"]
    assert inputs["tensorpix_upscale"] == {("https://media.example:8443", "/in/clip.mp4")}


def test_every_persisted_file_is_an_output_of_the_job(pipeline_run: dict[str, Any]) -> None:
    """Files are persisted by an outputs task after the submit task, or by the submit task itself
    (``destination=``); either way its COMPLETE event lists them, with the job that made them."""
    events = completes(pipeline_run)
    tasks = pipeline_run["result"]["tasks"]
    for task_id, provider in SUBMITS.items():
        persisting = f"{task_id}_outputs" if f"{task_id}_outputs" in tasks else task_id
        value = tasks[persisting]["value"]
        written = value.get("files") if isinstance(value, dict) else value
        assert written, persisting
        event = events[persisting]
        datasets = [(d["namespace"], d["name"]) for d in event["outputs"]]
        assert datasets == [("file", r["path"].removeprefix("file://")) for r in written]
        assert all(Path(name).is_absolute() and Path(name).is_file() for _, name in datasets)
        # the same job id as the submit task's: a lineage tool links submit -> job -> files
        facets = event["run"]["facets"]
        assert facets["mediaJobs_job"]["jobId"] == tasks[task_id]["value"]["job_id"]
        assert facets["mediaJobs_job"]["provider"] == provider
        assert facets["externalQuery"]["externalQueryId"] == tasks[task_id]["value"]["job_id"]


def without_run_conf(event: dict[str, Any]) -> dict[str, Any]:
    """The event less Airflow's own copies of the DAG run's conf (the OpenLineage provider's
    ``airflow``/``airflowDagRun`` facets carry it verbatim: what a user puts there is theirs)."""
    event = json.loads(json.dumps(event))
    for facet in event["run"]["facets"].values():
        if isinstance(facet, dict) and isinstance(facet.get("dagRun"), dict):
            facet["dagRun"].pop("conf", None)
    return event


def test_no_signature_key_or_query_string_in_any_event(pipeline_run: dict[str, Any]) -> None:
    assert pipeline_run["events"], pipeline_run["stderr"][-3000:]
    text = json.dumps([without_run_conf(e) for e in pipeline_run["events"]])
    for secret in [*pipeline_run["secrets"], "0badc0ffee", "AKIAEXAMPLE", "Signature", "sig="]:
        assert secret not in text
    for event in pipeline_run["events"]:
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
            assert "?" not in dataset["name"] and "@" not in dataset["namespace"]


def test_metrics_reach_a_statsd_listener(pipeline_run: dict[str, Any]) -> None:
    statsd = pipeline_run["statsd"]
    tasks = pipeline_run["result"]["tasks"]
    names = statsd.names()
    for task_id, provider in SUBMITS.items():
        job = tasks[task_id]["value"]
        assert statsd.total(f"airflow.mediajobs.status_read.{provider}.ok") >= job["wait"]["status_calls"]
        assert statsd.total(f"airflow.mediajobs.job_ended.{provider}.succeeded") == 1
        assert statsd.total(f"airflow.mediajobs.waits_in_flight.{provider}") == 0  # +1, then -1
        assert f"airflow.mediajobs.waits_in_flight.{provider}" in names
        persisting = f"{task_id}_outputs" if f"{task_id}_outputs" in tasks else task_id
        value = tasks[persisting]["value"]
        records = value.get("files") if isinstance(value, dict) else value
        written = sum(r["bytes"] for r in records if not r["skipped"])
        assert statsd.total(f"airflow.mediajobs.bytes_persisted.{provider}") == written
        if job["cost"] is not None:
            unit = job["cost_unit"].replace(" ", "_")
            assert statsd.total(f"airflow.mediajobs.cost_micros.{provider}.{unit}") == round(
                job["cost"] * 1_000_000
            )
