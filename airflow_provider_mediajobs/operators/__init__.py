"""Operators: submit a media job and wait for it."""

from __future__ import annotations

from airflow_provider_mediajobs.operators.submit import (
    GoEnhanceSubmitJobOperator,
    MediaJobSubmitOperator,
    TensorArtSubmitJobOperator,
    TensorPixSubmitJobOperator,
    VozoSubmitJobOperator,
)

__all__ = [
    "GoEnhanceSubmitJobOperator",
    "MediaJobSubmitOperator",
    "TensorArtSubmitJobOperator",
    "TensorPixSubmitJobOperator",
    "VozoSubmitJobOperator",
]
