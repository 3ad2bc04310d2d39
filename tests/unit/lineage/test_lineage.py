"""OpenLineage facets of the sensors, submit operators and outputs operator (unit level)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediajobs import __version__, lineage
from airflow_provider_mediajobs.exceptions import MediaJobFailedError
from airflow_provider_mediajobs.models import JobState, MediaJob
from airflow_provider_mediajobs.operators import MediaJobOutputsOperator, TensorPixSubmitJobOperator
from airflow_provider_mediajobs.sensors import VozoJobSensor

pytest.importorskip("airflow.providers.openlineage")
from openlineage.client.serde import Serde

from support.connections import set_connections

SIGNED = "https://cdn.example.com/in/a.mp4?X-Amz-Signature=feedface&X-Amz-Credential=AKIAEXAMPLE"


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> None:
    for provider, host in (("tensorpix", "https://backend.tensorpix.ai"), ("vozo", None)):
        conn: dict[str, Any] = {"conn_type": provider, "password": f"{provider}-key"}
        if host:
            conn["host"] = host
        set_connections(monkeypatch, {f"{provider}_default": conn})


def as_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return json.loads(Serde.to_json(value))


def test_payload_media_become_inputs_without_query_or_credentials() -> None:
    payload = {
        "url": SIGNED,
        "audio": {"files": ["https://user:pw@media.example:8443/a/voice.mp3#t=3", "not a url", 7]},
        "callback_url": "https://hooks.example/notify?token=x",  # where the provider calls back
        "notifyUrl": "https://hooks.example/tams",
        "again": SIGNED,  # the same file once
        "other": "s3://bucket/key",  # not fetched by the provider over the web
    }
    assert lineage.input_media(payload) == [
        ("https://cdn.example.com", "/in/a.mp4"),
        ("https://media.example:8443", "/a/voice.mp3"),
    ]
    assert lineage.input_media(None) == [] and lineage.input_media({"prompt": "a cat"}) == []


@pytest.mark.parametrize(
    ("uri", "dataset"),
    [
        ("file:///data/renders/0.png", ("file", "/data/renders/0.png")),
        ("s3://aws_default@bucket/renders/0.mp4", ("s3://bucket", "renders/0.mp4")),
        ("s3://bucket/renders/0.mp4", ("s3://bucket", "renders/0.mp4")),
        ("gs://bucket/renders/0.mp4", ("gs://bucket", "renders/0.mp4")),
        ("gcs://bucket/renders/0.mp4", ("gs://bucket", "renders/0.mp4")),
    ],
)
def test_persisted_files_are_named_per_the_naming_spec(uri: str, dataset: tuple[str, str]) -> None:
    assert lineage.storage_dataset(uri) == dataset


def test_a_local_file_has_the_namespace_object_storage_path_gives_it(tmp_path: Path) -> None:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(f"file://{tmp_path}/0.png")
    assert lineage.storage_dataset(f"file://{tmp_path}/0.png") == (path.namespace, str(path.path))


def test_the_facet_schema_ships_with_the_package_and_validates_the_facet() -> None:
    import jsonschema

    shipped = resources.files("airflow_provider_mediajobs").joinpath("lineage/MediaJobsJobRunFacet.json")
    schema = json.loads(shipped.read_text())
    assert schema["$id"] == lineage.SCHEMA_ID and f"/{__version__}/" in schema["$id"]
    assert schema["$id"] + "#/$defs/MediaJobsJobRunFacet" == lineage.SCHEMA_URL
    assert set(schema["properties"]) == {lineage.FACET_KEY}  # {prefix}_{name}, as the spec asks
    summary = lineage.job_summary(
        "tensorpix",
        "42",
        {
            "status": "succeeded",
            "job": MediaJob("tensorpix", "42", JobState.SUCCEEDED, cost=0.5, cost_unit="usd").to_dict(),
            "queued_seconds": 1.5,
            "running_seconds": 20.0,
        },
    )
    facet = as_json(lineage.run_facets(summary, "https://backend.tensorpix.ai")[lineage.FACET_KEY])
    assert facet["_schemaURL"] == lineage.SCHEMA_URL and facet["_producer"]
    own = schema["$defs"]["MediaJobsJobRunFacet"]["allOf"][1]  # the RunFacet part is OpenLineage's
    jsonschema.validate({k: v for k, v in facet.items() if not k.startswith("_")}, own)
    assert facet["queueSeconds"] == 1.5 and facet["runSeconds"] == 20.0 and facet["cost"] == 0.5


def finished_event(state: JobState, error: str | None = None) -> dict[str, Any]:
    job = MediaJob(
        "vozo", "job-7", state, error=error, job_kind="lipsync", outputs=(), cost=None, cost_unit=None
    )
    status = {"succeeded": "succeeded", "failed": "failed"}[state.value]
    message = f"vozo job job-7 failed: {error}" if error else "ok"
    return {"status": status, "job": job.to_dict(), "message": message, "job_id": "job-7"}


def test_a_sensor_after_a_deferral_describes_the_job_it_waited_for() -> None:
    sensor = VozoJobSensor(task_id="wait", job_id="job-7", job_kind="lipsync")
    sensor.execute_complete({}, event=finished_event(JobState.SUCCEEDED))  # the resumed task
    got = sensor.get_openlineage_facets_on_complete(task_instance=None)
    assert got.inputs == [] and got.outputs == []
    facets = as_json(got.run_facets)
    assert facets["externalQuery"] == {
        "_producer": facets["externalQuery"]["_producer"],
        "_schemaURL": facets["externalQuery"]["_schemaURL"],
        "externalQueryId": "job-7",
        "source": "vozo://api.vozo.ai",  # the provider's default host: the connection has none
    }
    assert facets["mediaJobs_job"]["state"] == "succeeded"
    assert facets["mediaJobs_job"]["jobKind"] == "lipsync"
    assert "errorMessage" not in facets


def test_a_failed_job_adds_its_reason_without_signed_urls() -> None:
    sensor = VozoJobSensor(task_id="wait", job_id="job-7")
    with pytest.raises(MediaJobFailedError):
        sensor.execute_complete({}, event=finished_event(JobState.FAILED, f"could not fetch {SIGNED}"))
    got = sensor.get_openlineage_facets_on_failure(task_instance=None)
    facets = as_json(got.run_facets)
    assert facets["mediaJobs_job"]["state"] == "failed"
    message = facets["errorMessage"]["message"]
    assert "could not fetch https://cdn.example.com/in/a.mp4" in message
    assert "feedface" not in message and "AKIAEXAMPLE" not in message
    assert facets["errorMessage"]["programmingLanguage"] == "python"


def test_a_submit_operator_lists_its_payload_media_and_the_job() -> None:
    op = TensorPixSubmitJobOperator(task_id="submit", payload={"url": SIGNED, "ml_models": [1]})
    op._submitted_job_id = "99"  # execute() submitted it; the wait has not ended (deferred, failed)
    got = op.get_openlineage_facets_on_failure(task_instance=None)
    assert [(d.namespace, d.name) for d in got.inputs] == [("https://cdn.example.com", "/in/a.mp4")]
    facets = as_json(got.run_facets)
    assert facets["externalQuery"]["externalQueryId"] == "99"
    assert facets["externalQuery"]["source"] == "tensorpix://backend.tensorpix.ai"
    assert "state" not in facets["mediaJobs_job"]  # not known: no event yet
    assert "feedface" not in json.dumps([as_json(d) for d in got.inputs]) + json.dumps(facets)


def test_the_outputs_operator_names_each_file_and_its_job(tmp_path: Path) -> None:
    op = MediaJobOutputsOperator(task_id="persist", job_id="42", provider="tensorpix", destination=tmp_path)
    op._lineage_job = MediaJob("tensorpix", "42", JobState.SUCCEEDED, cost=0.5, cost_unit="usd")
    op._lineage_files = [
        {"path": f"file://{tmp_path}/42-0.mp4", "skipped": False, "url": "https://cdn.test/42-0.mp4"},
        {"path": "s3://aws_default@renders/42-1.png", "skipped": True},  # unchanged, still there
    ]
    got = op.get_openlineage_facets_on_complete(task_instance=None)
    assert [(d.namespace, d.name) for d in got.outputs] == [
        ("file", f"{tmp_path}/42-0.mp4"),
        ("s3://renders", "42-1.png"),
    ]
    facets = as_json(got.run_facets)
    assert facets["mediaJobs_job"]["jobId"] == "42" and facets["mediaJobs_job"]["cost"] == 0.5
    assert facets["externalQuery"]["source"] == "tensorpix://backend.tensorpix.ai"


def test_a_job_dict_given_as_job_id_is_the_job_of_the_outputs(tmp_path: Path) -> None:
    job = MediaJob("vozo", "job-7", JobState.SUCCEEDED, job_kind="translate").to_dict()
    op = MediaJobOutputsOperator(task_id="persist", job_id=job, destination=tmp_path)
    got = op.get_openlineage_facets_on_complete(task_instance=None)
    assert got.outputs == []
    facets = as_json(got.run_facets)
    assert (facets["mediaJobs_job"]["jobId"], facets["mediaJobs_job"]["jobKind"]) == ("job-7", "translate")


def test_a_task_that_persisted_its_job_s_files_lists_them_as_outputs(tmp_path: Path) -> None:
    """A sensor or submit operator given a destination returns the job with ``files``."""
    sensor = VozoJobSensor(task_id="wait", job_id="job-7")
    result = sensor.execute_complete({}, event=finished_event(JobState.SUCCEEDED))
    result["files"] = [{"path": f"file://{tmp_path}/job-7-0.mp4"}]  # the resume step persisted them
    got = sensor.get_openlineage_facets_on_complete(task_instance=None)
    assert [(d.namespace, d.name) for d in got.outputs] == [("file", f"{tmp_path}/job-7-0.mp4")]


def test_without_the_openlineage_provider_nothing_changes(tmp_path: Path) -> None:
    """A child process where ``openlineage`` cannot be imported: operators import and work."""
    code = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "openlineage" or name.startswith(LINEAGE_MODULES):
            raise ImportError(f"blocked: {name}")
        return None

LINEAGE_MODULES = ("openlineage.", "airflow.providers.openlineage.extractors",
    "airflow.providers.openlineage.plugins", "airflow.providers.common.compat.openlineage")
sys.meta_path.insert(0, Block())
from airflow_provider_mediajobs.operators import MediaJobOutputsOperator, TensorPixSubmitJobOperator
from airflow_provider_mediajobs.sensors import VozoJobSensor
from airflow_provider_mediajobs.triggers import MediaJobTrigger
sensor = VozoJobSensor(task_id="wait", job_id="job-7")
sensor.execute_complete({}, event={"status": "succeeded", "job": {"provider": "vozo", "job_id": "job-7",
    "state": "succeeded"}, "message": "ok"})
assert sensor.get_openlineage_facets_on_complete(None) is None
assert sensor.get_openlineage_facets_on_failure(None) is None
op = TensorPixSubmitJobOperator(task_id="submit", payload={"url": "https://x.test/a.mp4"})
assert op.get_openlineage_facets_on_complete(None) is None
assert not [m for m in sys.modules if m == "openlineage" or m.startswith(LINEAGE_MODULES)]
print("OK")
"""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]


def test_importing_the_provider_does_not_import_openlineage(tmp_path: Path) -> None:
    code = (
        "import sys, airflow_provider_mediajobs.operators, airflow_provider_mediajobs.sensors\n"
        "print([m for m in sys.modules if m.startswith(('openlineage', 'airflow.providers.openlineage.'))"
        " and not m.endswith('get_provider_info')])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "AIRFLOW_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip().splitlines()[-1] == "[]", proc.stderr[-3000:]
