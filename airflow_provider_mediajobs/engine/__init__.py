"""What every provider shares: connection config, HTTP transport, retries, rate limits, cadence.

The names below are loaded on first use (PEP 562): ``engine.cadence`` (needed when a DAG file that
uses a submit operator is parsed) must not pull in the HTTP transport and the dialects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_mediajobs.engine.api import JobApi
    from airflow_provider_mediajobs.engine.config import ApiConfig, config_from_connection

__all__ = ["ApiConfig", "JobApi", "config_from_connection"]

_LAZY = {
    "JobApi": "airflow_provider_mediajobs.engine.api",
    "ApiConfig": "airflow_provider_mediajobs.engine.config",
    "config_from_connection": "airflow_provider_mediajobs.engine.config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
