"""Sensors that wait for a media job: :class:`MediaJobSensor` and one per built-in provider
(``GoEnhanceJobSensor``, ...), made from its registry line."""

from __future__ import annotations

from airflow_provider_mediajobs.sensors import media_job

globals().update({name: getattr(media_job, name) for name in media_job.__all__})

__all__ = list(media_job.__all__)
