"""Apache Airflow provider for AI media jobs: GoEnhance, TensorArt TAMS, Vozo and TensorPix."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
