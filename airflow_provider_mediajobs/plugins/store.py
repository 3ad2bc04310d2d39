"""Reads a run's task instances and their media XComs from Airflow's metadata database.

Runs in the API server (the plugin's routes); the one place the plugin touches Airflow's models.
One query per table for the whole run (a run of 200 mapped jobs is a few hundred rows).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_mediajobs.plugins.records import TaskMedia, task_media

log = logging.getLogger(__name__)
MEDIA_KEYS = ("return_value", "job_id", "job", "media_inputs", "media_job")
TRIES_KEY = "mediajobs_tries"  # task_records.TRIES_KEY (not imported: the API server needs no engine)


def _tries(session: Any, dag_id: str, run_id: str, task_id: str | None) -> dict[tuple[str, int], list[Any]]:
    """Each task's tries from the task state store (Airflow 3.3+; nothing on 3.1)."""
    try:
        from airflow.models.task_state_store import TaskStateStoreModel
    except ImportError:
        return {}
    from sqlalchemy import select

    query = select(TaskStateStoreModel).where(
        TaskStateStoreModel.dag_id == dag_id,
        TaskStateStoreModel.run_id == run_id,
        TaskStateStoreModel.key == TRIES_KEY,
    )
    if task_id is not None:
        query = query.where(TaskStateStoreModel.task_id == task_id)
    found = {}
    for row in session.scalars(query):
        try:
            value = json.loads(row.value)
        except (TypeError, ValueError):
            continue
        if isinstance(value, list):
            found[(row.task_id, row.map_index)] = value
    return found


def upstream_of(dag_id: str) -> Callable[[str], Iterable[str]]:
    """``task_id -> upstream task ids`` of the DAG's latest serialized version (read when first asked)."""
    dag: Any = None

    def upstream(task_id: str) -> Iterable[str]:
        nonlocal dag
        if dag is None:
            from airflow.models.serialized_dag import SerializedDagModel
            from airflow.utils.session import create_session

            with create_session() as session:
                dag = SerializedDagModel.get_dag(dag_id, session=session) or False
        task = dag.task_dict.get(task_id) if dag else None
        return sorted(task.upstream_task_ids) if task is not None else ()

    return upstream


def load(
    dag_id: str, run_id: str, task_id: str | None = None, map_index: int | None = None
) -> list[TaskMedia]:
    """Media tasks of a run (of one task instance when ``task_id`` is given); the others are left out."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    ti_ = TaskInstance
    with create_session() as session:
        # columns, not ORM objects: a run of 200 mapped jobs is 400 task instances
        tis = select(
            ti_.task_id, ti_.map_index, ti_.state, ti_.operator, ti_.start_date, ti_.end_date, ti_.try_number
        ).where(ti_.dag_id == dag_id, ti_.run_id == run_id)
        xcoms = select(XComModel.task_id, XComModel.map_index, XComModel.key, XComModel.value).where(
            XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key.in_(MEDIA_KEYS)
        )
        if task_id is not None:
            tis = tis.where(ti_.task_id == task_id)
            xcoms = xcoms.where(XComModel.task_id == task_id)
            if map_index is not None:
                tis = tis.where(ti_.map_index == map_index)
                xcoms = xcoms.where(XComModel.map_index == map_index)
        values: dict[tuple[str, int], dict[str, Any]] = {}
        for row in session.execute(xcoms):
            try:
                value = XComModel.deserialize_value(row)
            except Exception as err:  # an XCom this view cannot read is left out, not fatal
                log.warning(
                    "Media view: XCom %s of %s/%s unreadable (%s)",
                    row.key,
                    dag_id,
                    row.task_id,
                    type(err).__name__,
                )
                continue
            values.setdefault((row.task_id, row.map_index), {})[row.key] = value
        tries = _tries(session, dag_id, run_id, task_id)
        found = []
        for ti in session.execute(tis):
            state = getattr(ti.state, "value", ti.state)
            media = task_media(
                ti.task_id,
                ti.map_index,
                None if state is None else str(state),
                ti.operator,
                values.get((ti.task_id, ti.map_index), {}),
                started=ti.start_date,
                ended=ti.end_date,
                try_number=int(ti.try_number or 0),
                tries=tries.get((ti.task_id, ti.map_index), ()),
            )
            if media is not None:
                found.append(media)
        return found
