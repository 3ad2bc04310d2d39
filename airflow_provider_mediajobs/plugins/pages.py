"""HTML of the Media view, built server-side with every value escaped.

No value from XCom, a provider or a request reaches the page unescaped, and the page's script
(``static/media-view.js``) only ever sets ``textContent``. Ids stay the strings they are in XCom
(a 64-bit id is never read as a JavaScript number).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from html import escape
from typing import Any

from airflow_provider_mediajobs.engine.urls import shown_url, strip_signed
from airflow_provider_mediajobs.plugins.records import PERSISTED, MediaItem, TaskMedia

FileUrl = Callable[[TaskMedia, MediaItem], str]


def escaped(value: Any) -> str:
    """``value`` as HTML text or attribute content (None: empty)."""
    return escape("" if value is None else str(value), quote=True)


def human_bytes(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else (f"{minutes}m {secs:02d}s" if minutes else f"{secs}s")


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def page(title: str, body: str, static: str) -> str:
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escaped(title)}</title>"
        f"<link rel='stylesheet' href='{escaped(static)}/media-view.css'>"
        f"<script src='{escaped(static)}/media-view.js' defer></script>"
        f"</head><body><main>{body}</main></body></html>"
    )


def _facts(task: TaskMedia) -> str:
    job = task.job or {}
    rows: list[tuple[str, str, str]] = []
    if task.provider:
        rows.append(("Provider", task.provider, "provider"))
    if task.job_id is not None:
        rows.append(("Job id", task.job_id, "job-id"))
    if job.get("job_kind"):
        rows.append(("Job kind", str(job["job_kind"]), "job-kind"))
    if job.get("state"):
        state = str(job["state"])
        if job.get("provider_status") is not None and str(job["provider_status"]) != state:
            state += f" (provider status {job['provider_status']})"
        rows.append(("Job state", state, "job-state"))
    if isinstance(job.get("progress"), (int, float)):
        rows.append(("Progress", f"{float(job['progress']):.0%}", "progress"))
    wait: dict[str, Any] = job["wait"] if isinstance(job.get("wait"), dict) else {}
    if isinstance(wait.get("waited_seconds"), (int, float)):
        calls = wait.get("status_calls")
        text = _duration(float(wait["waited_seconds"])) + (
            f", {calls} status calls" if calls is not None else ""
        )
        rows.append(("Wait", text, "wait"))
    if job.get("cost") is not None:
        rows.append(("Cost", f"{job['cost']} {job.get('cost_unit') or ''}".strip(), "cost"))
    if job.get("error"):
        rows.append(("Provider's reason", strip_signed(str(job["error"])), "error"))
    rows.append(("Task state", task.ti_state or "unknown", "ti-state"))
    if task.operator:
        rows.append(("Operator", task.operator, "operator"))
    files = task.persisted
    if files:
        total = sum(i.bytes or 0 for i in files)
        rows.append(("Persisted", f"{len(files)} file(s), {human_bytes(total)}", "persisted"))
    cells = "".join(
        f"<dt>{escaped(label)}</dt><dd class='{escaped(cls)}'>{escaped(value)}</dd>"
        for label, value, cls in rows
    )
    return f"<dl class='facts'>{cells}</dl>"


def _player(item: MediaItem, src: str) -> str:
    if item.kind == "image":
        return (
            f"<a class='open' href='{escaped(src)}' target='_blank' rel='noopener noreferrer'>"
            f"<img class='thumb' src='{escaped(src)}' alt='{escaped(item.name)}' loading='lazy'></a>"
        )
    if item.kind == "video":
        return f"<video class='player' controls preload='metadata' src='{escaped(src)}'></video>"
    if item.kind == "audio":
        return f"<audio class='player' controls preload='metadata' src='{escaped(src)}'></audio>"
    return f"<a class='download' href='{escaped(src)}' download='{escaped(item.name)}'>Download {escaped(item.name)}</a>"


def _item(task: TaskMedia, item: MediaItem, file_url: FileUrl, now: datetime) -> str:
    attrs = f"class='item kind-{escaped(item.kind)} source-{escaped(item.source)}' data-index='{item.index}'"
    if item.source == PERSISTED:
        src = file_url(task, item)
        caption = (
            f"<span class='name'>{escaped(item.name)}</span> "
            f"<span class='size'>{escaped(human_bytes(item.bytes))}</span> "
            f"<span class='ctype'>{escaped(item.content_type)}</span>"
            f"<code class='path'>{escaped(item.path)}</code>"
            f"<code class='sha256' title='sha256'>sha256 {escaped(item.sha256)}</code>"
        )
        return f"<figure {attrs}>{_player(item, src)}<figcaption>{caption}</figcaption></figure>"
    url = item.url or ""
    if item.expired(now):
        assert item.expires_at is not None
        return (
            f"<figure {attrs} data-state='expired'><p class='expired'>Expired at {escaped(_iso(item.expires_at))}: "
            "the provider's signed URL no longer works. Persist outputs with MediaJobOutputsOperator "
            f"to keep them viewable.</p><figcaption><span class='name'>{escaped(item.name)}</span>"
            f"<code class='path'>{escaped(shown_url(url))}</code></figcaption></figure>"
        )
    expiry = ""
    if item.expires_at is not None:
        left = (item.expires_at - now).total_seconds()
        expiry = (
            f"<span class='expiry' data-expires='{escaped(_iso(item.expires_at))}'>provider URL, expires "
            f"{escaped(_iso(item.expires_at))} (in {escaped(_duration(left))})</span>"
        )
    else:
        expiry = "<span class='expiry'>provider URL, no expiry given</span>"
    return (
        f"<figure {attrs} data-state='valid'>{_player(item, url)}<figcaption>"
        f"<span class='name'>{escaped(item.name)}</span> {expiry}</figcaption></figure>"
    )


def task_section(
    task: TaskMedia, file_url: FileUrl, title_href: str | None = None, now: datetime | None = None
) -> str:
    now = now or datetime.now(timezone.utc)
    label = task.task_id + (f" [{task.map_index}]" if task.map_index >= 0 else "")
    title = (
        f"<a href='{escaped(title_href)}' target='_top'>{escaped(label)}</a>"
        if title_href
        else escaped(label)
    )
    state = escaped(task.ti_state or "unknown")
    head = (
        f"<header><h2 class='task-id'>{title}</h2><span class='state state-{state}'>{state}</span></header>"
    )
    if task.items:
        media = "".join(_item(task, item, file_url, now) for item in task.items)
    elif task.ti_state in ("failed", "upstream_failed"):
        media = "<p class='none'>No outputs: the task failed (the provider's reason is in the task log).</p>"
    else:
        media = "<p class='none'>No outputs recorded yet.</p>"
    return (
        f"<section class='task' data-task-id='{escaped(task.task_id)}' data-state='{state}'>{head}"
        f"{_facts(task)}<div class='media'>{media}</div></section>"
    )


def task_page(dag_id: str, run_id: str, task: TaskMedia | None, file_url: FileUrl, static: str) -> str:
    if task is None:
        body = "<p class='none'>This task records no media job output.</p>"
    else:
        body = task_section(task, file_url)
    return page(f"Media - {dag_id} / {task.task_id if task else ''}", body, static)


def run_page(
    dag_id: str,
    run_id: str,
    tasks: Sequence[TaskMedia],
    file_url: FileUrl,
    task_href: Callable[[TaskMedia], str],
    static: str,
) -> str:
    failed = sum(t.ti_state == "failed" for t in tasks)
    files = sum(len(t.items) for t in tasks)
    head = (
        f"<header class='run'><h1>Media of run <span class='run-id'>{escaped(run_id)}</span></h1>"
        f"<p class='summary'>{len(tasks)} media task(s), {files} output(s), {failed} failed</p></header>"
    )
    if not tasks:
        return page(f"Media - {dag_id}", head + "<p class='none'>No media tasks in this run.</p>", static)
    cards = "".join(task_section(t, file_url, task_href(t)) for t in tasks)
    return page(f"Media - {dag_id} / {run_id}", f"{head}<div class='gallery'>{cards}</div>", static)
