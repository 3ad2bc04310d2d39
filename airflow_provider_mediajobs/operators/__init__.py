"""Operators: submit a media job and wait for it; persist a finished job's outputs.

Loaded on first use (PEP 562), so a DAG file importing a submit operator does not also import the
outputs operator and its download engine while the DAG is parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_mediajobs.operators.outputs import MediaJobOutputsOperator
    from airflow_provider_mediajobs.operators.submit import (
        GoEnhanceSubmitJobOperator,
        MediaJobSubmitOperator,
        TensorArtSubmitJobOperator,
        TensorPixSubmitJobOperator,
        VozoSubmitJobOperator,
    )

__all__ = [
    "GoEnhanceSubmitJobOperator",
    "MediaJobOutputsOperator",
    "MediaJobSubmitOperator",
    "TensorArtSubmitJobOperator",
    "TensorPixSubmitJobOperator",
    "VozoSubmitJobOperator",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = "outputs" if name == "MediaJobOutputsOperator" else "submit"
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
