"""Operators: submit a media job and wait for it, persisting its outputs when given a destination
(:mod:`.submit`); persist the outputs of a job started elsewhere (:mod:`.outputs`). The one persist
step both use is :mod:`.persist`.

The classes load on first use (PEP 562), so a sensor importing :mod:`.persist` does not pull in
every operator (and the waiting code the submit operators share with it).
"""

from __future__ import annotations

from importlib import import_module
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

_MODULE_OF = {
    "MediaJobOutputsOperator": "outputs",
    "GoEnhanceSubmitJobOperator": "submit",
    "MediaJobSubmitOperator": "submit",
    "TensorArtSubmitJobOperator": "submit",
    "TensorPixSubmitJobOperator": "submit",
    "VozoSubmitJobOperator": "submit",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = [
    "GoEnhanceSubmitJobOperator",
    "MediaJobOutputsOperator",
    "MediaJobSubmitOperator",
    "TensorArtSubmitJobOperator",
    "TensorPixSubmitJobOperator",
    "VozoSubmitJobOperator",
]
