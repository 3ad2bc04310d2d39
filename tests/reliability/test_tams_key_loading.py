"""Many TAMS waits in signature mode must not stall the triggerer's event loop loading their key.

Found by the triggerer-restart suite: loading a PEM RSA key with OpenSSL's full check costs
50-150 ms of CPU with the GIL held (a thread does not help), and every TAMS wait loaded the key
again when it resolved its connection on the loop: 200 waits starting together froze the loop
for ~10-20 s. The key is now checked with exact arithmetic and loaded once per process.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from reliability_support import as_triggerer_would, connection, run_trigger, write_results

from airflow_provider_mediajobs.dialects import tensorart_signing as tensorart
from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections

WAITS = 40


async def test_signature_mode_waits_load_the_key_once_and_cheaply(
    mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = mediajobs_emulator
    set_connections(monkeypatch, {"tams_rsa": connection(emu, "tensorart", signature=True)})
    # the process's first connection lookup has one-off costs (not ours): pay them before measuring
    warm = MediaJobTrigger(
        provider="tensorart",
        conn_id="tams_rsa",
        job_id=str(emu.add_job("tensorart", outcome="succeeded", queued_s=0, running_s=0)),
    )
    assert (await run_trigger(as_triggerer_would(warm)))["status"] == "succeeded"
    emu.reset()
    monkeypatch.setattr(tensorart, "_KEY_CACHE", {})
    loads: list[dict[str, Any]] = []
    real_load = serialization.load_pem_private_key

    def spy(data: bytes, password: Any, **kwargs: Any) -> Any:
        loads.append(kwargs)
        return real_load(data, password, **kwargs)

    monkeypatch.setattr(serialization, "load_pem_private_key", spy)
    now = time.time()
    triggers = [
        as_triggerer_would(
            MediaJobTrigger(
                provider="tensorart",
                conn_id="tams_rsa",
                job_id=str(emu.add_job("tensorart", outcome="succeeded", queued_s=0, running_s=0)),
                poll_interval=0.05,
                deadline=now + 60,
                started_at=now,
            )
        )
        for _ in range(WAITS)
    ]
    started = time.perf_counter()
    events = await asyncio.gather(*(run_trigger(t) for t in triggers))
    elapsed = time.perf_counter() - started

    assert [e["status"] for e in events] == ["succeeded"] * WAITS
    # every request was signed (the emulator verifies each signature and nonce) ...
    assert emu.stats()["requests"]["tensorart status"] == {"200": WAITS}
    # ... with a key loaded once, without OpenSSL's seconds-long primality check
    assert len(loads) == 1 and loads[0].get("unsafe_skip_rsa_key_validation") is True
    pem = emu.credentials("tensorart")["private_key"].encode()
    write_results(
        "tams_key_loading",
        {
            "waits": WAITS,
            "elapsed_s": round(elapsed, 3),
            "key_loads": len(loads),
            # CPU time (not wall time: the machine is shared) of one load, the old way and now
            "openssl_checked_load_cpu_ms": _cpu_ms(lambda: real_load(pem, None)),
            "arithmetic_checked_load_cpu_ms": _cpu_ms(
                lambda: tensorart._consistent(real_load(pem, None, unsafe_skip_rsa_key_validation=True))
            ),
        },
    )


def _cpu_ms(action: Any, repeat: int = 5) -> float:
    start = time.process_time()
    for _ in range(repeat):
        action()
    return round((time.process_time() - start) / repeat * 1000, 2)
