"""HTML of one job card of the Media view (its facts, inputs beside outputs, a before/after
compare, failures explained, downloads), built server-side with every value escaped.

No value from XCom, a provider or a request reaches the page unescaped, and the page's script
(``static/media-view.js``) only ever sets ``textContent``, classes and properties. Ids stay the
strings they are in XCom (a 64-bit id is never read as a JavaScript number).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any

from airflow_provider_mediajobs.engine.urls import shown_url, strip_signed
from airflow_provider_mediajobs.formatting import duration
from airflow_provider_mediajobs.plugins.cards import JobCard
from airflow_provider_mediajobs.plugins.records import PERSISTED, MediaItem, TaskMedia

FileUrl = Callable[[TaskMedia, MediaItem], str]
HINT = "Persist outputs with MediaJobOutputsOperator to keep them viewable."


@dataclass(frozen=True)
class Links:
    """The URLs a page points at: the plugin's file route and the Airflow UI's pages."""

    file: FileUrl
    task: Callable[[TaskMedia], str]  # the task instance in the Airflow UI
    log: Callable[[TaskMedia, int], str]  # the task's log of one try in the Airflow UI


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


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cost_text(job: Any) -> str | None:
    if not isinstance(job, dict) and not hasattr(job, "get"):
        return None
    if job.get("cost") is None:
        return None
    return f"{job['cost']} {job.get('cost_unit') or ''}".strip()


# ---- one output ------------------------------------------------------------------------------------
def _player(item: MediaItem, src: str, lazy_video: bool = False) -> str:
    if item.kind == "image":
        return (
            f"<a class='open' href='{escaped(src)}' target='_blank' rel='noopener noreferrer'>"
            f"<img class='thumb' src='{escaped(src)}' alt='{escaped(item.name)}' loading='lazy'></a>"
        )
    if item.kind == "video":
        preload = "none" if lazy_video else "metadata"
        return f"<video class='player' controls preload='{preload}' src='{escaped(src)}'></video>"
    if item.kind == "audio":
        return f"<audio class='player' controls preload='none' src='{escaped(src)}'></audio>"
    return f"<span class='other'>{escaped(item.content_type)}</span>"


def download_url(src: str) -> str:
    """The file route asked for an attachment (``download=1``) instead of inline."""
    return src + ("&" if "?" in src else "?") + "download=1"


def _download(src: str, item: MediaItem) -> str:
    return (
        f"<a class='download' href='{escaped(download_url(src))}' download='{escaped(item.name)}'>"
        f"Download {escaped(item.name)}</a>"
    )


def _item_attrs(item: MediaItem) -> str:
    """An output's figure attributes: its kind and source (the page's filters) and its index."""
    return f"class='item kind-{escaped(item.kind)} source-{escaped(item.source)}' data-index='{item.index}'"


def _persisted(task: TaskMedia, item: MediaItem, links: Links) -> str:
    src = links.file(task, item)
    attrs = _item_attrs(item)
    caption = (
        f"<span class='name'>{escaped(item.name)}</span> "
        f"<span class='size'>{escaped(human_bytes(item.bytes))}</span> "
        f"<span class='ctype'>{escaped(item.content_type)}</span>"
        f"{_download(src, item)}"
        f"<code class='path'>{escaped(item.path)}</code>"
        f"<code class='sha256' title='sha256'>sha256 {escaped(item.sha256)}</code>"
    )
    return f"<figure {attrs}>{_player(item, src)}<figcaption>{caption}</figcaption></figure>"


def _provider(item: MediaItem, now: datetime) -> str:
    attrs = _item_attrs(item)
    url = item.url or ""
    if item.expired(now):
        assert item.expires_at is not None
        return (
            f"<figure {attrs} data-state='expired'><p class='expired'>Expired at {escaped(_iso(item.expires_at))}: "
            f"the provider's signed URL no longer works. {HINT}</p><figcaption>"
            f"<span class='name'>{escaped(item.name)}</span>"
            f"<code class='path'>{escaped(shown_url(url))}</code></figcaption></figure>"
        )
    if item.expires_at is not None:
        left = (item.expires_at - now).total_seconds()
        expiry = (
            f"<span class='expiry' data-expires='{escaped(_iso(item.expires_at))}'>provider URL, expires "
            f"{escaped(_iso(item.expires_at))} (in {escaped(duration(left))})</span>"
        )
    else:
        expiry = "<span class='expiry'>provider URL, no expiry given</span>"
    return (
        f"<figure {attrs} data-state='valid'>{_player(item, url)}<figcaption>"
        f"<span class='name'>{escaped(item.name)}</span> {expiry}</figcaption></figure>"
    )


def item_html(task: TaskMedia, item: MediaItem, links: Links, now: datetime) -> str:
    return _persisted(task, item, links) if item.source == PERSISTED else _provider(item, now)


# ---- a card's parts --------------------------------------------------------------------------------
def _facts(card: JobCard) -> str:
    job = card.job
    rows: list[tuple[str, str, str]] = []
    if card.provider:
        rows.append(("Provider", card.provider, "provider"))
    if card.job_id is not None:
        rows.append(("Job id", card.job_id, "job-id"))
    if job.get("job_kind"):
        rows.append(("Job kind", str(job["job_kind"]), "job-kind"))
    state = card.state
    if job.get("provider_status") is not None and str(job["provider_status"]) != state:
        state += f" (provider status {job['provider_status']})"
    rows.append(("Job state", state, "job-state"))
    if isinstance(job.get("progress"), (int, float)) and job.get("state") != "succeeded":
        rows.append(("Progress", f"{float(job['progress']):.0%}", "progress"))
    wait: dict[str, Any] = job["wait"] if isinstance(job.get("wait"), dict) else {}
    if isinstance(wait.get("waited_seconds"), (int, float)):
        calls = wait.get("status_calls")
        text = duration(float(wait["waited_seconds"])) + (
            f", {calls} status calls" if calls is not None else ""
        )
        rows.append(("Wait", text, "wait"))
    rows.append(("Cost", cost_text(job) or "none reported", "cost"))
    if job.get("error"):
        rows.append(("Provider's reason", strip_signed(str(job["error"])), "error"))
    files = card.files
    if files:
        total = sum(i.bytes or 0 for _, i in files)
        rows.append(("Persisted", f"{len(files)} file(s), {human_bytes(total)}", "persisted"))
    cells = "".join(
        f"<dt>{escaped(label)}</dt><dd class='{escaped(cls)}'>{escaped(value)}</dd>"
        for label, value, cls in rows
    )
    return f"<dl class='facts'>{cells}</dl>"


def _tasks(card: JobCard, links: Links) -> str:
    """Each task of the job: its state, its try, links to its log and its page in the Airflow UI."""
    rows = []
    for task in card.tasks:
        role = "persisted by" if task.is_outputs else "waited by"
        state = escaped(task.ti_state or "not run yet")
        try_text = f"try {task.try_number}" if task.try_number else ""
        log = (
            f"<a class='log' href='{escaped(links.log(task, task.try_number))}' target='_top'>Log</a>"
            if task.try_number
            else ""
        )
        rows.append(
            f"<li class='task-link' data-task-id='{escaped(task.task_id)}' data-role='{'outputs' if task.is_outputs else 'job'}'>"
            f"<span class='role'>{role}</span> "
            f"<a class='ti' href='{escaped(links.task(task))}' target='_top'>{escaped(task.label)}</a> "
            f"<span class='state state-{state}'>{state}</span> <span class='try'>{escaped(try_text)}</span> {log}"
            f"</li>"
        )
    return f"<ul class='tasks'>{''.join(rows)}</ul>"


def _tries(card: JobCard, links: Links) -> str:
    """Earlier tries of the task that waited: their job ids (3.3+: the task state store) and logs."""
    task = card.job_task
    if task is None or task.try_number <= 1:
        return ""
    recorded = {t.get("try"): t for t in task.tries}
    rows = []
    for number in range(1, task.try_number):
        entry = recorded.get(number) or {}
        parts = [f"try {number}"]
        if entry.get("job_id"):
            parts.append(f"job {entry['job_id']}")
        if entry.get("state"):
            parts.append(str(entry["state"]))
        if entry.get("error"):
            parts.append(f"({strip_signed(str(entry['error']))})")
        if entry.get("cost") is not None:
            parts.append(f"cost {entry['cost']} {entry.get('cost_unit') or ''}".strip())
        if not entry.get("job_id"):
            parts.append("(job id in the log)")
        rows.append(
            f"<li data-try='{number}'>{escaped(' '.join(parts))} "
            f"<a class='log' href='{escaped(links.log(task, number))}' target='_top'>Log</a></li>"
        )
    return f"<div class='tries'><h4>Earlier tries</h4><ol>{''.join(rows)}</ol></div>"


def _inputs(card: JobCard) -> str:
    inputs = card.inputs
    if not inputs:
        return ""
    texts = "".join(
        f"<dt>{escaped(label)}</dt><dd class='input-text'>{escaped(text)}</dd>"
        for label, text in inputs.texts
    )
    media = []
    for label, url, kind in inputs.media:
        link = f"<a href='{escaped(url)}' target='_blank' rel='noopener noreferrer'>{escaped(url)}</a>"
        thumb = (
            f"<img class='input-thumb' src='{escaped(url)}' alt='{escaped(label)}' loading='lazy'>"
            if kind == "image"
            else ""
        )
        media.append(
            f"<dt>{escaped(label)}</dt><dd class='input-media kind-{escaped(kind)}'>{thumb}{link}</dd>"
        )
    return f"<div class='inputs'><h4>Inputs</h4><dl class='facts'>{texts}{''.join(media)}</dl></div>"


def _compare(card: JobCard, links: Links) -> str:
    """Before (the first input medium) and after (the first output of the same kind)."""
    if not card.inputs.media:
        return ""
    _, before, kind = card.inputs.media[0]
    if kind not in ("image", "video"):
        return ""
    outputs = card.files or card.provider_urls
    after = next(
        (links.file(t, i) if i.source == PERSISTED else i.url for t, i in outputs if i.kind == kind), None
    )
    if not after:
        return ""
    if kind == "image":
        panes = (
            f"<img class='before' src='{escaped(before)}' alt='before' loading='lazy'>"
            f"<img class='after' src='{escaped(after)}' alt='after' loading='lazy'>"
        )
        slider = "<input class='split' type='range' min='0' max='100' value='50' aria-label='before / after'>"
    else:
        panes = (
            f"<video class='before' controls muted preload='none' src='{escaped(before)}'></video>"
            f"<video class='after' controls muted preload='none' src='{escaped(after)}'></video>"
        )
        slider = ""
    return (
        f"<div class='compare kind-{kind}'><h4>Before / after</h4>"
        f"<div class='panes'>{panes}</div>{slider}</div>"
    )


def _outputs(card: JobCard, links: Links, now: datetime) -> str:
    items = [item_html(t, i, links, now) for t, i in card.files or card.provider_urls]
    if items:
        return f"<div class='media'>{''.join(items)}</div>"
    if card.state in ("failed", "canceled"):
        why = "the job failed" if card.state == "failed" else "the job was canceled"
        return f"<p class='none'>No outputs: {why}.</p>"
    if card.state in ("upstream_failed", "skipped", "removed"):
        return f"<p class='none'>No outputs: the task did not run ({escaped(card.state)}).</p>"
    return "<p class='none'>No outputs recorded yet.</p>"


def card_details(card: JobCard, links: Links, now: datetime) -> str:
    notes = "".join(f"<p class='note'>{escaped(n)}</p>" for n in card.notes)
    return (
        f"<div class='details'><header><h2 class='task-id'>{escaped(card.primary.label)}</h2>"
        f"<span class='state state-{escaped(card.state)}'>{escaped(card.state)}</span>"
        "<button type='button' class='close' aria-label='Close'>Close</button></header>"
        f"<div class='columns'><div class='about'>{_facts(card)}{_tasks(card, links)}{_tries(card, links)}"
        f"{notes}{_inputs(card)}</div>"
        f"<div class='outputs'>{_compare(card, links)}{_outputs(card, links, now)}</div></div></div>"
    )
