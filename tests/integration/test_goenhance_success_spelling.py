"""Our GoEnhance dialect reads a succeeded job whichever way the emulator spells it: ``success``
(the schema) or ``completed`` (the guide's prose), sync and async, with its outputs."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.hooks import hook_class
from airflow_provider_mediajobs.models import JobState, OutputKind

pytestmark = pytest.mark.usefixtures("connections")


@pytest.mark.parametrize("spelling", ["success", "completed"])
def test_goenhance_dialect_reads_both_spellings(emu: Emulator, spelling: str) -> None:
    emu.set_success_status("goenhance", spelling)
    job_id = emu.add_job(
        "goenhance", outcome="succeeded", queued_s=1, running_s=1, outputs=["image", "image"]
    )
    emu.advance(5)
    hook = hook_class("goenhance")(conn_id="goenhance_emu")
    for job in (hook.get_job(str(job_id)), asyncio.run(hook.aget_job(str(job_id)))):
        assert job.provider_status == spelling
        assert job.state is JobState.SUCCEEDED
        assert [output.kind for output in job.outputs] == [OutputKind.IMAGE, OutputKind.IMAGE]
