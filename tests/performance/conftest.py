"""Fixtures for the performance-path tests: the emulator (session scope, reset per test)."""

from __future__ import annotations

from airflow_provider_mediajobs.emulator.testing import (  # noqa: F401  (fixtures, used by name)
    mediajobs_emulator,
    mediajobs_emulator_session,
)
