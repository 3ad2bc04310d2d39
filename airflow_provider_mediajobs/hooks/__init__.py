"""Hooks: :class:`~.base.MediaJobHook`, and one named subclass per built-in provider."""

from __future__ import annotations

from airflow_provider_mediajobs.dialects.registry import hook_class
from airflow_provider_mediajobs.hooks.base import MediaJobHook
from airflow_provider_mediajobs.hooks.goenhance import GoEnhanceHook
from airflow_provider_mediajobs.hooks.tensorart import TensorArtHook
from airflow_provider_mediajobs.hooks.tensorpix import TensorPixHook
from airflow_provider_mediajobs.hooks.vozo import VozoHook

__all__ = [
    "GoEnhanceHook",
    "MediaJobHook",
    "TensorArtHook",
    "TensorPixHook",
    "VozoHook",
    "hook_class",
]
