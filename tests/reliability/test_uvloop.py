"""The async path under uvloop, which a triggerer may run on: a trigger waits to its event over plain
HTTP and over HTTPS against the emulator on uvloop's event loop (the hand-written client it replaced
failed every request there). Skipped when uvloop is not installed; it is no dependency of ours."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.engine import transport
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections

uvloop = pytest.importorskip("uvloop")

CONN_ID = "uvloop_tensorpix"


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_trigger_waits_to_its_event_under_uvloop(tls: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(tls=tls, speed=200, tams_qps=0, origins=False) as emu:
        set_connections(
            monkeypatch,
            {
                CONN_ID: {
                    "conn_type": "tensorpix",
                    "host": emu.base_url("tensorpix"),
                    "password": emu.credentials("tensorpix")["api_key"],
                }
            },
        )
        if tls:  # the emulator's CA, as a triggerer trusts a private CA
            assert emu.ca_file is not None
            monkeypatch.setenv("SSL_CERT_FILE", emu.ca_file)
            monkeypatch.setattr(transport, "_ssl_context", None)
        job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=60, running_s=240)  # 1.5 s
        trigger = MediaJobTrigger(
            provider="tensorpix",
            conn_id=CONN_ID,
            job_id=str(job_id),
            poll_interval=0.05,
            max_poll_interval=0.1,
            deadline=time.time() + 30,
        )

        async def wait() -> tuple[Any, dict[str, Any]]:
            loop = asyncio.get_running_loop()
            async for event in trigger.run():
                await trigger.cleanup()
                return loop, dict(event.payload)
            raise AssertionError("the trigger ended without an event")

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            loop, payload = runner.run(asyncio.wait_for(wait(), 30))
        stats = emu.stats()
    assert isinstance(loop, uvloop.Loop)
    assert payload["status"] == "succeeded", payload
    assert payload["job"]["state"] == "succeeded"
    reads = sum(stats["requests"].get("tensorpix status", {}).values())
    assert reads >= 2 and stats["connections"] <= 2  # several reads, on a kept-alive connection
