"""TensorPix hook: reads, creates and cancels TensorPix jobs (see :mod:`~airflow_provider_mediajobs.dialects.tensorpix`)."""

from __future__ import annotations

from airflow_provider_mediajobs.hooks.base import MediaJobHook


class TensorPixHook(MediaJobHook):
    """TensorPix hook. Connection type ``tensorpix``, default connection id ``tensorpix_default``."""

    default_provider = "tensorpix"
