"""Triggers: :class:`MediaJobTrigger` waits for any provider's job in the triggerer."""

from __future__ import annotations

from airflow_provider_mediajobs.triggers.media_job import MediaJobTrigger

__all__ = ["MediaJobTrigger"]
