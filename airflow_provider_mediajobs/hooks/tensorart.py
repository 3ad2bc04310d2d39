"""TensorArt TAMS hook: reads, creates and cancels TensorArt TAMS jobs (see :mod:`~airflow_provider_mediajobs.dialects.tensorart`)."""

from __future__ import annotations

from airflow_provider_mediajobs.hooks.base import MediaJobHook


class TensorArtHook(MediaJobHook):
    """TensorArt TAMS hook. Connection type ``tensorart``, default connection id ``tensorart_default``."""

    default_provider = "tensorart"
