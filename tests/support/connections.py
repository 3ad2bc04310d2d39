"""Airflow connections for tests, set up one way: ``AIRFLOW_CONN_<ID>`` JSON, as a user sets them.

``set_connections`` puts connections into the environment through ``monkeypatch`` (undone after
the test); ``connection_env`` gives the same variables for a child process's environment.
``provider_connections`` is the fixture of the unit suites: ``<provider>_default`` for every
built-in provider, derived from the registry, all with the sentinel key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import pytest

from airflow_provider_mediajobs.dialects.registry import BUILTIN

from support.constants import SENTINEL, TAMS_HOST

Connection = Mapping[str, Any] | str  # the JSON form as a dict, or already as text


def conn_env_name(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def connection_env(connections: Mapping[str, Connection]) -> dict[str, str]:
    """``{AIRFLOW_CONN_<ID>: JSON}`` for ``{conn_id: connection}``."""
    return {
        conn_env_name(conn_id): conn if isinstance(conn, str) else json.dumps(conn)
        for conn_id, conn in connections.items()
    }


def environ_without_airflow() -> dict[str, str]:
    """This process's environment without Airflow settings or connections: the base of a child
    process (an Airflow of its own) that gets only what the test gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}


def set_connections(monkeypatch: pytest.MonkeyPatch, connections: Mapping[str, Connection]) -> None:
    """Define ``{conn_id: connection}`` for the rest of the test."""
    for name, value in connection_env(connections).items():
        monkeypatch.setenv(name, value)


def default_connections(key: str = SENTINEL) -> dict[str, dict[str, Any]]:
    """``<provider>_default`` for each built-in provider with ``key``; a provider without a default
    endpoint (TAMS) gets the test host. TAMS in Bearer mode, no client-side rate limit (no test
    waits for a token)."""
    conns: dict[str, dict[str, Any]] = {}
    for spec in BUILTIN:
        conn: dict[str, Any] = {"conn_type": spec.conn_type, "password": key}
        if spec.default_base_url is None:
            conn["host"] = TAMS_HOST
        if spec.default_rate_limit is not None:
            conn["extra"] = {"rate_limit": 0}
        conns[spec.default_conn_id] = conn
    return conns


@pytest.fixture
def provider_connections(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """The default connection of every built-in provider, and ``plain_http`` of a non-media type."""
    conns = default_connections()
    conns["plain_http"] = {"conn_type": "http", "host": "https://example.com", "password": SENTINEL}
    set_connections(monkeypatch, conns)
    return conns
