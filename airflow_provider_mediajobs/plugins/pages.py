"""HTML of the Media view, built server-side with every value escaped.

No value from XCom, a provider or a request reaches the page unescaped, and the page's script
(``static/media-view.js``) only ever sets ``textContent``, classes and properties. Ids stay the
strings they are in XCom (a 64-bit id is never read as a JavaScript number).

The run's tab is a contact sheet: one tile per job (a thumbnail or video poster, the task and map
index, the state, the prompt), filterable by state and provider; a tile opens the job's card (facts,
inputs beside outputs, a before/after compare, failures explained, downloads). A task's tab shows the
same cards: the one of its job, or the sheet of its map indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any

from airflow_provider_mediajobs.engine.urls import shown_url, strip_signed
from airflow_provider_mediajobs.models import format_cost
from airflow_provider_mediajobs.plugins.records import (
    PERSISTED,
    STATE_ORDER,
    JobCard,
    MediaItem,
    TaskMedia,
    run_costs,
)

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


def _persisted(task: TaskMedia, item: MediaItem, links: Links) -> str:
    src = links.file(task, item)
    attrs = f"class='item kind-{escaped(item.kind)} source-{escaped(item.source)}' data-index='{item.index}'"
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
    attrs = f"class='item kind-{escaped(item.kind)} source-{escaped(item.source)}' data-index='{item.index}'"
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
            f"{escaped(_iso(item.expires_at))} (in {escaped(_duration(left))})</span>"
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
        text = _duration(float(wait["waited_seconds"])) + (
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


# ---- the tile of the contact sheet ---------------------------------------------------------------
def _tile_media(card: JobCard, links: Links) -> str:
    for task, item in card.files:
        src = links.file(task, item)
        if item.kind == "image":
            return f"<img class='tile-img' src='{escaped(src)}' alt='{escaped(item.name)}' loading='lazy'>"
        if item.kind == "video":
            # a poster: the frame at 0.1 s, fetched when the tile scrolls into view (the script)
            return f"<video class='tile-img' muted preload='none' data-src='{escaped(src)}#t=0.1'></video>"
    for _, item in card.provider_urls:
        if not item.expired() and item.url:
            if item.kind == "image":
                return f"<img class='tile-img' src='{escaped(item.url)}' alt='{escaped(item.name)}' loading='lazy'>"
            if item.kind == "video":
                return f"<video class='tile-img' muted preload='none' data-src='{escaped(item.url)}#t=0.1'></video>"
    if card.state in ("failed", "canceled", "upstream_failed"):
        return f"<span class='tile-none failed'>{escaped(card.state)}</span>"
    return f"<span class='tile-none'>{escaped('expired' if card.provider_urls else 'no output yet')}</span>"


def tile(card: JobCard, number: int, links: Links, now: datetime, open_: bool = False) -> str:
    first = card.inputs.texts[0][1] if card.inputs.texts else ""
    reason = strip_signed(str(card.job.get("error") or ""))
    caption = (
        f"<span class='label'>{escaped(card.primary.label)}</span>"
        f"<span class='state state-{escaped(card.state)}'>{escaped(card.state)}</span>"
        f"<span class='provider-name'>{escaped(card.provider or '')}</span>"
        + (f"<span class='prompt'>{escaped(first)}</span>" if first else "")
        + (f"<span class='reason'>{escaped(reason)}</span>" if reason else "")
    )
    attrs = (
        f"id='card-{number}' class='card{' open single' if open_ else ''}' data-state='{escaped(card.state)}' "
        f"data-provider='{escaped(card.provider or '')}' data-task-id='{escaped(card.primary.task_id)}' "
        f"data-map-index='{card.primary.map_index}' data-job-id='{escaped(card.job_id or '')}'"
    )
    return (
        f"<article {attrs}><button type='button' class='tile' aria-label='Open {escaped(card.primary.label)}'>"
        f"{_tile_media(card, links)}</button><div class='caption'>{caption}</div>"
        f"{card_details(card, links, now)}</article>"
    )


def _filters(cards: Sequence[JobCard]) -> str:
    states = sorted(
        {c.state for c in cards}, key=lambda s: (STATE_ORDER.index(s) if s in STATE_ORDER else 99, s)
    )
    providers = sorted({c.provider for c in cards if c.provider})

    def select(name: str, values: Sequence[str]) -> str:
        options = "".join(
            f"<option value='{escaped(v)}'>{escaped(v)} ({sum((getattr(c, name) or '') == v for c in cards)})</option>"
            for v in values
        )
        return (
            f"<label>{escaped(name.capitalize())} <select class='filter' data-filter='{name}'>"
            f"<option value=''>all</option>{options}</select></label>"
        )

    return (
        f"<form class='filters'>{select('state', states)}{select('provider', providers)}"
        f"<span class='shown'>{len(cards)} shown</span></form>"
    )


def _run_files(cards: Sequence[JobCard], links: Links) -> str:
    rows = []
    total = 0
    for card in cards:
        for task, item in card.files:
            total += item.bytes or 0
            src = links.file(task, item)
            rows.append(
                f"<li><a class='download' href='{escaped(download_url(src))}' download='{escaped(item.name)}'>{escaped(item.name)}</a> "
                f"<span class='size'>{escaped(human_bytes(item.bytes))}</span> "
                f"<span class='of'>{escaped(card.primary.label)}</span></li>"
            )
    if not rows:
        return ""
    return (
        f"<details class='run-files'><summary>Files of this run: {len(rows)}, {escaped(human_bytes(total))}"
        f"</summary><ol>{''.join(rows)}</ol></details>"
    )


def sheet(cards: Sequence[JobCard], links: Links, now: datetime) -> str:
    tiles = "".join(tile(c, n, links, now) for n, c in enumerate(cards))
    return f"{_filters(cards)}<div class='sheet'>{tiles}</div>"


def _summary(cards: Sequence[JobCard]) -> str:
    files = sum(len(c.files) for c in cards)
    failed = sum(c.state in ("failed", "canceled") for c in cards)
    totals, silent = run_costs(cards)
    cost = f"Cost: {escaped(format_cost(totals))}"
    if silent:
        cost += f" (no cost reported by {escaped(', '.join(silent))})"
    return (
        f"<p class='summary'>{len(cards)} job(s), {files} persisted file(s), {failed} failed</p>"
        f"<p class='run-cost'>{cost}</p>"
    )


def run_page(dag_id: str, run_id: str, cards: Sequence[JobCard], links: Links, static: str) -> str:
    now = datetime.now(timezone.utc)
    head = f"<header class='run'><h1>Media of run <span class='run-id'>{escaped(run_id)}</span></h1>{_summary(cards)}"
    if not cards:
        return page(
            f"Media - {dag_id}", head + "</header><p class='none'>No media jobs in this run.</p>", static
        )
    body = f"{head}{_run_files(cards, links)}</header>{sheet(cards, links, now)}"
    return page(f"Media - {dag_id} / {run_id}", body, static)


def task_page(dag_id: str, task_id: str, cards: Sequence[JobCard], links: Links, static: str) -> str:
    """The cards of one task: its job's card opened, or the contact sheet of its map indexes."""
    now = datetime.now(timezone.utc)
    if not cards:
        body = "<p class='none'>This task records no media job output.</p>"
    elif len(cards) == 1:
        body = f"<div class='sheet single'>{tile(cards[0], 0, links, now, open_=True)}</div>"
    else:
        body = f"<header class='run'>{_summary(cards)}</header>{sheet(cards, links, now)}"
    return page(f"Media - {dag_id} / {task_id}", body, static)
