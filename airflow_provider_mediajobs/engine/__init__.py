"""What every provider shares: connection config, HTTP transport, retries, rate limits, cadence."""

from __future__ import annotations

from airflow_provider_mediajobs.engine.api import JobApi
from airflow_provider_mediajobs.engine.config import ApiConfig, config_from_connection

__all__ = ["ApiConfig", "JobApi", "config_from_connection"]
