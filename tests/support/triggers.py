"""Triggers as the trigger tests build them."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_mediajobs.triggers import MediaJobTrigger


def fast_trigger(**overrides: Any) -> MediaJobTrigger:
    """A wait for TensorPix job 42 on ``tensorpix_default`` polling every 10-50 ms, 20 s deadline."""
    kwargs: dict[str, Any] = {
        "provider": "tensorpix",
        "conn_id": "tensorpix_default",
        "job_id": "42",
        "poll_interval": 0.01,
        "max_poll_interval": 0.05,
        "deadline": time.time() + 20,
    }
    return MediaJobTrigger(**{**kwargs, **overrides})
