"""The Media view's job cards: one :class:`JobCard` per job, keyed by provider and job id,
gathers the task that waited for it and the task(s) that persisted its files (each task read by
:mod:`.records`), and the run's total cost. Pure functions on plain values: no Airflow import, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_mediajobs.models import JobInputs, total_cost
from airflow_provider_mediajobs.plugins.records import (
    PROVIDER,
    MediaItem,
    TaskMedia,
)

#: the states a card can be filtered by, in the order the filter lists them
STATE_ORDER = ("failed", "canceled", "upstream_failed", "running", "deferred", "queued", "succeeded")
_NOT_RUN = ("upstream_failed", "skipped", "removed")


@dataclass
class JobCard:
    """One media job of a run: the task that waited for it, the task(s) that persisted its files.

    ``files`` are the persisted copies (each with the task that serves it); when there are any, the
    provider's URLs are not shown. A card without a job id stands for a task whose job is unknown
    (its create failed, or it has not run).
    """

    provider: str | None
    job_id: str | None
    job_task: TaskMedia | None = None
    outputs_tasks: list[TaskMedia] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def tasks(self) -> list[TaskMedia]:
        return [t for t in (self.job_task, *self.outputs_tasks) if t is not None]

    @property
    def primary(self) -> TaskMedia:
        return self.tasks[0]

    @property
    def job(self) -> Mapping[str, Any]:
        return (self.job_task.job if self.job_task else None) or {}

    @property
    def inputs(self) -> JobInputs:
        return self.job_task.inputs if self.job_task else JobInputs()

    @property
    def files(self) -> list[tuple[TaskMedia, MediaItem]]:
        found = [(t, i) for t in self.outputs_tasks for i in t.persisted]
        if not found and self.job_task:
            found = [(self.job_task, i) for i in self.job_task.persisted]
        return found

    @property
    def provider_urls(self) -> list[tuple[TaskMedia, MediaItem]]:
        """The provider's signed URLs, shown only while nothing was persisted."""
        if self.files or self.job_task is None:
            return []
        return [(self.job_task, i) for i in self.job_task.items if i.source == PROVIDER]

    @property
    def state(self) -> str:
        """The job's state when known, else its task's (queued, deferred, upstream_failed, ...)."""
        if self.job.get("state"):
            return str(self.job["state"])
        task = self.primary
        if task.ti_state == "success":
            return "succeeded"
        return task.ti_state or "scheduled"

    @property
    def sort_key(self) -> tuple[str, int]:
        return (self.primary.task_id, self.primary.map_index)


def _job_provider(task: TaskMedia) -> str:
    return task.provider or ""


def job_cards(
    tasks: Sequence[TaskMedia], upstream: Callable[[str], Iterable[str]] | None = None
) -> list[JobCard]:
    """One card per job (provider + job id), ordered by task id and map index.

    An outputs task joins the card of the job it persisted (its ``media_job`` XCom); one that did
    not run joins the cards of its upstream media tasks (same map index when it is mapped), with a
    note saying why it did not run. ``upstream(task_id)`` gives a task's upstream task ids.
    """
    cards: list[JobCard] = []
    by_key: dict[tuple[str, str], JobCard] = {}
    by_id: dict[str, JobCard] = {}
    by_task: dict[str, list[JobCard]] = {}

    def add(card: JobCard) -> JobCard:
        cards.append(card)
        if card.job_id is not None:
            by_key[(card.provider or "", card.job_id)] = card
            by_id.setdefault(card.job_id, card)
        by_task.setdefault(card.primary.task_id, []).append(card)
        return card

    waiting = [t for t in tasks if not t.is_outputs]
    for task in waiting:
        key = (_job_provider(task), task.job_id or "")
        if task.job_id is not None and key in by_key:  # two tasks on one job (submit, then a sensor)
            by_key[key].outputs_tasks.append(task)
            continue
        add(JobCard(task.provider, task.job_id, job_task=task))
    unplaced = []
    for task in (t for t in tasks if t.is_outputs):
        if task.job_ref is not None:
            card = by_key.get(task.job_ref) or by_id.get(task.job_ref[1])
            if card is None:
                card = add(JobCard(task.job_ref[0] or None, task.job_ref[1]))
            card.outputs_tasks.append(task)
        else:
            unplaced.append(task)
    for task in unplaced:
        targets = []
        for up in upstream(task.task_id) if upstream else ():
            targets += [
                c
                for c in by_task.get(up, [])
                if c.job_task is not None and (task.map_index < 0 or c.primary.map_index == task.map_index)
            ]
        if not targets:
            card = add(JobCard(None, None))
            card.outputs_tasks.append(task)
            targets = [card]
        else:
            for card in targets:
                card.outputs_tasks.append(task)
        if task.ti_state in _NOT_RUN:
            failed = sorted({c.primary.label for c in targets if c.state in ("failed", "canceled")} - {""})
            because = (
                f": upstream {', '.join(failed)} failed"
                if failed and task.ti_state == "upstream_failed"
                else ""
            )
            for card in targets:
                card.notes.append(
                    f"Outputs task {task.label} did not run ({task.ti_state}{because}); nothing was persisted."
                )
    return sorted(cards, key=lambda c: c.sort_key)


def run_costs(cards: Sequence[JobCard]) -> tuple[dict[str, float], list[str]]:
    """The run's total cost per unit (each job once, earlier tries' jobs included), and the providers
    that report no cost."""
    from airflow_provider_mediajobs.models import JobState, MediaJob

    jobs = []
    reported: set[str] = set()
    providers: set[str] = set()
    for card in cards:
        if card.provider:
            providers.add(card.provider)
        earlier = card.job_task.tries if card.job_task else ()
        for entry in earlier:
            if entry.get("cost") is None or str(entry.get("job_id")) == card.job_id or not card.provider:
                continue
            try:
                cost = float(entry["cost"])
            except (TypeError, ValueError):
                continue
            unit = str(entry.get("cost_unit") or "") or None
            jobs.append(
                MediaJob(card.provider, str(entry.get("job_id")), JobState.FAILED, cost=cost, cost_unit=unit)
            )
            reported.add(card.provider)
        job = card.job
        if job.get("cost") is None:
            continue
        try:
            jobs.append(MediaJob.from_dict(job))
        except (KeyError, ValueError, TypeError):
            continue
        reported.add(str(job.get("provider") or card.provider or ""))
    return total_cost(jobs), sorted(providers - reported)
