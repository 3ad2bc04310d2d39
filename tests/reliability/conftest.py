"""Reliability suites: the emulator plugin's fixtures, imported by name (``pytest_plugins`` may only
be declared in the rootdir conftest). Nothing here is autouse, so suites below keep their own setup."""

from __future__ import annotations

from airflow_provider_mediajobs.emulator.testing import (  # noqa: F401  (fixtures, used by name)
    mediajobs_emulator,
    mediajobs_emulator_session,
)
