"""Operators: submit a media job and wait for it, persisting its outputs when given a destination
(:mod:`.submit`: :class:`MediaJobSubmitOperator` and one per built-in provider, made from its
registry line); persist the outputs of a job started elsewhere (:mod:`.outputs`). The one persist
step both use is :mod:`.persist`; the arguments that configure it, :mod:`.persist_options`.

The classes load on first use (PEP 562), so a sensor importing :mod:`.persist_options` does not pull in
every operator (and the waiting code the submit operators share with it).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from airflow_provider_mediajobs.dialects.registry import BUILTIN, SUBMIT_SUFFIX

if TYPE_CHECKING:
    from airflow_provider_mediajobs.operators.outputs import (
        MediaJobOutputsOperator as MediaJobOutputsOperator,
    )
    from airflow_provider_mediajobs.operators.submit import MediaJobSubmitOperator as MediaJobSubmitOperator

_MODULE_OF = {
    "MediaJobOutputsOperator": "outputs",
    "MediaJobSubmitOperator": "submit",
    # the names operators.submit makes from the registry (convenience_classes)
    **{f"{spec.class_prefix}{SUBMIT_SUFFIX}": "submit" for spec in BUILTIN},
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = sorted(_MODULE_OF)
