"""Fixtures for the core tests: one connection per provider, and ``wire``, which runs a test once
through the sync path and once through the async path (see core_support.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests_mock
from core_support import SENTINEL, TAMS_HOST, Wire

from airflow_provider_mediajobs.engine.transport import override_async_transport


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """``<provider>_default`` for each provider, all with the sentinel key (TAMS: Bearer mode)."""
    conns: dict[str, dict[str, Any]] = {
        "GOENHANCE_DEFAULT": {"conn_type": "goenhance", "password": SENTINEL},
        # rate_limit 0: no client-side limiter, so no test waits for a token
        "TENSORART_DEFAULT": {
            "conn_type": "tensorart",
            "host": TAMS_HOST,
            "password": SENTINEL,
            "extra": {"rate_limit": 0},
        },
        "VOZO_DEFAULT": {"conn_type": "vozo", "password": SENTINEL},
        "TENSORPIX_DEFAULT": {"conn_type": "tensorpix", "password": SENTINEL},
    }
    for name, conn in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}", json.dumps(conn))


@pytest.fixture(params=["sync", "async"])
def wire(request: pytest.FixtureRequest) -> Iterator[Wire]:
    """Both paths, one canned server. Nothing leaves the process on either path."""
    wire = Wire(request.param)
    with requests_mock.Mocker() as mocker:  # also on the async path: a stray sync call stays local
        mocker.register_uri(requests_mock.ANY, requests_mock.ANY, content=wire._sync)
        if wire.mode == "async":
            with override_async_transport(httpx.MockTransport(wire._async)):
                yield wire
        else:
            yield wire
