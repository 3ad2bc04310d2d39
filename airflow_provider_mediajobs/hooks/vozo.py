"""Vozo hook: reads, creates and cancels Vozo jobs (see :mod:`~airflow_provider_mediajobs.dialects.vozo`)."""

from __future__ import annotations

from airflow_provider_mediajobs.hooks.base import MediaJobHook


class VozoHook(MediaJobHook):
    """Vozo hook. Connection type ``vozo``, default connection id ``vozo_default``."""

    default_provider = "vozo"
