"""The schema helper is strict: a live body passes, and each documented constraint, once broken, fails.

This guards the other tests: if validation silently accepted anything, they would prove nothing.
"""

from __future__ import annotations

import copy

import jsonschema
import pytest

from support.emulator_api import (
    GOENHANCE_DETAIL,
    TAMS_JOB,
    TENSORPIX_JOB,
    VOZO_ERROR,
    VOZO_JOB_STATUS,
    validate,
)


def _finished_body(emu, api, provider):
    job_id = emu.add_job(provider, outcome="succeeded", queued_s=1, running_s=1)
    api.advance(10)
    return api.status(provider, job_id)


def _breaks(body, schema, mutate):
    broken = copy.deepcopy(body)
    mutate(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate(broken, schema)


def test_tensorpix_schema_is_strict(emu, api):
    body = _finished_body(emu, api, "tensorpix")
    validate(body, TENSORPIX_JOB)
    _breaks(body, TENSORPIX_JOB, lambda b: b.pop("eta_s"))
    _breaks(body, TENSORPIX_JOB, lambda b: b.update(status="2"))
    _breaks(body, TENSORPIX_JOB, lambda b: b.update(cost_usd=1.5))
    _breaks(body, TENSORPIX_JOB, lambda b: b.update(started="yesterday"))
    _breaks(body, TENSORPIX_JOB, lambda b: b["input_video"].pop("owner"))
    _breaks(body, TENSORPIX_JOB, lambda b: b["output_video"].update(file="/relative/path.mp4"))


def test_tams_schema_is_strict(emu, api):
    body = _finished_body(emu, api, "tensorart")
    validate(body, TAMS_JOB)
    _breaks(body, TAMS_JOB, lambda b: b["job"].update(id=int(b["job"]["id"])))
    _breaks(body, TAMS_JOB, lambda b: b["job"].update(status="DONE"))
    resources = body["job"]["successInfo"].get("images") or body["job"]["successInfo"]["videos"]
    key = "images" if body["job"]["successInfo"].get("images") else "videos"
    assert resources
    _breaks(body, TAMS_JOB, lambda b: b["job"]["successInfo"][key][0].update(expiredIn=43200))


def test_goenhance_schema_is_strict(emu, api):
    body = _finished_body(emu, api, "goenhance")
    validate(body, GOENHANCE_DETAIL)
    _breaks(body, GOENHANCE_DETAIL, lambda b: b["data"].update(status="completed"))
    _breaks(body, GOENHANCE_DETAIL, lambda b: b["data"].pop("params"))
    _breaks(body, GOENHANCE_DETAIL, lambda b: b["data"]["json"][0].pop("value"))


def test_vozo_schemas_are_strict(emu, api):
    body = _finished_body(emu, api, "vozo")
    validate(body, VOZO_JOB_STATUS)
    _breaks(body, VOZO_JOB_STATUS, lambda b: b.update(status="success"))
    with pytest.raises(jsonschema.ValidationError):
        validate({"code": 404, "message": "task not found"}, VOZO_ERROR)
