"""The wait and persist arguments, declared once (``TaskWaitMixin``, ``PersistsOutputs``), reach
every operator the way Airflow passes arguments: ``default_args``, ``partial``/``expand`` (which
read the ``__init__`` signatures along the class hierarchy) and a serialized DAG. The submit
operators derived from the registry import by module path like the hand-written classes did."""

from __future__ import annotations

import importlib
from datetime import datetime

import pytest
from airflow.sdk import DAG

from airflow_provider_mediajobs.dialects.registry import BUILTIN, get_dialect
from airflow_provider_mediajobs.operators import MediaJobOutputsOperator, TensorArtSubmitJobOperator
from airflow_provider_mediajobs.sensors import VozoJobSensor


def test_default_args_reach_the_declared_once_arguments() -> None:
    defaults = {"allow_private_hosts": True, "download_timeout": 42.0, "poll_interval": 3.0}
    with DAG("args", start_date=datetime(2026, 1, 1), schedule=None, default_args=defaults):
        submit = TensorArtSubmitJobOperator(task_id="s", payload={"stages": []}, destination="/tmp/x")
        sensor = VozoJobSensor(task_id="w", job_id="1")
        outputs = MediaJobOutputsOperator(task_id="o", job_id="1", provider="vozo", destination="/tmp/y")
    for task in (submit, sensor, outputs):
        assert (task.allow_private_hosts, task.download_timeout) == (True, 42.0)
    assert (submit.poll_interval, sensor.poll_interval, sensor.poke_interval) == (3.0, 3.0, 3.0)
    assert submit.conn_id == "tensorart_default" and sensor.conn_id == "vozo_default"


def test_partial_and_expand_take_them_and_refuse_unknown_ones() -> None:
    with DAG("mapped", start_date=datetime(2026, 1, 1), schedule=None):
        TensorArtSubmitJobOperator.partial(task_id="m", destination="/tmp/m", max_bytes=10).expand(
            payload=[{"stages": []}]
        )
        with pytest.raises(TypeError, match="download_timout"):
            TensorArtSubmitJobOperator.partial(task_id="bad", download_timout=1)


def test_a_bad_persist_argument_fails_when_the_dag_is_parsed() -> None:
    from airflow_provider_mediajobs.exceptions import MediaJobConfigError

    with pytest.raises(MediaJobConfigError, match="max_bytes"):
        VozoJobSensor(task_id="w", job_id="1", max_bytes=-1)


def test_serialized_dag_keeps_the_derived_classes() -> None:
    try:
        from airflow.serialization.serialized_objects import DagSerialization
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serialized_objects import SerializedDAG as DagSerialization

    with DAG("ser", start_date=datetime(2026, 1, 1), schedule=None) as dag:
        TensorArtSubmitJobOperator(task_id="s", payload={"stages": []}, destination="/tmp/x")
    task = DagSerialization.from_dict(DagSerialization.to_dict(dag)).get_task("s")
    assert task.task_type == "TensorArtSubmitJobOperator"
    assert task._task_module == "airflow_provider_mediajobs.operators.submit"
    assert "destination" in task.template_fields


@pytest.mark.parametrize("spec", BUILTIN, ids=[spec.name for spec in BUILTIN])
def test_every_provider_has_a_submit_operator_documented_from_its_dialect(spec) -> None:
    name = f"{spec.class_prefix}SubmitJobOperator"
    cls = getattr(importlib.import_module("airflow_provider_mediajobs.operators.submit"), name)
    assert (cls.__module__, cls.__qualname__, cls.default_provider) == (
        "airflow_provider_mediajobs.operators.submit",
        name,
        spec.name,
    )
    assert name in importlib.import_module("airflow_provider_mediajobs.operators").__all__
    doc = cls.__doc__ or ""
    for kind in spec.job_kinds:
        assert f'``job_kind="{kind}"``' in doc
        for field in get_dialect(spec.name).create_fields.get(kind, ()):
            assert f"``{field}``" in doc
