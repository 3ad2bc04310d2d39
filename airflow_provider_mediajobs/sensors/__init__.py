"""Sensors that wait for a media job: :class:`MediaJobSensor` and one per provider."""

from __future__ import annotations

from airflow_provider_mediajobs.sensors.media_job import (
    GoEnhanceJobSensor,
    MediaJobSensor,
    TensorArtJobSensor,
    TensorPixJobSensor,
    VozoJobSensor,
)

__all__ = [
    "GoEnhanceJobSensor",
    "MediaJobSensor",
    "TensorArtJobSensor",
    "TensorPixJobSensor",
    "VozoJobSensor",
]
