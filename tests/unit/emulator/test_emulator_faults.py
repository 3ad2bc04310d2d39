"""Every fault kind of the contract's table, per provider and per job, with ``count`` and scoping."""

from __future__ import annotations

import itertools
import json
import time

import httpx
import pytest
import requests

from support.constants import PROVIDERS
from support.emulator_api import (
    ERROR_SCHEMAS,
    TENSORPIX_FROM_URL,
    TEST_CONNECTION,
    auth_header,
    phase,
    status_path,
    validate,
)


def _job(emu, provider, **script):
    return emu.add_job(provider, **{"outcome": "succeeded", "queued_s": 100, "running_s": 100, **script})


def _fault(api, **spec):
    response = api.http.post("/_emulator/faults", json=spec)
    assert response.status_code == 200, response.text
    assert "id" in response.json()
    return response.json()["id"]


def _get(emu, provider, job_id):
    return httpx.get(emu.url + status_path(provider, job_id), headers=auth_header(provider), timeout=10)


def _assert_error_shape(provider, response, status):
    assert response.status_code == status, (provider, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    validate(response.json(), ERROR_SCHEMAS[provider])


# ------------------------------------------------------------------------------------------------
# HTTP status faults
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_5xx_in_provider_shape_with_count(emu, api, provider, status):
    job_id = _job(emu, provider)
    _fault(api, provider=provider, route="status", kind=f"http_{status}", count=2)
    for _ in range(2):
        _assert_error_shape(provider, _get(emu, provider, job_id), status)
    assert _get(emu, provider, job_id).status_code == 200
    assert _get(emu, provider, job_id).status_code == 200


@pytest.mark.parametrize("provider", PROVIDERS)
def test_http_429_has_retry_after(emu, api, provider):
    job_id = _job(emu, provider)
    emu.inject_fault(provider=provider, route="status", kind="http_429", count=1)
    response = _get(emu, provider, job_id)
    _assert_error_shape(provider, response, 429)
    assert response.headers["retry-after"] == "2"
    if provider == "tensorart":
        assert response.json()["code"] == 8
    assert _get(emu, provider, job_id).status_code == 200


def test_http_429_custom_retry_after(emu, api):
    job_id = _job(emu, "tensorpix")
    _fault(api, provider="tensorpix", route="status", kind="http_429", count=1, retry_after=7)
    response = _get(emu, "tensorpix", job_id)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


def test_python_api_inject_fault_as_documented(emu, api):
    job_id = _job(emu, "tensorpix")
    emu.inject_fault(provider="tensorpix", route="status", kind="http_503", count=2)
    assert [_get(emu, "tensorpix", job_id).status_code for _ in range(3)] == [503, 503, 200]


# ------------------------------------------------------------------------------------------------
# Transport-level faults
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_latency(emu, api, provider):
    job_id = _job(emu, provider)
    _fault(api, provider=provider, route="status", kind="latency", delay_s=0.4, count=1)
    started = time.monotonic()
    response = _get(emu, provider, job_id)
    slow = time.monotonic() - started
    assert response.status_code == 200
    assert slow >= 0.38
    # count=1: the fault is used up, the next read goes through undelayed (checked on the server
    # side, not with a stopwatch that a loaded machine would fool)
    assert emu.faults() == []
    assert _get(emu, provider, job_id).status_code == 200


def test_latency_hits_a_client_timeout(emu, api):
    job_id = _job(emu, "tensorpix")
    _fault(api, provider="tensorpix", route="status", kind="latency", delay_s=0.8, count=1)
    with pytest.raises(httpx.TimeoutException):
        httpx.get(emu.url + status_path("tensorpix", job_id), headers=auth_header("tensorpix"), timeout=0.2)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reset_is_a_transport_error_in_httpx_and_requests(emu, api, provider):
    job_id = _job(emu, provider)
    _fault(api, provider=provider, route="status", kind="reset", count=2)
    url = emu.url + status_path(provider, job_id)
    with httpx.Client(timeout=5) as client, pytest.raises(httpx.TransportError):
        client.get(url, headers=auth_header(provider))
    with requests.Session() as session, pytest.raises(requests.exceptions.ConnectionError):
        session.get(url, headers=auth_header(provider), timeout=5)
    assert httpx.get(url, headers=auth_header(provider), timeout=5).status_code == 200


@pytest.mark.parametrize("provider", PROVIDERS)
def test_truncated_body_is_detected_by_httpx_and_requests(emu, api, provider):
    job_id = _job(emu, provider)
    _fault(api, provider=provider, route="status", kind="truncated", count=2)
    url = emu.url + status_path(provider, job_id)
    with httpx.Client(timeout=5) as client, pytest.raises(httpx.TransportError):
        client.get(url, headers=auth_header(provider))
    with (
        requests.Session() as session,
        pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)),
    ):
        session.get(url, headers=auth_header(provider), timeout=5)
    assert httpx.get(url, headers=auth_header(provider), timeout=5).status_code == 200


@pytest.mark.parametrize("provider", PROVIDERS)
def test_non_json(emu, api, provider):
    job_id = _job(emu, provider)
    _fault(api, provider=provider, route="status", kind="non_json", count=1)
    response = _get(emu, provider, job_id)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert _get(emu, provider, job_id).headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_html_proxy_page(emu, api, provider):
    job_id = _job(emu, provider)
    _fault(api, provider=provider, route="status", kind="html", count=1)
    response = _get(emu, provider, job_id)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert _get(emu, provider, job_id).status_code == 200


def test_goenhance_code_default_and_custom(emu, api):
    job_id = _job(emu, "goenhance")
    _fault(api, provider="goenhance", route="status", kind="goenhance_code", count=1)
    response = _get(emu, "goenhance", job_id)
    assert response.status_code == 200
    assert response.json()["code"] == 500
    assert isinstance(response.json()["msg"], str)

    _fault(api, provider="goenhance", route="status", kind="goenhance_code", count=1, code=1001, msg="busy")
    response = _get(emu, "goenhance", job_id)
    assert response.status_code == 200
    assert response.json()["code"] == 1001
    assert response.json()["msg"] == "busy"
    assert _get(emu, "goenhance", job_id).json()["code"] == 0


# ------------------------------------------------------------------------------------------------
# flap
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_flap_alternates_running_and_queued(emu, api, provider):
    job_id = _job(emu, provider, queued_s=10, running_s=1000)
    api.advance(50)
    assert phase(provider, api.status(provider, job_id)) == "running"
    _fault(api, provider=provider, job_id=str(job_id), route="status", kind="flap")
    phases = [phase(provider, api.status(provider, job_id)) for _ in range(6)]
    assert set(phases) == {"running", "queued"}, phases
    assert all(a != b for a, b in itertools.pairwise(phases)), phases
    api.http.delete("/_emulator/faults")
    assert phase(provider, api.status(provider, job_id)) == "running"


# ------------------------------------------------------------------------------------------------
# Scoping: per job, per provider, per route, global, count/probability
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_fault_scoped_to_one_job(emu, api, provider):
    target = _job(emu, provider)
    bystander = _job(emu, provider)
    _fault(api, provider=provider, job_id=str(target), route="status", kind="http_503", count=2)
    assert _get(emu, provider, bystander).status_code == 200
    assert _get(emu, provider, target).status_code == 503
    assert _get(emu, provider, bystander).status_code == 200
    assert _get(emu, provider, target).status_code == 503
    assert _get(emu, provider, target).status_code == 200


def test_fault_scoped_to_one_provider(emu, api):
    jobs = {p: _job(emu, p) for p in PROVIDERS}
    _fault(api, provider="tensorpix", route="any", kind="http_500", count=None)
    for provider, job_id in jobs.items():
        expected = 500 if provider == "tensorpix" else 200
        assert _get(emu, provider, job_id).status_code == expected, provider


def test_fault_without_provider_hits_everyone(emu, api):
    jobs = {p: _job(emu, p) for p in PROVIDERS}
    _fault(api, provider=None, route="status", kind="http_502", count=None)
    for provider, job_id in jobs.items():
        _assert_error_shape(provider, _get(emu, provider, job_id), 502)


def test_persistent_fault_until_cleared(emu, api):
    job_id = _job(emu, "vozo")
    _fault(api, provider="vozo", route="status", kind="http_500", count=None)
    assert [_get(emu, "vozo", job_id).status_code for _ in range(5)] == [500] * 5
    assert api.http.delete("/_emulator/faults").status_code in (200, 204)
    assert _get(emu, "vozo", job_id).status_code == 200


def test_probability_zero_never_fires_and_one_always_fires(emu, api):
    job_id = _job(emu, "tensorart")
    _fault(api, provider="tensorart", route="status", kind="http_500", count=None, probability=0)
    assert {_get(emu, "tensorart", job_id).status_code for _ in range(10)} == {200}
    api.http.delete("/_emulator/faults")
    _fault(api, provider="tensorart", route="status", kind="http_500", count=None, probability=1)
    assert {_get(emu, "tensorart", job_id).status_code for _ in range(5)} == {500}


@pytest.mark.parametrize("provider", ["goenhance", "tensorart", "tensorpix"])  # Vozo has no test route
def test_test_route_fault(emu, api, provider):
    job_id = _job(emu, provider)
    _fault(api, provider=provider, route="test", kind="http_503", count=1)
    method, path, body = TEST_CONNECTION[provider]
    response = api.request(provider, method, path, json=body)
    _assert_error_shape(provider, response, 503)
    assert _get(emu, provider, job_id).status_code == 200
    assert api.request(provider, method, path, json=body).status_code == 200


@pytest.mark.parametrize(
    ("provider", "path", "body"),
    [
        ("goenhance", "/goenhance/api/v1/imagefaceswap/generate", None),
        ("tensorart", "/tensorart/v1/jobs", None),
        ("vozo", "/vozo/v1/video_generation", None),
        ("tensorpix", "/tensorpix/api/jobs/from-url/", TENSORPIX_FROM_URL),
    ],
)
def test_create_route_fault_creates_nothing(emu, api, provider, path, body):
    from support.emulator_api import GOENHANCE_FACESWAP, VOZO_LIPSYNC, tams_body

    payload = {
        "goenhance": GOENHANCE_FACESWAP,
        "tensorart": json.loads(tams_body()),
        "vozo": VOZO_LIPSYNC,
        "tensorpix": body,
    }[provider]
    job_id = _job(emu, provider)
    _fault(api, provider=provider, route="create", kind="http_500", count=1)
    assert _get(emu, provider, job_id).status_code == 200
    _assert_error_shape(provider, api.request(provider, "POST", path, json=payload), 500)
    assert emu.stats()["jobs"][provider] == 1
    assert api.request(provider, "POST", path, json=payload).status_code in (200, 201)
    assert emu.stats()["jobs"][provider] == 2


@pytest.mark.parametrize("provider", ["tensorart", "tensorpix"])
def test_cancel_route_fault_leaves_the_job_alone(emu, api, provider):
    job_id = _job(emu, provider)
    path = f"/tensorart/v1/jobs/{job_id}" if provider == "tensorart" else f"/tensorpix/api/jobs/{job_id}/"
    _fault(api, provider=provider, route="cancel", kind="http_500", count=1)
    _assert_error_shape(provider, api.request(provider, "DELETE", path), 500)
    assert phase(provider, api.status(provider, job_id)) == "queued"
    assert api.request(provider, "DELETE", path).status_code in (200, 204)
    assert phase(provider, api.status(provider, job_id)) == "canceled"


def test_cdn_route_fault(emu, api):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=1, running_s=1)
    api.advance(5)
    url = api.status("tensorpix", job_id)["output_video"]["file"]
    _fault(api, provider="tensorpix", route="cdn", kind="reset", count=1)
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=5)
    assert httpx.get(url, timeout=5).status_code == 200


def test_cdn_truncated_download(emu, api):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=1, running_s=1, output_bytes=50_000)
    api.advance(5)
    url = api.status("tensorpix", job_id)["output_video"]["file"]
    _fault(api, provider="tensorpix", route="cdn", kind="truncated", count=1)
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=5)
    response = httpx.get(url, timeout=5)
    assert len(response.content) == 50_000


def test_route_any_covers_status_and_test(emu, api):
    job_id = _job(emu, "goenhance")
    _fault(api, provider="goenhance", route="any", kind="http_503", count=2)
    assert _get(emu, "goenhance", job_id).status_code == 503
    assert api.request("goenhance", "GET", "/goenhance/api/v1/user/tokens").status_code == 503
    assert _get(emu, "goenhance", job_id).status_code == 200


def test_reset_drops_faults(emu, api):
    job_id = _job(emu, "tensorpix")
    _fault(api, provider="tensorpix", route="status", kind="http_500", count=None)
    assert _get(emu, "tensorpix", job_id).status_code == 500
    emu.reset()
    job_id = _job(emu, "tensorpix")
    assert _get(emu, "tensorpix", job_id).status_code == 200
