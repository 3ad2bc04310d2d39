"""Hooks: :class:`~.base.MediaJobHook`, and one named subclass per built-in provider (``GoEnhanceHook``,
...), made from its registry line."""

from __future__ import annotations

from airflow_provider_mediajobs.dialects.registry import BUILTIN, HOOK_SUFFIX, convenience_classes, hook_class
from airflow_provider_mediajobs.hooks.base import MediaJobHook

_NAMED = convenience_classes(
    MediaJobHook,
    HOOK_SUFFIX,
    __name__,
    lambda spec: (
        f"{spec.display_name} hook: reads, creates and cancels its jobs. Connection type "
        f"``{spec.conn_type}``, default connection id ``{spec.default_conn_id}``."
    ),
    [spec for spec in BUILTIN if spec.hook.startswith(f"{__name__}.")],
)
globals().update(_NAMED)

__all__ = ["MediaJobHook", *_NAMED, "hook_class"]
