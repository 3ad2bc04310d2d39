"""Our TAMS hook's workflow kind (``POST /v1/jobs/workflow``) against the emulator: created, signed,
idempotent on the request id, refused with the API's own message when the graph is malformed."""

from __future__ import annotations

import pytest

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.exceptions import MediaJobError
from airflow_provider_mediajobs.hooks import hook_class
from airflow_provider_mediajobs.models import JobState

pytestmark = pytest.mark.usefixtures("connections")
GRAPH = {"params": {"1": {"classType": "CLIPTextEncode", "inputs": {"text": "a lighthouse"}}}}


def test_tams_workflow_job_through_the_hook(emu: Emulator) -> None:
    hook = hook_class("tensorart")(conn_id="tensorart_rsa")
    job_id = hook.submit_job(GRAPH, kind="workflow", request_id="wf-1")
    assert hook.submit_job(GRAPH, kind="workflow", request_id="wf-1") == job_id
    assert emu.job("tensorart", job_id)["kind"] == "workflow"
    emu.advance(10_000)
    assert hook.get_job(job_id).state is JobState.SUCCEEDED


def test_tams_malformed_workflow_is_refused_naming_the_field(emu: Emulator) -> None:
    hook = hook_class("tensorart")(conn_id="tensorart_emu")
    with pytest.raises(MediaJobError, match=r"params\['1'\]\.classType"):
        hook.submit_job({"params": {"1": {"inputs": {}}}}, kind="workflow", request_id="wf-2")
    assert emu.stats()["jobs"] == {}
