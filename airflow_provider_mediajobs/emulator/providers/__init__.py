"""The emulated providers, derived from the dialect registry: one per registered provider whose
``ProviderSpec.emulator`` names a :class:`Provider` class, in registry order."""

from __future__ import annotations

import importlib

from airflow_provider_mediajobs.dialects import registry

from .base import Provider


def all_providers() -> dict[str, Provider]:
    """A fresh provider table (one instance per provider), read from the registry now."""
    table: dict[str, Provider] = {}
    for spec in registry.specs():
        if not spec.emulator:
            continue
        module, _, attr = spec.emulator.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        if not (isinstance(cls, type) and issubclass(cls, Provider)):
            raise TypeError(f"{spec.name}: emulator {spec.emulator!r} is not a Provider subclass")
        table[spec.name] = cls(spec.name)
    return table


__all__ = ["Provider", "all_providers"]
