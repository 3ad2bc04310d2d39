"""The Media view's pages: a run's contact sheet (one tile per job: a thumbnail or video poster,
the task and map index, the state, the prompt; filterable by state and provider) whose tiles open
the job's card (:mod:`.card_html`), and a task's page (the card of its job, or the sheet of its
map indexes). Every value is escaped, as in :mod:`.card_html`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from airflow_provider_mediajobs.engine.urls import strip_signed
from airflow_provider_mediajobs.models import format_cost
from airflow_provider_mediajobs.plugins.card_html import (
    Links,
    card_details,
    download_url,
    escaped,
    human_bytes,
)
from airflow_provider_mediajobs.plugins.cards import STATE_ORDER, JobCard, run_costs


def page(title: str, body: str, static: str) -> str:
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escaped(title)}</title>"
        f"<link rel='stylesheet' href='{escaped(static)}/media-view.css'>"
        f"<script src='{escaped(static)}/media-view.js' defer></script>"
        f"</head><body><main>{body}</main></body></html>"
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
