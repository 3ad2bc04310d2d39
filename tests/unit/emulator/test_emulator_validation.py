"""Create (and check) bodies are validated as the real APIs do, over plain HTTP: every rule refuses in
the provider's own error shape, names the field, and creates nothing; the documented bodies pass."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from support.emulator_api import (
    GOENHANCE_ERROR,
    GOENHANCE_FACESWAP,
    GOENHANCE_V2V,
    TAMS_ERROR,
    VOZO_ERROR,
    VOZO_LIPSYNC,
    VOZO_TRANSLATE,
)

DIFFUSION = {
    "type": "DIFFUSION",
    "diffusion": {"width": 512, "height": 512, "prompts": [{"text": "1girl"}], "steps": 15},
}
TAMS_JOB = {"requestId": "r-1", "stages": [{"type": "INPUT_INITIALIZE"}, DIFFUSION]}
TAMS_TEMPLATE = {
    "requestId": "r-2",
    "templateId": "676018193025756628",
    "fields": {"fieldAttrs": [{"nodeId": "25", "fieldName": "image", "fieldValue": "res-1"}]},
}
TAMS_WORKFLOW = {
    "requestId": "r-3",
    "params": {"1": {"classType": "CLIPTextEncode", "inputs": {"text": "x"}}},
}


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    out = copy.deepcopy(body)
    *parents, last = path.split(".")
    node: Any = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def post(api, provider: str, path: str, body: Any) -> httpx.Response:
    return api.request(provider, "POST", f"/{provider}{path}", json=body)


# ---- TAMS ----------------------------------------------------------------------------------------
def test_tams_job_without_stages_is_the_real_apis_400(api):
    response = post(api, "tensorart", "/v1/jobs", {"requestId": "r-1"})
    assert response.status_code == 400
    assert response.json() == {"code": 3, "message": "invalid argument: missing stages", "details": []}
    assert api.emu.stats()["jobs"] == {}


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/v1/jobs", changed(TAMS_JOB, "stages", []), "stages"),
        ("/v1/jobs", changed(TAMS_JOB, "stages", {"type": "DIFFUSION"}), "stages"),
        ("/v1/jobs", changed(TAMS_JOB, "stages.0", "INPUT_INITIALIZE"), "stages[0]"),
        ("/v1/jobs", changed(TAMS_JOB, "stages.0.type", ...), "stages[0].type"),
        ("/v1/jobs", changed(TAMS_JOB, "stages.0.type", "TEXT_TO_VIDEO"), "stages[0].type"),
        ("/v1/jobs", changed(TAMS_JOB, "stages.1.diffusion", ...), "stages[1].diffusion"),
        ("/v1/jobs", changed(TAMS_JOB, "stages.1.diffusion.prompts", []), "stages[1].diffusion.prompts"),
        ("/v1/jobs", changed(TAMS_JOB, "stages.1.diffusion.prompts.0", {"txt": "a"}), "prompts[0].text"),
        ("/v1/jobs", changed(TAMS_JOB, "stages.1.diffusion.width", "wide"), "stages[1].diffusion.width"),
        ("/v1/jobs", changed(TAMS_JOB, "stages.1.diffusion.steps", -3), "stages[1].diffusion.steps"),
        ("/v1/jobs", changed(TAMS_JOB, "requestId", ...), "requestId"),
        ("/v1/jobs", changed(TAMS_JOB, "requestId", 42), "requestId"),
        ("/v1/jobs/credits", {"stages": []}, "stages"),
        ("/v1/jobs/workflow/template", changed(TAMS_TEMPLATE, "templateId", ...), "templateId"),
        ("/v1/jobs/workflow/template", changed(TAMS_TEMPLATE, "templateId", "tmpl-1"), "templateId"),
        ("/v1/jobs/workflow/template", changed(TAMS_TEMPLATE, "fields", ...), "fields"),
        ("/v1/jobs/workflow/template", changed(TAMS_TEMPLATE, "fields.fieldAttrs", {}), "fields.fieldAttrs"),
        (
            "/v1/jobs/workflow/template",
            changed(TAMS_TEMPLATE, "fields.fieldAttrs.0.nodeId", ...),
            "fields.fieldAttrs[0].nodeId",
        ),
        (
            "/v1/jobs/workflow/template",
            changed(TAMS_TEMPLATE, "fields.fieldAttrs.0.fieldValue", 7),
            "fields.fieldAttrs[0].fieldValue",
        ),
        ("/v1/workflows/template/check", {"fields": {"fieldAttrs": []}}, "templateId"),
        ("/v1/jobs/workflow", changed(TAMS_WORKFLOW, "params", ...), "params"),
        ("/v1/jobs/workflow", changed(TAMS_WORKFLOW, "params.1", "CLIPTextEncode"), "params['1']"),
        ("/v1/jobs/workflow", changed(TAMS_WORKFLOW, "params.1.classType", ...), "params['1'].classType"),
        ("/v1/jobs/workflow", changed(TAMS_WORKFLOW, "params.1.inputs", ["x"]), "params['1'].inputs"),
        ("/v1/jobs/workflow/params/check", {}, "params"),
    ],
)
def test_tams_rule(api, route, body, field):
    response = post(api, "tensorart", route, body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == 3 and error["message"].startswith("invalid argument: ")
    assert field in error["message"]
    assert api.emu.stats()["jobs"] == {}


# ---- TensorPix -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/api/jobs/from-url/", {"ml_models": [1]}, "url"),
        ("/api/jobs/from-url/", {"url": "ftp://example.com/in.mp4"}, "url"),
        ("/api/jobs/from-url/", {"url": "in.mp4"}, "url"),
        ("/api/jobs/", {"ml_models": [1]}, "input_video"),
        ("/api/jobs/", {"url": "https://example.com/in.mp4"}, "input_video"),
        ("/api/jobs/", {"input_video": 999999999}, "input_video"),
        ("/api/jobs/", {"input_video": [1]}, "input_video"),
        ("/api/jobs/from-url/", {"url": "https://e.x/a.mp4", "ml_models": 1}, "ml_models"),
        ("/api/jobs/from-url/", {"url": "https://e.x/a.mp4", "ml_models": ["1"]}, "ml_models"),
        ("/api/jobs/from-url/", {"url": "https://e.x/a.mp4", "ml_models": [424242]}, "ml_models"),
        ("/api/jobs/from-url/", {"url": "https://e.x/a.mp4", "output_resolution": 1000}, "output_resolution"),
        ("/api/jobs/from-url/", {"url": "https://e.x/a.mp4", "codec": "h264"}, "codec"),
        ("/api/jobs/from-url/", {"url": "https://e.x/a.mp4", "grain": "lots"}, "grain"),
        ("/api/jobs/from-url/", {"url": "https://e.x/a.mp4", "start_frame": 1.5}, "start_frame"),
    ],
)
def test_tensorpix_rule(api, route, body, field):
    response = post(api, "tensorpix", route, body)
    assert response.status_code == 400, response.text
    errors = response.json()
    assert field in errors, errors  # DRF: {field: [messages]}
    assert all(isinstance(m, str) and m for m in errors[field])
    assert api.emu.stats()["jobs"] == {}


# ---- Vozo ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        (
            "/v1/video_generation",
            changed(VOZO_LIPSYNC, "reference_file_url", "face.mp4"),
            "reference_file_url",
        ),
        ("/v1/video_generation", changed(VOZO_LIPSYNC, "audio_url", 3), "audio_url"),
        ("/v1/video_generation", changed(VOZO_LIPSYNC, "model", "turbo_v9"), "model"),
        ("/v1/video_generation", changed(VOZO_LIPSYNC, "reference_file_type", "gif"), "reference_file_type"),
        ("/v1/video_generation", changed(VOZO_LIPSYNC, "callback_url", "not a url"), "callback_url"),
        ("/v1/media/translate", changed(VOZO_TRANSLATE, "media_url", ...), "media_url"),
        ("/v1/media/translate", changed(VOZO_TRANSLATE, "media_url", "talk.mp4"), "media_url"),
        ("/v1/media/translate", changed(VOZO_TRANSLATE, "media_type", "image"), "media_type"),
        ("/v1/media/translate", changed(VOZO_TRANSLATE, "source_language", "French"), "source_language"),
        ("/v1/media/translate", changed(VOZO_TRANSLATE, "target_language", "auto"), "target_language"),
        ("/v1/media/translate", changed(VOZO_TRANSLATE, "export_type", "mp4"), "export_type"),
        (
            "/v1/media/translate",
            {**VOZO_TRANSLATE, "media_type": "audio", "export_type": "video"},
            "export_type",
        ),
        (
            "/v1/media/translate",
            {
                **VOZO_TRANSLATE,
                "subtitle_url": "https://e.x/s.srt",
                "ocr_text_box": {"x": 0, "y": 0.8, "width": 1, "height": 0.2},
            },
            "ocr_text_box",
        ),
        (
            "/v1/media/translate",
            {**VOZO_TRANSLATE, "ocr_text_box": {"x": 0, "y": 2, "width": 1, "height": 0.2}},
            "ocr_text_box.y",
        ),
        ("/v1/media/translate", {**VOZO_TRANSLATE, "project_mode": "draft"}, "project_mode"),
        ("/v1/media/translate", {**VOZO_TRANSLATE, "speaker_number": {"min": 3, "max": 2}}, "speaker_number"),
    ],
)
def test_vozo_rule(api, route, body, field):
    response = post(api, "vozo", route, body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert set(error) >= set(VOZO_ERROR["required"])
    assert error["code"] == "5"
    assert field in error["message"]
    assert api.emu.stats()["jobs"] == {}


# ---- GoEnhance -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        (
            "/api/v1/imagefaceswap/generate",
            changed(GOENHANCE_FACESWAP, "args.source_img", ...),
            "args.source_img",
        ),
        (
            "/api/v1/imagefaceswap/generate",
            changed(GOENHANCE_FACESWAP, "args.reference_img", "target.jpg"),
            "args.reference_img",
        ),
        ("/api/v1/imagefaceswap/generate", changed(GOENHANCE_FACESWAP, "args", "x"), "args"),
        ("/api/v1/imagefaceswap/generate", changed(GOENHANCE_FACESWAP, "type", "mx-v2v"), "type"),
        ("/api/v1/video2video/generate", changed(GOENHANCE_V2V, "type", ...), "type"),
        (
            "/api/v1/video2video/generate",
            changed(GOENHANCE_V2V, "args.reference_video_url", ...),
            "args.reference_video_url",
        ),
        ("/api/v1/video2video/generate", changed(GOENHANCE_V2V, "args.model", ...), "args.model"),
        ("/api/v1/video2video/generate", changed(GOENHANCE_V2V, "args.model", 1), "args.model"),
        ("/api/v1/video2video/generate", changed(GOENHANCE_V2V, "args.duration", 60), "args.duration"),
        ("/api/v1/video2video/generate", changed(GOENHANCE_V2V, "args.resolution", "4k"), "args.resolution"),
        ("/api/v1/video2video/generate", changed(GOENHANCE_V2V, "args.prompt", "x" * 501), "args.prompt"),
    ],
)
def test_goenhance_rule(api, route, body, field):
    response = post(api, "goenhance", route, body)
    assert response.status_code == 200  # GoEnhance answers errors inside its envelope
    error = response.json()
    assert set(error) >= set(GOENHANCE_ERROR["required"])
    assert error["code"] == 400
    assert field in error["msg"]
    assert api.emu.stats()["jobs"] == {}


# ---- what the documentation calls valid passes -------------------------------------------------
DOCUMENTED = [
    # provider-apis.md B1: the minimal diffusion body (snake_case request_id, as in the docs and demo)
    (
        "tensorart",
        "/v1/jobs",
        {
            "request_id": "doc-1",
            "stages": [
                {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}},
                {
                    "type": "DIFFUSION",
                    "diffusion": {
                        "width": 512,
                        "height": 512,
                        "prompts": [{"text": "1girl"}],
                        "steps": 15,
                        "sd_model": "600423083519508503",
                        "clip_skip": 2,
                        "cfg_scale": 7,
                    },
                },
            ],
        },
    ),
    ("tensorart", "/v1/jobs/workflow/template", TAMS_TEMPLATE),
    ("tensorart", "/v1/jobs/workflow", {**TAMS_WORKFLOW, "runningNotifyUrl": "https://e.x/hook"}),
    ("goenhance", "/api/v1/imagefaceswap/generate", GOENHANCE_FACESWAP),
    (
        "goenhance",
        "/api/v1/video2video/generate",
        {**GOENHANCE_V2V, "args": {**GOENHANCE_V2V["args"], "prompt": "ink"}},
    ),
    ("vozo", "/v1/video_generation", {**VOZO_LIPSYNC, "callback_url": "https://e.x/cb"}),
    (
        "vozo",
        "/v1/video_generation",
        {**VOZO_LIPSYNC, "model": "precision_v1", "reference_file_type": "image"},
    ),
    (
        "vozo",
        "/v1/media/translate",
        {
            **VOZO_TRANSLATE,
            "source_language": "en-US",
            "target_language": "zh-CN",
            "subtitle_url": "https://e.x/s.srt",
            "subtitle_usage_type": "original",
            "project_mode": "editable",
            "speaker_number": {"min": 1, "max": 2},
            "user_prompt": "keep names",
        },
    ),
    ("vozo", "/v1/media/translate", {**VOZO_TRANSLATE, "media_type": "audio", "export_type": "audio"}),
    (
        "tensorpix",
        "/api/jobs/from-url/",
        {"url": "https://e.x/in.mp4", "ml_models": [1, 5], "output_resolution": 3840, "codec": "libx265"},
    ),
]


@pytest.mark.parametrize(("provider", "route", "body"), DOCUMENTED)
def test_documented_bodies_are_accepted(api, provider, route, body):
    response = post(api, provider, route, body)
    assert response.status_code in (200, 201), response.text
    if provider == "goenhance":
        assert response.json()["code"] == 0, response.text
    assert api.emu.stats()["jobs"] == {provider: 1}


def test_tams_check_errors_have_the_grpc_shape(api):
    response = post(api, "tensorart", "/v1/workflows/template/check", {"templateId": "1"})
    assert response.status_code == 400
    assert set(response.json()) == set(TAMS_ERROR["required"]) == {"code", "message", "details"}
    assert response.json()["message"] == "invalid argument: missing fields"
