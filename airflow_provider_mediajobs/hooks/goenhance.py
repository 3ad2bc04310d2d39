"""GoEnhance hook: reads, creates and cancels GoEnhance jobs (see :mod:`~airflow_provider_mediajobs.dialects.goenhance`)."""

from __future__ import annotations

from airflow_provider_mediajobs.hooks.base import MediaJobHook


class GoEnhanceHook(MediaJobHook):
    """GoEnhance hook. Connection type ``goenhance``, default connection id ``goenhance_default``."""

    default_provider = "goenhance"
