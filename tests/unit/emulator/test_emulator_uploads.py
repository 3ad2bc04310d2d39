"""The documented upload routes: TAMS resource image (+ presigned PUT) and models, TensorPix videos.

Shapes from provider-apis.md (B1 "Input upload", "Other"; D1 "Upload, then enhance") and the TensorPix
seed's Video schema; clients are plain httpx/requests against the providers' own origins.
"""

from __future__ import annotations

import hashlib
import json
import re

import httpx
import pytest
import requests

from airflow_provider_mediajobs.emulator import uploads

from support.emulator_api import (
    TAMS_ERROR,
    TENSORPIX_VIDEO,
    auth_header,
    is_access_denied,
    load_private_key,
    tams_signature_header,
    validate,
)

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
VIDEO = b"\x00\x00\x00\x18ftypisom" + b"\x42" * 5000
TAMS_RESOURCE = {
    "type": "object",
    "required": ["resourceId", "putUrl", "headers"],
    "properties": {
        "resourceId": {"type": "string", "pattern": r"^[0-9]+$"},
        "putUrl": {"type": "string"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
TAMS_MODEL = {
    "type": "object",
    "required": ["model"],
    "properties": {
        "model": {
            "type": "object",
            "required": [
                "id",
                "name",
                "description",
                "baseModel",
                "modelType",
                "showcaseImageUrls",
                "projectName",
            ],
            "properties": {
                "id": {"type": "string", "pattern": r"^[0-9]+$"},
                "modelType": {
                    "enum": ["CHECKPOINT", "LORA", "LYCORIS", "CONTROLNET", "TEXTUAL_INVERSION", "OTHER"]
                },
                "showcaseImageUrls": {"type": "array", "items": {"type": "string"}},
            },
        }
    },
}


def tams_post(emu, path: str, body: dict, key=None) -> requests.Response:
    """A TAMS call on its origin: Bearer, or RSA-signed over ``/v1/...`` when ``key`` is given."""
    data = json.dumps(body).encode()
    if key is None:
        headers = auth_header("tensorart")
    else:
        headers = {"Authorization": tams_signature_header(key, "POST", path, data)}
    headers["Content-Type"] = "application/json"
    return requests.post(emu.origin("tensorart") + path, data=data, headers=headers, timeout=10)


# ------------------------------------------------------------------------------------------------
# TAMS POST /v1/resource/image + PUT to the presigned URL
# ------------------------------------------------------------------------------------------------
def test_tams_resource_image_upload_round_trip(emu):
    key = load_private_key(emu.credentials("tensorart")["private_key"])
    created = tams_post(emu, "/v1/resource/image", {"expireSec": 600, "term": 1}, key=key)
    assert created.status_code == 200, created.text
    body = created.json()
    validate(body, TAMS_RESOURCE)
    assert body["putUrl"].startswith(emu.url + "/cdn/uploads/tensorart/")
    put = requests.put(body["putUrl"], data=IMAGE, headers=body["headers"], timeout=10)
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == f'"{hashlib.md5(IMAGE).hexdigest()}"'
    # the PUT URL does not read the object back (its signature is for PUT only)
    assert is_access_denied(*_get(body["putUrl"]))
    stats = emu.stats()["requests"]
    assert stats["tensorart upload"] == {"200": 1} and stats["cdn upload"] == {"200": 1}


def _get(url: str) -> tuple[int, str]:
    response = httpx.get(url)
    return response.status_code, response.text


def test_tams_put_url_expires_and_cannot_be_tampered_with(emu):
    body = tams_post(emu, "/v1/resource/image", {"expireSec": 60}).json()
    url = body["putUrl"]
    tampered = re.sub(r"sig=[0-9a-f]{8}", "sig=00000000", url)
    assert requests.put(tampered, data=IMAGE, timeout=10).status_code == 403
    emu.advance(61)
    expired = requests.put(url, data=IMAGE, timeout=10)
    assert expired.status_code == 403 and "expired" in expired.text


def test_tams_resource_image_default_expiry_and_bad_arguments(emu):
    assert tams_post(emu, "/v1/resource/image", {}).status_code == 200  # both fields optional
    for bad in ({"expireSec": 0}, {"expireSec": "soon"}, {"term": 3}):
        response = tams_post(emu, "/v1/resource/image", bad)
        assert response.status_code == 400, bad
        validate(response.json(), TAMS_ERROR)
        assert response.json()["code"] == 3
    unauthenticated = requests.post(emu.origin("tensorart") + "/v1/resource/image", json={}, timeout=10)
    assert unauthenticated.status_code == 401


def test_upload_size_is_capped(emu, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    url = tams_post(emu, "/v1/resource/image", {}).json()["putUrl"]
    response = requests.put(url, data=b"x" * 1001, timeout=10)
    assert response.status_code == 413 and "EntityTooLarge" in response.text
    assert requests.put(url, data=b"x" * 1000, timeout=10).status_code == 200


def test_tams_get_model(emu):
    response = httpx.get(
        emu.origin("tensorart") + "/v1/models/600423083519508503", headers=auth_header("tensorart")
    )
    assert response.status_code == 200, response.text
    validate(response.json(), TAMS_MODEL)
    assert response.json()["model"]["id"] == "600423083519508503"
    for model_id, status, code in (("not-a-number", 400, 3), ("0", 404, 5)):
        bad = httpx.get(f"{emu.origin('tensorart')}/v1/models/{model_id}", headers=auth_header("tensorart"))
        assert bad.status_code == status and bad.json()["code"] == code
    # the prefixed layout has the routes too
    prefixed = httpx.get(emu.base_url("tensorart") + "/v1/models/42", headers=auth_header("tensorart"))
    assert prefixed.status_code == 200


# ------------------------------------------------------------------------------------------------
# TensorPix POST /api/videos/ + GET /api/videos/{id}/
# ------------------------------------------------------------------------------------------------
def test_tensorpix_video_upload_then_read_until_ready(emu):
    origin = emu.origin("tensorpix")
    files = {"file": ("old film.mp4", VIDEO, "video/mp4")}
    created = requests.post(
        origin + "/api/videos/", files=files, headers=auth_header("tensorpix"), timeout=10
    )
    assert created.status_code == 201, created.text
    video = created.json()
    validate(video, TENSORPIX_VIDEO)
    assert video["file"] is None and video["name"] == "old film.mp4" and video["size"] == len(VIDEO)

    def read() -> dict:
        response = httpx.get(f"{origin}/api/videos/{video['id']}/", headers=auth_header("tensorpix"))
        assert response.status_code == 200, response.text
        validate(response.json(), TENSORPIX_VIDEO)
        return response.json()

    assert read()["file"] is None  # not processed yet: poll until file is set
    emu.advance(30)
    ready = read()
    assert ready["file"].startswith(emu.url + "/cdn/uploads/tensorpix/")
    download = httpx.get(ready["file"])
    assert download.status_code == 200 and download.content == VIDEO
    assert download.headers["content-type"] == "video/mp4"
    assert emu.stats()["requests"]["tensorpix upload"] == {"201": 1}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"files": {"other": ("a.mp4", VIDEO, "video/mp4")}}, {"file": ["No file was submitted."]}),
        ({"json": {"file": "https://example.com/a.mp4"}}, None),
    ],
)
def test_tensorpix_video_upload_needs_a_file(emu, kwargs, error):
    response = requests.post(
        emu.origin("tensorpix") + "/api/videos/", headers=auth_header("tensorpix"), timeout=10, **kwargs
    )
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    if error is not None:
        assert response.json() == error


def test_tensorpix_video_unknown_and_unauthenticated(emu):
    origin = emu.origin("tensorpix")
    missing = httpx.get(origin + "/api/videos/123/", headers=auth_header("tensorpix"))
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}
    no_key = requests.post(origin + "/api/videos/", files={"file": ("a.mp4", VIDEO)}, timeout=10)
    assert no_key.status_code == 401
    assert no_key.json() == {"detail": "Authentication credentials were not provided."}


def test_reset_drops_uploads(emu):
    created = requests.post(
        emu.origin("tensorpix") + "/api/videos/",
        files={"file": ("a.mp4", VIDEO, "video/mp4")},
        headers=auth_header("tensorpix"),
        timeout=10,
    ).json()
    emu.reset()
    gone = httpx.get(
        f"{emu.origin('tensorpix')}/api/videos/{created['id']}/", headers=auth_header("tensorpix")
    )
    assert gone.status_code == 404
