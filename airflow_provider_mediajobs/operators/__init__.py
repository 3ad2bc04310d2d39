"""Operators: submit a media job and wait for it (:mod:`.submit`: the generic operator and one per
built-in provider, made from its registry line); persist a finished job's outputs (:mod:`.outputs`,
whose download engine loads only when such a task runs)."""

from __future__ import annotations

from airflow_provider_mediajobs.operators import submit
from airflow_provider_mediajobs.operators.outputs import MediaJobOutputsOperator

globals().update({name: getattr(submit, name) for name in submit.__all__})

__all__ = ["MediaJobOutputsOperator", *submit.__all__]
