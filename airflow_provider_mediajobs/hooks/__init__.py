"""Hooks, one per provider; all are :class:`~airflow_provider_mediajobs.hooks.base.MediaJobHook`."""

from __future__ import annotations

from airflow_provider_mediajobs.exceptions import MediaJobConfigError
from airflow_provider_mediajobs.hooks.base import MediaJobHook
from airflow_provider_mediajobs.hooks.goenhance import GoEnhanceHook
from airflow_provider_mediajobs.hooks.tensorart import TensorArtHook
from airflow_provider_mediajobs.hooks.tensorpix import TensorPixHook
from airflow_provider_mediajobs.hooks.vozo import VozoHook

HOOKS: dict[str, type[MediaJobHook]] = {
    hook.provider: hook for hook in (GoEnhanceHook, TensorArtHook, VozoHook, TensorPixHook)
}


def hook_class(provider: str) -> type[MediaJobHook]:
    """The hook class of a provider / connection type."""
    try:
        return HOOKS[provider]
    except KeyError:
        raise MediaJobConfigError(
            f"Unknown media-job provider {provider!r}; expected one of {sorted(HOOKS)}."
        ) from None


__all__ = [
    "HOOKS",
    "GoEnhanceHook",
    "MediaJobHook",
    "TensorArtHook",
    "TensorPixHook",
    "VozoHook",
    "hook_class",
]
