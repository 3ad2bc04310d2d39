"""Fixtures of the real-Airflow triggerer tests: sentinel credentials and an emulator that accepts them.

These tests start real Airflow 3 processes (api-server, scheduler with the LocalExecutor,
triggerers) and are marked ``airflow_processes``: ``pytest -m "not airflow_processes"`` leaves them out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mediajobs_cluster import Postgres, SentinelEmulator, Sentinels, postgres_unavailable

from support.constants import PROVIDERS
from support.credentials import sentinel_keys, tams_key_pair

_TIMINGS: list[tuple[str, dict[str, float]]] = []


@pytest.fixture(scope="session")
def record_timings() -> Callable[[str, dict[str, float]], None]:
    """Scenario timings, printed in pytest's terminal summary (the figures in docs/operations.md)."""

    def record(label: str, timings: dict[str, float]) -> None:
        _TIMINGS.append((label, dict(timings)))

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _TIMINGS:
        return
    terminalreporter.section("mediajobs: real-Airflow triggerer timings")
    for label, timings in _TIMINGS:
        figures = ", ".join(
            f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in timings.items()
        )
        terminalreporter.write_line(f"{label}: {figures}")


@pytest.fixture(scope="module")
def sentinel_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelEmulator]:
    """The emulator (real time, ``speed=1``) accepting a distinctive key per provider and a fresh
    TAMS key pair; the four default connections point at it, TAMS in signature (RSA) mode."""
    from airflow_provider_mediajobs.emulator import Emulator

    tmp = tmp_path_factory.mktemp("sentinels")
    keys = sentinel_keys("mjsentinel", PROVIDERS)
    public = tmp / "tams-public.pem"
    pem = tams_key_pair(public)
    # keys nobody else uses instead of the emulator's documented defaults
    with Emulator(port=0, seed=11, speed=1.0, tams_public_key=public, api_keys=keys) as emu:
        connections: dict[str, dict[str, Any]] = {}
        sentinels = Sentinels()
        for provider in PROVIDERS:
            conn: dict[str, Any] = {
                "conn_type": provider,
                "host": emu.base_url(provider),
                "password": keys[provider],
                "extra": {"allow_private_hosts": True},  # the emulator's CDN is on 127.0.0.1
            }
            if provider == "tensorart":
                conn = {
                    "conn_type": provider,
                    "host": emu.base_url(provider),
                    "extra": {
                        "app_id": emu.credentials("tensorart")["app_id"],
                        "private_key": pem,
                        "allow_private_hosts": True,
                    },
                }
            else:  # TAMS signs with the private key; its API key is configured nowhere
                sentinels.add_key(f"{provider} API key", keys[provider])
            connections[f"{provider}_default"] = conn
        sentinels.add_pem("TAMS private key", pem)
        yield SentinelEmulator(emu, connections, sentinels)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL server; skipped without one unless ``MEDIAJOBS_POSTGRES_REQUIRED=1``."""
    reason = postgres_unavailable()
    if reason:
        if os.environ.get("MEDIAJOBS_POSTGRES_REQUIRED") == "1":
            pytest.fail(f"PostgreSQL is required here (MEDIAJOBS_POSTGRES_REQUIRED=1): {reason}")
        pytest.skip(reason)
    # Not under pytest's tmp dir: the server runs as user postgres (when we are root), which cannot
    # enter pytest's private base directory.
    root = Path(tempfile.mkdtemp(prefix="mediajobs-postgres-"))
    server = Postgres(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
