"""Credentials, each provider's auth failure shape, the test-connection calls and TAMS signatures."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from airflow_provider_mediajobs.emulator import Emulator

from support.constants import PROVIDERS
from support.emulator_api import (
    DEFAULT_KEYS,
    ERROR_SCHEMAS,
    TAMS_APP_ID,
    TAMS_ERROR,
    TEST_CONNECTION,
    VOZO_ERROR,
    load_private_key,
    new_private_key,
    status_path,
    tams_body,
    tams_signature_header,
    validate,
)


@pytest.fixture(scope="module")
def foreign_key():
    return new_private_key()


@pytest.fixture
def tams_key(emu):
    return load_private_key(emu.credentials("tensorart")["private_key"])


# ------------------------------------------------------------------------------------------------
# Credentials
# ------------------------------------------------------------------------------------------------
def test_credentials_python_and_http_agree(emu, api):
    over_http = api.http.get("/_emulator/credentials").json()
    for provider in PROVIDERS:
        creds = emu.credentials(provider)
        assert creds["api_key"] == DEFAULT_KEYS[provider]
        assert over_http[provider]["api_key"] == DEFAULT_KEYS[provider]
    tams = emu.credentials("tensorart")
    assert tams["app_id"] == TAMS_APP_ID == over_http["tensorart"]["app_id"]
    assert tams["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert over_http["tensorart"]["private_key"] == tams["private_key"]
    # the published public key is the private key's half
    private = load_private_key(tams["private_key"])
    public = serialization.load_pem_public_key(over_http["tensorart"]["public_key"].encode())
    assert public.public_numbers() == private.public_key().public_numbers()
    assert private.key_size >= 2048


def test_base_urls(emu):
    assert emu.url.startswith("http://127.0.0.1:")
    for provider in PROVIDERS:
        assert emu.base_url(provider) == f"{emu.url}/{provider}"


# ------------------------------------------------------------------------------------------------
# test_connection calls
# ------------------------------------------------------------------------------------------------
def test_goenhance_tokens(api):
    response = api.request("goenhance", "GET", "/goenhance/api/v1/user/tokens")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 0
    assert body["msg"] == "success"
    assert isinstance(body["data"]["count"], int)


def test_tams_credits(api):
    response = api.request("tensorart", "POST", "/tensorart/v1/jobs/credits", json=json.loads(tams_body()))
    assert response.status_code == 200, response.text
    credits = response.json()["credits"]
    assert isinstance(credits, str)
    assert float(credits) >= 0


def test_tensorpix_balance(api):
    response = api.request("tensorpix", "GET", "/tensorpix/api/accounts/profile/balance/")
    assert response.status_code == 200
    assert "balance" in response.json()
    float(response.json()["balance"])


def test_vozo_unknown_task_tells_a_good_key_from_a_bad_one(api):
    good = api.request("vozo", "GET", "/vozo/v1/video_generation/definitely-unknown")
    assert good.status_code == 404
    validate(good.json(), VOZO_ERROR)
    assert good.json()["code"] == "404"
    bad = api.request("vozo", "GET", "/vozo/v1/video_generation/definitely-unknown", key="revoked")
    assert bad.status_code == 401
    validate(bad.json(), VOZO_ERROR)
    assert bad.json()["code"] == "1302"


# ------------------------------------------------------------------------------------------------
# Auth failures, in each provider's error shape, on every kind of route
# ------------------------------------------------------------------------------------------------
def _check_auth_error(provider, response):
    assert response.status_code == 401, (provider, response.status_code, response.text)
    body = response.json()
    validate(body, ERROR_SCHEMAS[provider])
    if provider == "goenhance":
        assert body["code"] == 401
        assert body["msg"] == "Token is required"
    elif provider == "tensorart":
        assert body["code"] == 16
    elif provider == "vozo":
        assert body["code"] == "1302"
    else:
        assert body["detail"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("how", ["wrong-key", "missing", "wrong-scheme"])
def test_auth_failures(emu, provider, how):
    job_id = emu.add_job(provider, outcome="succeeded", queued_s=5, running_s=5)
    key = DEFAULT_KEYS[provider]
    headers = {
        "wrong-key": {"Authorization": ("Token " if provider == "tensorpix" else "Bearer ") + "not-the-key"},
        "missing": {},
        "wrong-scheme": {"Authorization": ("Bearer " if provider == "tensorpix" else "Token ") + key},
    }[how]
    for method, path, body in [("GET", status_path(provider, job_id), None), TEST_CONNECTION[provider]]:
        response = httpx.request(method, emu.url + path, json=body, headers=headers)
        _check_auth_error(provider, response)
    if provider == "tensorpix" and how == "wrong-key":
        response = httpx.get(emu.url + status_path(provider, job_id), headers=headers)
        assert response.json() == {"detail": "Invalid token."}


@pytest.mark.parametrize(
    ("provider", "path", "body"),
    [
        ("goenhance", "/goenhance/api/v1/imagefaceswap/generate", {"args": {}, "type": "mx-image-face-swap"}),
        ("tensorart", "/tensorart/v1/jobs", json.loads(tams_body())),
        ("vozo", "/vozo/v1/video_generation", {"audio_url": "x"}),
        ("tensorpix", "/tensorpix/api/jobs/from-url/", {"url": "https://example.com/a.mp4"}),
    ],
)
def test_auth_checked_on_create_before_anything_else(emu, provider, path, body):
    response = requests.post(emu.url + path, json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
    _check_auth_error(provider, httpx.Response(response.status_code, content=response.content))
    assert emu.stats()["jobs"].get(provider, 0) == 0


# ------------------------------------------------------------------------------------------------
# TAMS RSA signature
# ------------------------------------------------------------------------------------------------
def _signed_get(emu, key, path, **kwargs):
    header = tams_signature_header(key, "GET", path, b"", **kwargs)
    return requests.get(emu.url + path, headers={"Authorization": header}, timeout=10)


def _assert_tams_401(response):
    assert response.status_code == 401, (response.status_code, response.text)
    body = response.json()
    validate(body, TAMS_ERROR)
    assert body["code"] == 16


def test_tams_signature_valid_get(emu, tams_key):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    response = _signed_get(emu, tams_key, f"/tensorart/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    assert response.json()["job"]["id"] == str(job_id)


def test_tams_signature_valid_post_with_httpx(emu, tams_key):
    body = tams_body()
    header = tams_signature_header(tams_key, "POST", "/tensorart/v1/jobs", body)
    response = httpx.post(
        emu.url + "/tensorart/v1/jobs",
        content=body,
        headers={"Authorization": header, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["job"]["status"] == "CREATED"


def test_tams_signature_covers_the_query_string(emu, tams_key):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    path = f"/tensorart/v1/jobs/{job_id}?view=full"
    assert _signed_get(emu, tams_key, path).status_code == 200
    header = tams_signature_header(tams_key, "GET", f"/tensorart/v1/jobs/{job_id}")
    response = requests.get(emu.url + path, headers={"Authorization": header}, timeout=10)
    _assert_tams_401(response)


def test_tams_signature_wrong_key(emu, foreign_key):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    _assert_tams_401(_signed_get(emu, foreign_key, f"/tensorart/v1/jobs/{job_id}"))


def test_tams_signature_wrong_app_id(emu, tams_key):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    _assert_tams_401(_signed_get(emu, tams_key, f"/tensorart/v1/jobs/{job_id}", app_id="someone-else"))


def test_tams_signature_tampered_body(emu, tams_key):
    signed = tams_body(request_id="original")
    sent = tams_body(request_id="tampered")
    header = tams_signature_header(tams_key, "POST", "/tensorart/v1/jobs", signed)
    response = requests.post(
        emu.url + "/tensorart/v1/jobs",
        data=sent,
        headers={"Authorization": header, "Content-Type": "application/json"},
        timeout=10,
    )
    _assert_tams_401(response)
    assert emu.stats()["jobs"].get("tensorart", 0) == 0


@pytest.mark.parametrize("signed_path", ["other", "no-prefix", "wrong-method"])
def test_tams_signature_wrong_path_or_method(emu, tams_key, signed_path):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    other_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    path = f"/tensorart/v1/jobs/{job_id}"
    method, signed = {
        "other": ("GET", f"/tensorart/v1/jobs/{other_id}"),
        "no-prefix": ("GET", f"/v1/jobs/{job_id}"),  # the prefix is part of what is signed
        "wrong-method": ("DELETE", path),
    }[signed_path]
    header = tams_signature_header(tams_key, method, signed)
    _assert_tams_401(requests.get(emu.url + path, headers={"Authorization": header}, timeout=10))
    # the DELETE-signed header did not cancel anything either
    assert api_status(emu, job_id) != "CANCELED"


def api_status(emu, job_id):
    response = httpx.get(
        f"{emu.url}/tensorart/v1/jobs/{job_id}", headers={"Authorization": "Bearer tensorart-emulator-key"}
    )
    return response.json()["job"]["status"]


@pytest.mark.parametrize("offset", [-400, 400])
def test_tams_signature_stale_or_future_timestamp(emu, tams_key, offset):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    response = _signed_get(emu, tams_key, f"/tensorart/v1/jobs/{job_id}", timestamp=int(time.time()) + offset)
    _assert_tams_401(response)


def test_tams_signature_timestamp_checked_against_real_not_emulated_clock(emu, api, tams_key):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    api.advance(6 * 3600)
    assert _signed_get(emu, tams_key, f"/tensorart/v1/jobs/{job_id}").status_code == 200
    # a timestamp close to the real clock but 250 s old is still inside the window
    response = _signed_get(emu, tams_key, f"/tensorart/v1/jobs/{job_id}", timestamp=int(time.time()) - 250)
    assert response.status_code == 200


def test_tams_signature_exact_replay_refused(emu, tams_key):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    path = f"/tensorart/v1/jobs/{job_id}"
    header = tams_signature_header(tams_key, "GET", path)
    first = requests.get(emu.url + path, headers={"Authorization": header}, timeout=10)
    assert first.status_code == 200
    replay = requests.get(emu.url + path, headers={"Authorization": header}, timeout=10)
    _assert_tams_401(replay)
    assert "replayed" in replay.json()["message"]
    # the same nonce in another signed request is not a replay (the vendor's demo reuses nonces)
    nonce = header.split("nonce_str=")[1].split(",")[0]
    resigned = tams_signature_header(tams_key, "GET", path, timestamp=int(time.time()) + 1, nonce=nonce)
    assert requests.get(emu.url + path, headers={"Authorization": resigned}, timeout=10).status_code == 200


def test_tams_strict_nonces_refuse_a_reused_nonce():
    with Emulator(tams_qps=0, tams_strict_nonces=True, origins=False) as strict:
        key = load_private_key(strict.credentials("tensorart")["private_key"])
        job_id = strict.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
        path = f"/tensorart/v1/jobs/{job_id}"
        nonce = uuid.uuid4().hex
        assert _signed_get(strict, key, path, nonce=nonce).status_code == 200
        resigned = _signed_get(strict, key, path, nonce=nonce, timestamp=int(time.time()) + 1)
        _assert_tams_401(resigned)
        assert "nonce already used" in resigned.json()["message"]


def test_tams_signature_nonces_forgotten_by_reset(emu, tams_key):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    nonce = uuid.uuid4().hex
    assert _signed_get(emu, tams_key, f"/tensorart/v1/jobs/{job_id}", nonce=nonce).status_code == 200
    emu.reset()
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    assert _signed_get(emu, tams_key, f"/tensorart/v1/jobs/{job_id}", nonce=nonce).status_code == 200


def test_tams_signature_garbage(emu):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    for header in (
        "TAMS-SHA256-RSA app_id=emulator-app,nonce_str=abc,timestamp=1,signature=",
        "TAMS-SHA256-RSA garbage",
        f"TAMS-SHA256-RSA app_id=emulator-app,nonce_str=n1,timestamp={int(time.time())},signature=AAAA",
    ):
        response = httpx.get(f"{emu.url}/tensorart/v1/jobs/{job_id}", headers={"Authorization": header})
        _assert_tams_401(response)


# ------------------------------------------------------------------------------------------------
# TAMS requestId idempotency
# ------------------------------------------------------------------------------------------------
def test_tams_request_id_is_idempotent(emu, api, tams_key):
    request_id = uuid.uuid4().hex
    body = json.loads(tams_body(request_id=request_id))
    first = api.request("tensorart", "POST", "/tensorart/v1/jobs", json=body)
    again = api.request("tensorart", "POST", "/tensorart/v1/jobs", json=body)
    signed_body = tams_body(request_id=request_id)
    header = tams_signature_header(tams_key, "POST", "/tensorart/v1/jobs", signed_body)
    third = requests.post(
        emu.url + "/tensorart/v1/jobs",
        data=signed_body,
        headers={"Authorization": header, "Content-Type": "application/json"},
        timeout=10,
    )
    other = api.request("tensorart", "POST", "/tensorart/v1/jobs", json=json.loads(tams_body()))
    ids = [r.json()["job"]["id"] for r in (first, again, third, other)]
    assert all(r.status_code == 200 for r in (first, again, third, other))
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] != ids[0]
    assert emu.stats()["jobs"]["tensorart"] == 2


def test_tams_template_request_id_is_idempotent(emu, api):
    body = {
        "requestId": uuid.uuid4().hex,
        "templateId": "676018193025756628",
        "fields": {"fieldAttrs": [{"nodeId": "25", "fieldName": "image", "fieldValue": "https://e.x/a.png"}]},
    }
    first = api.request("tensorart", "POST", "/tensorart/v1/jobs/workflow/template", json=body)
    again = api.request("tensorart", "POST", "/tensorart/v1/jobs/workflow/template", json=body)
    assert first.status_code == again.status_code == 200
    assert first.json()["job"]["id"] == again.json()["job"]["id"]
    assert emu.stats()["jobs"]["tensorart"] == 1
