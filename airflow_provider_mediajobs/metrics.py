"""Metrics through Airflow's own stats client: whatever ``[metrics]`` configures (StatsD, OTel, ...).

Every name starts with ``mediajobs.`` (after Airflow's own ``[metrics] statsd_prefix`` /
``otel_prefix``), carries its variables in the name (plain StatsD has no tags) and as tags (for
Datadog, InfluxDB-style StatsD and OpenTelemetry). The table is in docs/operations.md.

Emitting never raises and never waits: a StatsD send is one UDP datagram, OTel records in memory
and exports from its own thread. The only slow step is building the client (a DNS lookup of
``statsd_host``); a trigger does that off the event loop first, with :func:`prepare`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

PREFIX = "mediajobs"
OK, RATE_LIMITED, SERVER_ERROR, TIMEOUT, BAD_RESPONSE, REFUSED = (
    "ok",
    "429",
    "5xx",
    "timeout",
    "bad_response",
    "refused",
)
#: how a job's wait ended, as counted in ``mediajobs.job_ended.<provider>.<state>``
_ENDED = {
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
    "timeout": "timeout",
    "error": "error",
}
MICROS = 1_000_000  # cost counters count millionths of the provider's unit (StatsD counts integers)

_LOG = logging.getLogger(__name__)
_prepared_in: int | None = None  # the pid whose stats client is built
_NOT_NAME = re.compile(r"[^a-z0-9_]+")


def _part(value: object) -> str:
    """One dot-free name segment (``"unknown unit"`` -> ``unknown_unit``)."""
    return _NOT_NAME.sub("_", str(value).strip().lower()).strip("_")[:40] or "unknown"


def _client() -> Any:
    """Airflow's stats client for this process, set up from ``[metrics]`` if Airflow did not yet.

    Airflow 3.2+ sets up the Task SDK's client in task processes only; a triggerer's trigger
    runner (and ``dag.test()``) would silently drop metrics, so it is set up here the way the
    task runner does it. Airflow 3.1's ``airflow.stats.Stats`` sets itself up on first use.
    """
    try:
        from airflow.sdk.observability import stats  # Airflow 3.2+
    except ImportError:  # Airflow 3.1
        from airflow.stats import Stats

        return Stats
    state = sys.modules.get(stats.initialize.__module__)  # where the re-exported client keeps its state
    if getattr(state, "_factory", True) is None:
        from airflow.configuration import conf
        from airflow.observability.metrics import stats_utils

        stats.initialize(
            factory=stats_utils.get_stats_factory(),
            export_legacy_names=conf.getboolean("metrics", "legacy_names_on", fallback=True),
        )
    return stats


def _emit(kind: str, name: str, *args: Any, tags: Mapping[str, str] | None = None, **kwargs: Any) -> None:
    try:
        getattr(_client(), kind)(f"{PREFIX}.{name}", *args, tags=dict(tags or {}), **kwargs)
    except Exception:  # metrics never fail a task or a trigger
        _LOG.debug("Could not emit metric %s.%s", PREFIX, name, exc_info=True)


def prepare() -> None:
    """Build the stats client now (blocking: a DNS lookup); see :func:`aprepare`."""
    global _prepared_in
    try:
        client = _client()
        getattr(client, "incr", None)  # 3.1: the first attribute access builds the client
        state = sys.modules.get(getattr(getattr(client, "initialize", None), "__module__", ""))
        backend = getattr(state, "_get_backend", None)  # 3.2+: built on the first emit, unless now
        if callable(backend):
            backend()
    except Exception:
        _LOG.debug("Could not set up the stats client", exc_info=True)
    _prepared_in = os.getpid()


async def aprepare() -> None:
    """:func:`prepare` in a thread, once per process: the event loop never waits for it."""
    if _prepared_in != os.getpid():
        await asyncio.to_thread(prepare)


# ---- what is measured (one call at each outcome point) --------------------------------------------
def read_outcome(error: BaseException | None) -> str:
    """``ok``, ``429``, ``5xx``, ``timeout`` (no HTTP answer), ``bad_response`` or ``refused`` (4xx)."""
    from airflow_provider_mediajobs.exceptions import (
        MediaJobBadResponseError,
        MediaJobRateLimitedError,
        MediaJobTransientError,
    )

    if error is None:
        return OK
    if isinstance(error, MediaJobRateLimitedError):
        return RATE_LIMITED
    status = getattr(error, "http_status", None)
    if isinstance(status, int) and status >= 500:
        return SERVER_ERROR
    if isinstance(error, MediaJobTransientError):
        return TIMEOUT
    if isinstance(error, MediaJobBadResponseError):
        return BAD_RESPONSE
    return REFUSED


def status_read(provider: str, error: BaseException | None = None) -> None:
    """One status read of a wait and how it went."""
    outcome = read_outcome(error)
    _emit("incr", f"status_read.{_part(provider)}.{outcome}", tags={"provider": provider, "outcome": outcome})


def outage_tolerated(provider: str, seconds: float, *, recovered: bool) -> None:
    """A run of failing status reads that a wait rode out (``recovered``) or gave up on."""
    _emit(
        "timing",
        f"outage_tolerated.{_part(provider)}",
        timedelta(seconds=max(0.0, seconds)),
        tags={"provider": provider, "ended": "recovered" if recovered else "gave_up"},
    )


@contextmanager
def wait_in_flight(provider: str) -> Iterator[None]:
    """``mediajobs.waits_in_flight.<provider>`` is +1 while the block runs (a delta gauge:
    StatsD sums the processes of a fleet)."""
    name, tags = f"waits_in_flight.{_part(provider)}", {"provider": provider}
    _emit("gauge", name, 1, delta=True, tags=tags)
    try:
        yield
    finally:
        _emit("gauge", name, -1, delta=True, tags=tags)


def wait_ended(provider: str, event: Mapping[str, Any] | None) -> None:
    """How a task's wait for a job ended (its final state, or timeout/error), and what it cost."""
    if not isinstance(event, Mapping):
        return
    state = _ENDED.get(str(event.get("status")), "error")
    _emit("incr", f"job_ended.{_part(provider)}.{state}", tags={"provider": provider, "state": state})
    job = event.get("job")
    if isinstance(job, Mapping) and state in ("succeeded", "failed", "canceled"):
        cost(provider, job.get("cost"), job.get("cost_unit"))


def cost(provider: str, amount: object, unit: object) -> None:
    """What a finished job cost, in millionths of its unit (``mediajobs.cost_micros.<provider>.<unit>``)."""
    if not isinstance(amount, (int, float)) or isinstance(amount, bool) or not amount >= 0:
        return
    unit_name = _part(unit or "unknown unit")
    _emit(
        "incr",
        f"cost_micros.{_part(provider)}.{unit_name}",
        round(float(amount) * MICROS),
        tags={"provider": provider, "unit": unit_name},
    )


def bytes_persisted(provider: str, size: int) -> None:
    """Bytes of one output file written to its destination (an unchanged file, skipped, is not)."""
    if size > 0:
        _emit("incr", f"bytes_persisted.{_part(provider)}", int(size), tags={"provider": provider})


__all__ = [
    "PREFIX",
    "aprepare",
    "bytes_persisted",
    "cost",
    "outage_tolerated",
    "prepare",
    "read_outcome",
    "status_read",
    "wait_ended",
    "wait_in_flight",
]
