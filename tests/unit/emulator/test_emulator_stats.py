"""Observability (``/_emulator/stats``) and rate limiting."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import requests

from airflow_provider_mediajobs.emulator import Emulator

from support.emulator_api import (
    TAMS_ERROR,
    TENSORPIX_FROM_URL,
    auth_header,
    status_path,
    tams_body,
    validate,
)


def _provider_requests(stats):
    """The per-route request counts, without the admin routes (which may count themselves)."""
    return {k: v for k, v in stats["requests"].items() if "admin" not in k and not k.startswith("_")}


def _cdn_counts(stats):
    counts: dict[str, int] = {}
    for key, by_status in stats["requests"].items():
        if key == "cdn" or key.endswith(" cdn"):
            for status, n in by_status.items():
                counts[status] = counts.get(status, 0) + n
    return counts


def test_reset_clears_stats(emu, api):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=1, running_s=1)
    api.status("tensorpix", job_id)
    assert emu.stats()["requests"]["tensorpix status"] == {"200": 1}
    emu.reset()
    stats = emu.stats()
    assert _provider_requests(stats) == {}
    assert stats["rate_limited"] == 0
    assert stats["cdn_authorization_headers"] == 0
    assert all(n == 0 for n in stats["jobs"].values())


def test_requests_counted_per_route_and_status(emu, api):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=10, running_s=10)
    for _ in range(3):
        api.status("tensorpix", job_id)
    assert api.status_response("tensorpix", 424242).status_code == 404
    emu.inject_fault(provider="tensorpix", route="status", kind="http_503", count=2)
    assert [api.status_response("tensorpix", job_id).status_code for _ in range(2)] == [503, 503]
    created = api.request("tensorpix", "POST", "/tensorpix/api/jobs/from-url/", json=TENSORPIX_FROM_URL)
    assert created.status_code == 201
    assert (
        api.request("tensorpix", "DELETE", f"/tensorpix/api/jobs/{created.json()['id']}/").status_code == 204
    )
    assert api.request("tensorpix", "GET", "/tensorpix/api/accounts/profile/balance/").status_code == 200
    assert api.request("goenhance", "GET", "/goenhance/api/v1/user/tokens").status_code == 200
    assert api.request("goenhance", "GET", "/goenhance/api/v1/user/tokens", key="bad").status_code == 401
    tams = api.request("tensorart", "POST", "/tensorart/v1/jobs", json=json.loads(tams_body()))
    assert tams.status_code == 200
    assert api.request("vozo", "GET", "/vozo/v1/video_generation/nope").status_code == 404

    stats = emu.stats()
    assert _provider_requests(stats) == {
        "tensorpix status": {"200": 3, "404": 1, "503": 2},
        "tensorpix create": {"201": 1},
        "tensorpix cancel": {"204": 1},
        "tensorpix test": {"200": 1},
        "goenhance test": {"200": 1, "401": 1},
        "tensorart create": {"200": 1},
        "vozo status": {"404": 1},
    }
    assert stats["jobs"]["tensorpix"] == 2
    assert stats["jobs"]["tensorart"] == 1
    assert stats["jobs"].get("goenhance", 0) == 0

    over_http = api.http.get("/_emulator/stats").json()
    assert _provider_requests(over_http) == _provider_requests(stats)
    assert over_http["jobs"] == stats["jobs"]


def test_cdn_downloads_are_counted(emu, api):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=1, running_s=1)
    api.advance(5)
    url = api.status("tensorpix", job_id)["output_video"]["file"]
    assert api.download(url).status_code == 200
    assert api.download(url + "x").status_code == 403
    assert _cdn_counts(emu.stats()) == {"200": 1, "403": 1}


def test_connections_are_counted(emu, api):
    before = emu.stats()["connections"]
    with httpx.Client(base_url=emu.url) as client:  # keep-alive: one connection
        for _ in range(5):
            assert client.get("/tensorpix/api/jobs/1/", headers=auth_header("tensorpix")).status_code == 404
    assert emu.stats()["connections"] - before == 1
    for _ in range(3):  # a new connection each time
        requests.get(emu.url + "/tensorpix/api/jobs/1/", headers=auth_header("tensorpix"), timeout=5)
    assert emu.stats()["connections"] - before == 4


def test_keep_alive_requests_are_not_delayed(emu):
    """Without a latency fault a request on a reused connection answers in milliseconds.

    (A listening socket without TCP_NODELAY makes every keep-alive response wait for the client's
    delayed ACK, ~40 ms, which distorts benchmarks and polling tests.)
    """
    with httpx.Client(base_url=emu.url) as client, requests.Session() as session:
        for get in (client.get, lambda path: session.get(emu.url + path, timeout=5)):
            get("/_emulator/stats")
            durations = []
            for _ in range(10):
                started = time.perf_counter()
                assert get("/_emulator/stats").status_code == 200
                durations.append(time.perf_counter() - started)
            assert sorted(durations)[5] < 0.02, durations


async def test_concurrent_async_clients_are_all_counted(emu):
    job_id = emu.add_job("vozo", outcome="succeeded", queued_s=5, running_s=5)
    url = emu.url + status_path("vozo", job_id)

    async def one() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, headers=auth_header("vozo"))).status_code

    statuses = await asyncio.gather(*(one() for _ in range(20)))
    assert statuses == [200] * 20
    assert emu.stats()["requests"]["vozo status"] == {"200": 20}


# ------------------------------------------------------------------------------------------------
# Rate limiting
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def limited():
    with Emulator(port=0, seed=3, speed=1.0, tams_qps=5) as emulator:
        yield emulator


async def test_tams_rate_limit_five_qps(limited):
    limited.reset()
    job_id = limited.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    url = limited.url + status_path("tensorart", job_id)
    async with httpx.AsyncClient() as client:
        responses = await asyncio.gather(
            *(client.get(url, headers=auth_header("tensorart")) for _ in range(15))
        )
    codes = sorted(r.status_code for r in responses)
    limited_responses = [r for r in responses if r.status_code == 429]
    assert codes.count(200) >= 1
    assert codes.count(200) <= 10  # 5 per second; a burst may straddle a second boundary
    assert len(limited_responses) >= 5
    assert set(codes) <= {200, 429}
    for response in limited_responses:
        validate(response.json(), TAMS_ERROR)
        assert response.json()["code"] == 8
        assert int(response.headers["retry-after"]) >= 1
    stats = limited.stats()
    assert stats["rate_limited"] == len(limited_responses)
    assert stats["requests"]["tensorart status"]["429"] == len(limited_responses)


async def test_tams_rate_limit_covers_all_routes_and_recovers(limited):
    limited.reset()
    await asyncio.sleep(1.1)  # a fresh window
    async with httpx.AsyncClient(base_url=limited.url) as client:
        codes = []
        for _ in range(12):
            response = await client.post(
                "/tensorart/v1/jobs/credits", content=tams_body(), headers=auth_header("tensorart")
            )
            codes.append(response.status_code)
        assert 429 in codes
        assert codes.count(200) <= 10
        await asyncio.sleep(1.1)
        response = await client.post(
            "/tensorart/v1/jobs/credits", content=tams_body(), headers=auth_header("tensorart")
        )
        assert response.status_code == 200
    assert limited.stats()["rate_limited"] == codes.count(429)


async def test_rate_limit_leaves_other_providers_alone(limited):
    limited.reset()
    job_id = limited.add_job("tensorpix", outcome="succeeded", queued_s=5, running_s=5)
    url = limited.url + status_path("tensorpix", job_id)
    async with httpx.AsyncClient() as client:
        responses = await asyncio.gather(
            *(client.get(url, headers=auth_header("tensorpix")) for _ in range(15))
        )
    assert {r.status_code for r in responses} == {200}
    assert limited.stats()["rate_limited"] == 0


def test_no_rate_limit_when_disabled(emu, api):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    codes = {api.status_response("tensorart", job_id).status_code for _ in range(30)}
    assert codes == {200}
    assert emu.stats()["rate_limited"] == 0
