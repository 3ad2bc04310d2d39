"""Offline emulator of the GoEnhance, TensorArt TAMS, Vozo and TensorPix job APIs (see docs/emulator.md).

It shares no code with the client side of this package: it is written from the providers' documents.
"""

from __future__ import annotations

from .server import Emulator

__all__ = ["Emulator"]
