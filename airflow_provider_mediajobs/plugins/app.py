"""The plugin's FastAPI app, mounted by the API server under ``/mediajobs``.

Every route asks Airflow's auth manager first: an authenticated user (401 otherwise) with read
access to the DAG's runs and XComs (403 otherwise). Files are addressed by task instance and an
index into what the outputs operator recorded, never by a path.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from airflow_provider_mediajobs.engine.urls import csp_source
from airflow_provider_mediajobs.plugins import card_html, files, pages, store
from airflow_provider_mediajobs.plugins.cards import JobCard, job_cards
from airflow_provider_mediajobs.plugins.links import (
    task_instance_url,
    task_log_url,
    ui_base_url,
)
from airflow_provider_mediajobs.plugins.records import PERSISTED, MediaItem, TaskMedia

_STATIC = {"media-view.css": "text/css; charset=utf-8", "media-view.js": "text/javascript; charset=utf-8"}


def _page_headers(external: set[str]) -> dict[str, str]:
    sources = " ".join(["'self'", *sorted(external)])
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {sources}; "
            f"media-src {sources}; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
    }


def _origins(tasks: list[TaskMedia]) -> set[str]:
    """Origins of the provider URLs on a page: the only outside sources its CSP allows, each
    built by the URL policy from the parsed scheme, host (IDNA, ASCII) and port; a URL it refuses
    adds nothing."""
    found = set()
    for task in tasks:
        # the job's input media (thumbnails, the before/after compare) load from outside too
        urls = [i.url for i in task.items if i.source != PERSISTED] + [m[1] for m in task.inputs.media]
        for url in urls:
            if source := csp_source(url):
                found.add(source)
    return found


def _map_index(raw: str | None) -> int:
    """The UI fills ``{MAP_INDEX}`` only for mapped tasks; anything else means not mapped (-1)."""
    try:
        return int(raw) if raw is not None else -1
    except ValueError:
        return -1


def _of_task(cards: list[JobCard], task_id: str, map_index: int) -> list[JobCard]:
    """The cards a task instance belongs to (every map index of the task when ``map_index`` is -1)."""
    return [
        c
        for c in cards
        if any(t.task_id == task_id and (map_index < 0 or t.map_index in (map_index, -1)) for t in c.tasks)
    ]


def _q(value: Any) -> str:
    return quote(str(value), safe="")


def create_app() -> FastAPI:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import get_user, requires_access_dag

    read_runs = [
        Depends(requires_access_dag("GET", DagAccessEntity.RUN)),
        Depends(requires_access_dag("GET", DagAccessEntity.XCOM)),
    ]
    app = FastAPI(title="Media Jobs: Media view", docs_url=None, redoc_url=None, openapi_url=None)

    def links_for(request: Request, dag_id: str, run_id: str) -> card_html.Links:
        root = request.scope.get("root_path", "")
        base = ui_base_url()

        def file_url(task: TaskMedia, item: MediaItem) -> str:
            return (
                f"{root}/dags/{_q(dag_id)}/runs/{_q(run_id)}/tasks/{_q(task.task_id)}/files/{item.index}"
                f"?map_index={task.map_index}"
            )

        return card_html.Links(
            file=file_url,
            task=lambda t: task_instance_url(dag_id, run_id, t.task_id, t.map_index, base=base),
            log=lambda t, n: task_log_url(dag_id, run_id, t.task_id, t.map_index, n, base=base),
        )

    def static_root(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}/static"

    # a dependency, not a parameter annotation: under ``from __future__ import annotations`` a
    # locally imported ``GetUserDep`` is unresolvable and FastAPI would read ``user`` as a query
    @app.get("/static/{name}", include_in_schema=False, dependencies=[Depends(get_user)])
    def static(name: str) -> Response:
        if name not in _STATIC:
            raise HTTPException(404, "Not found")
        body = resources.files("airflow_provider_mediajobs.plugins").joinpath("static", name).read_bytes()
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"}
        return Response(body, media_type=_STATIC[name], headers=headers)

    @app.get("/dags/{dag_id}/runs/{run_id}", dependencies=read_runs, response_class=HTMLResponse)
    def run_view(dag_id: str, run_id: str, request: Request) -> HTMLResponse:
        tasks = store.load(dag_id, run_id)
        cards = job_cards(tasks, store.upstream_of(dag_id))
        html = pages.run_page(dag_id, run_id, cards, links_for(request, dag_id, run_id), static_root(request))
        return HTMLResponse(html, headers=_page_headers(_origins(tasks)))

    @app.get(
        "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", dependencies=read_runs, response_class=HTMLResponse
    )
    def task_view(
        dag_id: str, run_id: str, task_id: str, request: Request, map_index: str | None = None
    ) -> HTMLResponse:
        # the whole run: the task's job card also holds the other task of the same job
        tasks = store.load(dag_id, run_id)
        cards = _of_task(job_cards(tasks, store.upstream_of(dag_id)), task_id, _map_index(map_index))
        shown = [t for c in cards for t in c.tasks]
        html = pages.task_page(
            dag_id, task_id, cards, links_for(request, dag_id, run_id), static_root(request)
        )
        return HTMLResponse(html, headers=_page_headers(_origins(shown)))

    @app.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/files/{index}", dependencies=read_runs)
    def file(
        dag_id: str,
        run_id: str,
        task_id: str,
        index: int,
        request: Request,
        map_index: str | None = None,
        download: bool = False,
    ) -> Response:
        found = store.load(dag_id, run_id, task_id, _map_index(map_index))
        persisted = found[0].persisted if found else ()
        if not 0 <= index < len(persisted):
            raise HTTPException(404, "No persisted output with this index")
        item = persisted[index]
        try:
            opened = files.open_recorded(item)
            span = files.parse_range(request.headers.get("range"), opened.size)
        except files.FileProblem as problem:
            headers = dict(files.FILE_HEADERS)
            if problem.status == 416:
                headers["Content-Range"] = f"bytes */{item.bytes or 0}"
            return Response(
                str(problem), status_code=problem.status, media_type="text/plain", headers=headers
            )
        headers = {
            **files.FILE_HEADERS,
            "Accept-Ranges": "bytes",
            "Content-Disposition": files.disposition(item, download=download),
            # keeps the API server's GZipMiddleware off the bytes (Starlette < 1 compresses video
            # streams too, dropping Content-Length and breaking byte ranges)
            "Content-Encoding": "identity",
        }
        start, end = span if span else (0, opened.size - 1)
        headers["Content-Length"] = str(max(0, end - start + 1))
        status = 200
        if span:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{opened.size}"
        if request.method == "HEAD" or opened.size == 0:
            return Response(b"", status_code=status, media_type=files.served_type(item), headers=headers)
        return StreamingResponse(
            files.stream(opened, start, end),
            status_code=status,
            media_type=files.served_type(item),
            headers=headers,
        )

    return app
