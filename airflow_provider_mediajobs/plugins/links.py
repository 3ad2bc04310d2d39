"""The "Media" extra link: from a media task to its Media tab in the Airflow UI.

The URL is computed from the task instance key alone (no XCom read, no job state), so Airflow's
worker records it for every try that ends, deferred and failed ones included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

TASK_VIEW_ROUTE = "media"  # the url_route of the task-instance view (plugin.py)
RUN_VIEW_ROUTE = "media-run"


def ui_base_url() -> str:
    """``[api] base_url`` without its trailing slash ("" when unset: links stay relative)."""
    conf: Any
    try:
        from airflow.sdk import conf
    except ImportError:  # Airflow 3.1
        from airflow.configuration import conf
    return str(conf.get("api", "base_url", fallback="") or "").rstrip("/")


def _q(value: Any) -> str:
    return quote(str(value), safe="")


def task_instance_url(
    dag_id: str, run_id: str, task_id: str, map_index: int = -1, base: str | None = None
) -> str:
    """The UI URL of one task instance (its page opens on the log)."""
    base = ui_base_url() if base is None else base
    url = f"{base}/dags/{_q(dag_id)}/runs/{_q(run_id)}/tasks/{_q(task_id)}"
    if map_index is not None and int(map_index) >= 0:
        url += f"/mapped/{int(map_index)}"
    return url


def task_log_url(
    dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int, base: str | None = None
) -> str:
    """The UI URL of one try's log of a task instance."""
    return f"{task_instance_url(dag_id, run_id, task_id, map_index, base)}?try_number={int(try_number)}"


def task_view_url(
    dag_id: str, run_id: str, task_id: str, map_index: int = -1, base: str | None = None
) -> str:
    """The UI URL of one task instance's Media tab."""
    return f"{task_instance_url(dag_id, run_id, task_id, map_index, base)}/plugin/{TASK_VIEW_ROUTE}"


def run_view_url(dag_id: str, run_id: str, base: str | None = None) -> str:
    """The UI URL of a DAG run's Media tab (the gallery of its media tasks)."""
    base = ui_base_url() if base is None else base
    return f"{base}/dags/{_q(dag_id)}/runs/{_q(run_id)}/plugin/{RUN_VIEW_ROUTE}"


class MediaLink(BaseOperatorLink):
    """Opens the task's Media view: job state, progress, cost and the images / videos it made."""

    name = "Media"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        return task_view_url(ti_key.dag_id, ti_key.run_id, ti_key.task_id, getattr(ti_key, "map_index", -1))


__all__ = ["MediaLink", "run_view_url", "task_instance_url", "task_log_url", "task_view_url", "ui_base_url"]
