"""Durations the emulator reports are real seconds (emulated seconds / ``--speed``), like its clock.

Issue 17 item 5: at ``--speed 60`` TensorPix reported ``eta_s`` in emulated seconds (477 s for a job
that ends 8 s later), so a client that trusts the ETA slept far too long.
"""

from __future__ import annotations

import time

import httpx
import pytest

from airflow_provider_mediajobs.emulator import Emulator

from support.emulator_api import auth_header, status_path


@pytest.fixture(scope="module")
def fast():
    with Emulator(speed=60, tams_qps=0, origins=False) as emulator:
        yield emulator


def read(emu: Emulator, provider: str, job_id: object) -> dict:
    response = httpx.get(emu.url + status_path(provider, job_id), headers=auth_header(provider))
    assert response.status_code == 200, response.text
    return response.json()


def test_tensorpix_eta_is_in_real_seconds(fast):
    fast.reset()
    job_id = fast.add_job("tensorpix", outcome="succeeded", queued_s=0, running_s=480)  # 8 real s
    eta = read(fast, "tensorpix", job_id)["eta_s"]
    assert 7.0 <= eta <= 8.0


def test_waiting_the_eta_finds_the_job_done():
    with Emulator(speed=600, tams_qps=0, origins=False) as emu:
        job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=300, running_s=300)
        body = read(emu, "tensorpix", job_id)
        assert body["status"] == 0 and 0.5 <= body["eta_s"] <= 1.0
        time.sleep(body["eta_s"] + 0.2)
        assert read(emu, "tensorpix", job_id)["status"] == 2


def test_tams_expired_in_is_in_real_seconds(fast):
    fast.reset()
    job_id = fast.add_job("tensorart", outcome="succeeded", queued_s=0, running_s=0)
    [image] = read(fast, "tensorart", job_id)["job"]["successInfo"]["images"]
    # 12 h of emulated URL lifetime at 60x are 12 min of real time
    assert 700 <= int(image["expiredIn"]) <= 720
