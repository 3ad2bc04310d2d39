"""What a waiting task keeps for retries and the Media view, beyond its XCom result.

Airflow 3.3's task state store holds one key, ``mediajobs_tries``: the job id of every try and how
it ended (XComs are cleared when a task retries; the store is not). A submit reads and writes it
once; a retry re-attaches to the last try's job. A wait that ends failed or canceled also pushes
the job's dict to XCom (key ``job``) before the task fails, for the card's reason and cost.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from airflow_provider_mediajobs.exceptions import MediaJobFailedError
from airflow_provider_mediajobs.models import MediaJob

FAILED_JOB_KEY = "job"  # XCom: the job dict of a wait that ended failed or canceled
TRIES_KEY = "mediajobs_tries"  # task state store (3.3+): the job id of every try, how it ended
_log = logging.getLogger(__name__)


def _state_store(context: Any) -> Any:
    try:
        return context.get("task_state_store")
    except Exception:
        return None


def read_tries(context: Any) -> tuple[Any, list[dict[str, Any]]]:
    """The task state store (Airflow 3.3+, else None) and its record of every try's job.

    One key holds it all (one read, one write per submit): the last entry's job is the one a retry
    re-attaches to, and the Media view lists them all (XComs are cleared when a task retries).
    """
    store = _state_store(context)
    if store is None:
        return None, []
    tries = store.get(TRIES_KEY) or []  # a failed read fails the try: guessing could pay twice
    return store, [t for t in tries if isinstance(t, dict)] if isinstance(tries, list) else []


def last_job_id(tries: list[dict[str, Any]]) -> str | None:
    """The job id of the latest try that recorded one: a retry re-attaches to it."""
    for entry in reversed(tries):
        if entry.get("job_id"):
            return str(entry["job_id"])
    return None


def record_try(context: Any, store: Any, tries: list[dict[str, Any]], job_id: str) -> None:
    """Note this try's job id in the task state store (one write), kept across retries. A failed
    write fails the try: better than deferring a wait that a retry could not find again."""
    if store is None:
        return
    number = int(getattr(context["ti"], "try_number", 0) or 0)
    kept = [t for t in tries if t.get("try") != number][-19:]
    store.set(TRIES_KEY, [*kept, {"try": number, "job_id": str(job_id)}])


def _record_end(context: Any, job: MediaJob) -> None:
    store = _state_store(context)
    if store is None:
        return
    try:
        tries = [t for t in (store.get(TRIES_KEY) or []) if isinstance(t, dict)]
        for entry in tries:
            if entry.get("job_id") == job.job_id:
                entry.update(state=job.state.value, error=job.error, cost=job.cost, cost_unit=job.cost_unit)
        store.set(TRIES_KEY, tries)
    except Exception as err:
        _log.warning("Could not record how the try ended in the task state store (%s).", type(err).__name__)


@contextlib.contextmanager
def recording_failure(context: Any) -> Iterator[None]:
    """A failed or canceled job's dict goes to XCom (key ``job``) before the task fails with it.

    The exception names the provider's reason and the cost; the dict lets the Media view show them
    (without the provider's raw payload).
    """
    try:
        yield
    except MediaJobFailedError as err:
        if err.job is not None:
            data = err.job.to_dict()
            data.pop("raw", None)
            with contextlib.suppress(Exception):
                context["ti"].xcom_push(key=FAILED_JOB_KEY, value=data)
            _record_end(context, err.job)
        raise
