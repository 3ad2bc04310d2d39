"""Routes real clients call besides create/status/cancel (issue 31), over plain HTTP: TAMS templates,
template and workflow checks, workflow jobs; TensorPix jobs from uploads, the model list, the job
list; GoEnhance's v2v style list; a known path with another method; GoEnhance's success spelling."""

from __future__ import annotations

import copy
import uuid

import httpx
import pytest
import requests

from airflow_provider_mediajobs.dialects import registry
from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.emulator.__main__ import parser
from airflow_provider_mediajobs.emulator.providers import all_providers

from support.constants import PROVIDERS
from support.emulator_api import (
    DEFAULT_KEYS,
    GOENHANCE_DETAIL,
    GOENHANCE_FACESWAP,
    TAMS_ERROR,
    TENSORPIX_ERROR,
    TENSORPIX_JOB,
    TENSORPIX_ML_MODEL,
    TENSORPIX_VIDEO,
    auth_header,
    validate,
)

TEMPLATE_ID = "676018193025756628"
FIELDS = {
    "fieldAttrs": [
        {"nodeId": "25", "fieldName": "image", "fieldValue": None},
        {"nodeId": "27", "fieldName": "text", "fieldValue": "1 girl"},
    ]
}
WORKFLOW_PARAMS = {
    "1": {"classType": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "600423083519508503"}},
    "2": {"classType": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["1", 1]}},
}


# ---- TAMS ---------------------------------------------------------------------------------------
def test_tams_get_template_has_name_and_field_attrs(api):
    response = api.request("tensorart", "GET", f"/tensorart/v1/workflows/{TEMPLATE_ID}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["name"], str) and body["name"]
    attrs = body["fields"]["fieldAttrs"]
    assert attrs, "a template has fields"
    for attr in attrs:
        assert {"nodeId", "fieldName", "fieldValue"} <= set(attr)
        assert isinstance(attr["nodeId"], str) and isinstance(attr["fieldName"], str)


@pytest.mark.parametrize(("template_id", "status", "code"), [("0", 404, 5), ("abc", 400, 3)])
def test_tams_get_template_unknown_or_malformed_id(api, template_id, status, code):
    response = api.request("tensorart", "GET", f"/tensorart/v1/workflows/{template_id}")
    assert response.status_code == status
    validate(response.json(), TAMS_ERROR)
    assert response.json()["code"] == code


def test_tams_template_check_answers_valid_and_credits(api):
    body = {"templateId": TEMPLATE_ID, "fields": FIELDS}
    response = api.request("tensorart", "POST", "/tensorart/v1/workflows/template/check", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["valid"] is True
    assert float(answer["credits"]) > 0
    assert api.emu.stats()["jobs"] == {}  # a check creates nothing


def test_tams_workflow_params_check_answers_valid_and_credits(api):
    body = {"params": WORKFLOW_PARAMS}
    response = api.request("tensorart", "POST", "/tensorart/v1/jobs/workflow/params/check", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is True
    assert float(response.json()["credits"]) > 0


def test_tams_workflow_job_is_created_idempotently_and_runs(api):
    body = {"requestId": uuid.uuid4().hex, "params": WORKFLOW_PARAMS}
    first = api.request("tensorart", "POST", "/tensorart/v1/jobs/workflow", json=body)
    assert first.status_code == 200, first.text
    job = first.json()["job"]
    assert job["status"] == "CREATED" and job["id"].isdigit()
    again = api.request("tensorart", "POST", "/tensorart/v1/jobs/workflow", json=body)
    assert again.json()["job"]["id"] == job["id"]
    assert api.emu.job("tensorart", job["id"])["kind"] == "workflow"
    api.advance(10_000)
    done = api.status("tensorart", job["id"])["job"]
    assert done["status"] == "SUCCESS" and done["successInfo"]["images"]


def test_tams_snake_case_template_job(api):
    body = {
        "request_id": uuid.uuid4().hex,
        "template_id": TEMPLATE_ID,
        "fields": {"field_attrs": [{"node_id": "27", "field_name": "text", "field_value": "x"}]},
    }
    response = api.request("tensorart", "POST", "/tensorart/v1/jobs/workflow/template", json=body)
    assert response.status_code == 200, response.text


# ---- TensorPix ----------------------------------------------------------------------------------
def _upload(api) -> int:
    files = {"file": ("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\0" * 64, "video/mp4")}
    response = httpx.post(
        f"{api.url}/tensorpix/api/videos/", files=files, headers=auth_header("tensorpix"), timeout=10
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_tensorpix_job_from_an_uploaded_video(api):
    video_id = _upload(api)
    api.advance(60)  # the upload is processed: its file is set
    video = api.request("tensorpix", "GET", f"/tensorpix/api/videos/{video_id}/").json()
    assert video["file"]
    body = {"input_video": video_id, "ml_models": [1], "output_resolution": 1920, "codec": "libx264"}
    response = api.request("tensorpix", "POST", "/tensorpix/api/jobs/", json=body)
    assert response.status_code == 201, response.text
    job = response.json()
    validate(job, TENSORPIX_JOB)
    assert job["input_video"]["id"] == video_id
    validate(job["input_video"], TENSORPIX_VIDEO)
    api.advance(10_000)
    done = api.status("tensorpix", job["id"])
    assert done["status"] == 2 and done["output_video"]["file"]


def test_tensorpix_job_from_an_upload_still_processing_is_refused(api):
    video_id = _upload(api)
    response = api.request("tensorpix", "POST", "/tensorpix/api/jobs/", json={"input_video": video_id})
    assert response.status_code == 400
    assert list(response.json()) == ["input_video"]


def test_tensorpix_ml_models_paginated_like_the_job_schema(api):
    response = api.request("tensorpix", "GET", "/tensorpix/api/ml-models/")
    assert response.status_code == 200, response.text
    page = response.json()
    assert {"count", "next", "previous", "results"} <= set(page)
    assert page["count"] == len(page["results"]) > 0
    for model in page["results"]:
        validate(model, TENSORPIX_ML_MODEL)
    first = api.request("tensorpix", "GET", "/tensorpix/api/ml-models/?limit=2").json()
    assert len(first["results"]) == 2 and first["previous"] is None
    second = httpx.get(first["next"], headers=auth_header("tensorpix"), timeout=10).json()
    assert second["results"][0]["id"] == page["results"][2]["id"]
    assert second["previous"]
    # the ids it lists are the ones a create accepts, and the job echoes their entries
    model_id = page["results"][-1]["id"]
    body = {"url": "https://example.com/in.mp4", "ml_models": [model_id]}
    job = api.request("tensorpix", "POST", "/tensorpix/api/jobs/from-url/", json=body).json()
    assert job["ml_models"] == [page["results"][-1]]


def test_tensorpix_job_list(api):
    created = [
        api.request(
            "tensorpix", "POST", "/tensorpix/api/jobs/from-url/", json={"url": f"https://e.x/{i}.mp4"}
        ).json()["id"]
        for i in range(3)
    ]
    page = api.request("tensorpix", "GET", "/tensorpix/api/jobs/?limit=2").json()
    assert page["count"] == 3
    assert [job["id"] for job in page["results"]] == sorted(created, reverse=True)[:2]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/jobs/123/", {"GET", "HEAD", "DELETE", "OPTIONS"}),
        ("PATCH", "/api/jobs/", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("GET", "/api/jobs/from-url/", {"POST", "OPTIONS"}),
        ("DELETE", "/api/ml-models/", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_tensorpix_wrong_method_is_drf_405(api, method, path, allowed):
    response = requests.request(
        method, f"{api.url}/tensorpix{path}", headers=auth_header("tensorpix"), timeout=10
    )
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    validate(response.json(), TENSORPIX_ERROR)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    # the same on the provider's own origin
    origin = requests.request(
        method, api.emu.origin("tensorpix") + path, headers=auth_header("tensorpix"), timeout=10
    )
    assert origin.status_code == 405


def test_tensorpix_wrong_method_without_key_is_401_first(api):
    response = requests.put(f"{api.url}/tensorpix/api/jobs/1/", timeout=10)
    assert response.status_code == 401


def test_tensorpix_options_lists_the_methods(api):
    response = requests.options(
        f"{api.url}/tensorpix/api/jobs/1/", headers=auth_header("tensorpix"), timeout=10
    )
    assert response.status_code == 200
    assert "DELETE" in response.headers["Allow"]


def test_wrong_method_on_other_providers_is_not_404(api):
    tams = api.request("tensorart", "PUT", "/tensorart/v1/jobs/123")
    assert tams.status_code == 501  # grpc-gateway's default: Unimplemented
    assert tams.json()["code"] == 12
    goenhance = api.request("goenhance", "DELETE", "/goenhance/api/v1/user/tokens")
    assert goenhance.status_code == 405 and "GET" in goenhance.headers["Allow"]
    vozo = api.request("vozo", "DELETE", "/vozo/v1/video_generation")
    assert vozo.status_code == 405 and vozo.headers["Allow"] == "POST"
    unknown = api.request("tensorpix", "GET", "/tensorpix/api/nothing-here/")
    assert unknown.status_code == 404


# ---- GoEnhance -----------------------------------------------------------------------------------
def test_goenhance_v2v_modellist(api):
    response = api.request("goenhance", "GET", "/goenhance/api/v1/video2video/modellist")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0
    entries = [entry for group in body["data"] for entry in group["list"]]
    assert entries
    for entry in entries:
        assert {"value", "label", "version", "isVip", "url"} <= set(entry)
        assert isinstance(entry["value"], int) and isinstance(entry["isVip"], bool)
    preview = httpx.get(entries[0]["url"], timeout=10)
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")
    # a listed style is what a v2v create takes
    args = {"model": entries[-1]["value"], "reference_video_url": "https://example.com/in.mp4", "duration": 5}
    created = api.request(
        "goenhance", "POST", "/goenhance/api/v1/video2video/generate", json={"args": args, "type": "mx-v2v"}
    )
    assert created.json()["code"] == 0, created.text


def _completed_schema() -> dict:
    """The documented detail schema with the guide's ``completed`` in place of ``success``."""
    schema = copy.deepcopy(GOENHANCE_DETAIL)
    status = schema["properties"]["data"]["properties"]["status"]
    status["enum"] = ["completed" if value == "success" else value for value in status["enum"]]
    return schema


def _finished_status(api, **script) -> str:
    job_id = api.emu.add_job("goenhance", outcome="succeeded", queued_s=1, running_s=1, **script)
    api.advance(10)
    body = api.request("goenhance", "GET", f"/goenhance/api/v1/jobs/detail?img_uuid={job_id}").json()
    assert body["data"]["json"], "outputs are listed whatever the spelling"
    return body["data"]["status"]


def test_goenhance_success_spelling_option(api):
    assert _finished_status(api) == "success"
    options = httpx.post(f"{api.url}/_emulator/options", json={"success_status": {"goenhance": "completed"}})
    assert options.json() == {"success_status": {"goenhance": "completed"}}
    assert _finished_status(api) == "completed"
    assert _finished_status(api, success_status="success") == "success"  # a script wins
    bad = httpx.post(f"{api.url}/_emulator/options", json={"success_status": {"goenhance": "done"}})
    assert bad.status_code == 400 and "success_status" in bad.json()["error"]
    api.emu.reset()
    assert httpx.get(f"{api.url}/_emulator/options").json() == {"success_status": {"goenhance": "success"}}


def test_goenhance_success_spelling_from_the_constructor_cli_and_create_body():
    assert (
        parser().parse_args(["--goenhance-success-status", "completed"]).goenhance_success_status
        == "completed"
    )
    with pytest.raises(SystemExit):
        parser().parse_args(["--goenhance-success-status", "done"])
    with pytest.raises(ValueError, match="success_status"):
        Emulator(goenhance_success_status="done")
    with Emulator(port=0, speed=1.0, tams_qps=0, origins=False, goenhance_success_status="completed") as emu:
        headers = {"Authorization": f"Bearer {DEFAULT_KEYS['goenhance']}"}
        body = {**GOENHANCE_FACESWAP, "_emulator": {"queued_s": 1, "running_s": 1}}
        created = httpx.post(f"{emu.url}/goenhance/api/v1/imagefaceswap/generate", json=body, headers=headers)
        job_id = created.json()["data"]["img_uuid"]
        emu.advance(10)
        detail = httpx.get(f"{emu.url}/goenhance/api/v1/jobs/detail?img_uuid={job_id}", headers=headers)
        assert detail.json()["data"]["status"] == "completed"
        validate(detail.json(), _completed_schema())


# ---- the provider table ------------------------------------------------------------------------
def test_provider_table_is_the_registry_order_of_providers_with_an_emulator():
    expected = [spec.name for spec in registry.specs() if spec.emulator]
    assert list(all_providers()) == expected
    assert set(expected) >= set(PROVIDERS)
