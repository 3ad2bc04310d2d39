"""The emulated providers, by name."""

from __future__ import annotations

from .base import Provider
from .goenhance import GoEnhance
from .tensorart import TensorArt
from .tensorpix import TensorPix
from .vozo import Vozo


def all_providers() -> dict[str, Provider]:
    providers: list[Provider] = [GoEnhance(), TensorArt(), Vozo(), TensorPix()]
    return {p.name: p for p in providers}


__all__ = ["Provider", "all_providers"]
