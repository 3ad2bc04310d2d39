"""The hooks against the emulator over real HTTP on 127.0.0.1.

One emulator for the module, its clock all but frozen (``speed=1e-6``): time moves only through
``advance()``, so every read lands at an exact point of a scripted job's life. Connections are
``AIRFLOW_CONN_*`` JSON pointing at the emulator, as a user would set them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_mediajobs.emulator import Emulator

from support.connections import set_connections
from support.constants import PROVIDERS

FROZEN = 1e-6  # emulated seconds per real second: the clock moves only through advance()


@pytest.fixture(scope="session")
def frozen_emulator() -> Iterator[Emulator]:
    with Emulator(port=0, seed=11, speed=FROZEN, tams_qps=0) as emu:
        yield emu


@pytest.fixture
def emu(frozen_emulator: Emulator) -> Iterator[Emulator]:
    frozen_emulator.reset()
    yield frozen_emulator
    frozen_emulator.reset()


def connections_for(emu: Emulator) -> dict[str, dict[str, Any]]:
    """Connection id -> connection JSON; TensorArt in both auth modes."""
    conns: dict[str, dict[str, Any]] = {}
    for provider in PROVIDERS:
        # no client-side limiter: the emulator's own limit is off too
        conns[f"{provider}_emu"] = emu.connection(
            provider, signature=False, rate_limit=0, allow_private_hosts=True
        )
    conns["tensorart_rsa"] = emu.connection("tensorart", rate_limit=0, allow_private_hosts=True)
    return conns


@pytest.fixture
def connections(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    conns = connections_for(emu)
    set_connections(monkeypatch, conns)
    return conns
