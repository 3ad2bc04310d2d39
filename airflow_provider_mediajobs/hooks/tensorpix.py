"""TensorPix hook: reads, creates and cancels TensorPix jobs (see :mod:`~airflow_provider_mediajobs.dialects.tensorpix`)."""

from __future__ import annotations

from airflow_provider_mediajobs.hooks.base import MediaJobHook


class TensorPixHook(MediaJobHook):
    """TensorPix hook. Connection type ``tensorpix``, default connection id ``tensorpix_default``."""

    provider = "tensorpix"
    conn_type = "tensorpix"
    default_conn_name = "tensorpix_default"
    hook_name = "TensorPix"
