"""The Airflow plugin (3.1+): the Media view's FastAPI app and its two UI entry points.

Registered through ``get_provider_info()["plugins"]``. The views are ``external_views`` with a
``url_route``, so the UI shows them as a "Media" tab of every task instance and DAG run, in an
iframe of the plugin's pages (same origin: the user's Airflow session authenticates them).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_mediajobs.plugins.links import RUN_VIEW_ROUTE, TASK_VIEW_ROUTE, ui_base_url

URL_PREFIX = "/mediajobs"


class LazyApp:
    """The ASGI app the plugin registers; it builds the FastAPI app on its first request.

    Airflow loads plugins in every component; only the API server serves requests, so only it
    imports FastAPI, the API server's security dependencies and the models.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_provider_mediajobs.plugins.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


def _href_root() -> str:
    """Path of the plugin's pages, below ``[api] base_url``'s path for a non-root deployment."""
    path = urlsplit(ui_base_url()).path.rstrip("/")
    return f"{path}{URL_PREFIX}"


def _views() -> list[dict[str, Any]]:
    root = _href_root()
    return [
        {
            "name": "Media",
            "href": f"{root}/dags/{{DAG_ID}}/runs/{{RUN_ID}}/tasks/{{TASK_ID}}?map_index={{MAP_INDEX}}",
            "destination": "task_instance",
            "url_route": TASK_VIEW_ROUTE,
        },
        {
            "name": "Media",
            "href": f"{root}/dags/{{DAG_ID}}/runs/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": RUN_VIEW_ROUTE,
        },
    ]


class MediaJobsPlugin(AirflowPlugin):
    """Media view of media-job tasks: outputs, job state, progress, cost."""

    name = "mediajobs"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "Media Jobs: Media view"}]
    external_views = _views()
