"""Operators: submit a media job and wait for it (:mod:`.submit`); persist a finished job's
outputs (:mod:`.outputs`, whose download engine loads only when such a task runs)."""

from __future__ import annotations

from airflow_provider_mediajobs.operators.outputs import MediaJobOutputsOperator
from airflow_provider_mediajobs.operators.submit import (
    GoEnhanceSubmitJobOperator,
    MediaJobSubmitOperator,
    TensorArtSubmitJobOperator,
    TensorPixSubmitJobOperator,
    VozoSubmitJobOperator,
)

__all__ = [
    "GoEnhanceSubmitJobOperator",
    "MediaJobOutputsOperator",
    "MediaJobSubmitOperator",
    "TensorArtSubmitJobOperator",
    "TensorPixSubmitJobOperator",
    "VozoSubmitJobOperator",
]
