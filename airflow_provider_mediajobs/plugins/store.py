"""Reads a run's task instances and their media XComs from Airflow's metadata database.

Runs in the API server (the plugin's routes); the one place the plugin touches Airflow's models.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_mediajobs.plugins.records import TaskMedia, task_media

log = logging.getLogger(__name__)
MEDIA_KEYS = ("return_value", "job_id")


def load(
    dag_id: str, run_id: str, task_id: str | None = None, map_index: int | None = None
) -> list[TaskMedia]:
    """Media tasks of a run (of one task instance when ``task_id`` is given); the others are left out."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        xcoms = select(XComModel).where(
            XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key.in_(MEDIA_KEYS)
        )
        if task_id is not None:
            tis = tis.where(TaskInstance.task_id == task_id)
            xcoms = xcoms.where(XComModel.task_id == task_id)
            if map_index is not None:
                tis = tis.where(TaskInstance.map_index == map_index)
                xcoms = xcoms.where(XComModel.map_index == map_index)
        values: dict[tuple[str, int], dict[str, Any]] = {}
        for row in session.scalars(xcoms):
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
        found = []
        for ti in session.scalars(tis):
            state = getattr(ti.state, "value", ti.state)
            media = task_media(
                ti.task_id,
                ti.map_index,
                None if state is None else str(state),
                ti.operator,
                values.get((ti.task_id, ti.map_index), {}),
                started=ti.start_date,
                ended=ti.end_date,
            )
            if media is not None:
                found.append(media)
        return found
