"""Shared by the reliability suites: profiles, emulator connections, triggers rebuilt the way the
triggerer rebuilds them, a transport that timestamps every request, and the results files.

Profiles: ``MEDIAJOBS_RELIABILITY=fast`` (default, part of ``make test``) or ``full``
(``make reliability``: more waits, more repetitions). Figures are written as JSON into
``MEDIAJOBS_RELIABILITY_RESULTS`` when that is set (``make reliability`` sets it and renders them
into docs/reliability.md); otherwise nothing is written.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from support.airflow_compat import decode_trigger_kwargs, import_string, stored_trigger_kwargs
from support.connections import connection_env
from support.constants import PROVIDERS

PROFILE = os.environ.get("MEDIAJOBS_RELIABILITY", "fast").strip().lower() or "fast"
FULL = PROFILE == "full"
CLASSPATH = "airflow_provider_mediajobs.triggers.MediaJobTrigger"


def scale(fast: Any, full: Any) -> Any:
    return full if FULL else fast


# ---- connections ---------------------------------------------------------------------------------
def connection(emu: Any, provider: str, *, timeout: float = 10.0, signature: bool = True) -> dict[str, Any]:
    """An Airflow connection (JSON form) for ``provider`` on the emulator; TAMS in signature mode."""
    conn: dict[str, Any] = emu.connection(
        provider, signature=signature, timeout=timeout, rate_limit=0, allow_private_hosts=True
    )
    if conn["password"] is None:
        del conn["password"]
    return conn


def emulator_connection_env(emu: Any, prefix: str = "rel", **options: Any) -> dict[str, str]:
    """The environment of connections ``<prefix>_<provider>`` to the emulator, one per provider."""
    return connection_env({f"{prefix}_{p}": connection(emu, p, **options) for p in PROVIDERS})


def secrets_of(emu: Any) -> list[str]:
    """Every key the emulator accepts: none of them may appear in an event, message or log."""
    found: list[str] = []
    for provider in PROVIDERS:
        creds = emu.credentials(provider)
        found.append(creds["api_key"])
        if provider == "tensorart":
            pem = creds["private_key"]
            # the PEM's base64 body lines, which is what a leak would show
            found.extend(line for line in pem.splitlines() if len(line) > 40 and "-----" not in line)
    return found


# ---- triggers, as the triggerer rebuilds them ------------------------------------------------------
def stored_kwargs(trigger: Any) -> tuple[str, str]:
    """(classpath, kwargs text) as Airflow 3 stores a deferred trigger: serde-serialized JSON."""
    classpath, kwargs = trigger.serialize()
    return classpath, stored_trigger_kwargs(kwargs)


def rebuild(classpath: str, stored: str) -> Any:
    """Inflate a trigger like ``TriggerRunner.create_triggers`` does."""
    return import_string(classpath)(**decode_trigger_kwargs(stored))


def as_triggerer_would(trigger: Any) -> Any:
    return rebuild(*stored_kwargs(trigger))


async def run_trigger(trigger: Any) -> dict[str, Any]:
    """Run ``trigger.run()`` to the end; a trigger yields exactly one event."""
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1, f"{trigger!r} yielded {len(events)} events"
    return events[0]


def expected_status(provider: str, outcome: str) -> str:
    """The event status a scripted emulator outcome must end in (GoEnhance and Vozo have no
    canceled state: the emulator reports a scripted cancel as failed, see docs/emulator.md)."""
    if outcome == "succeeded":
        return "succeeded"
    if outcome == "canceled" and provider in ("tensorart", "tensorpix"):
        return "canceled"
    return "failed"


def normalized_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """What two runs of the same trigger must agree on. Timing fields differ by nature, and signed
    output URLs are re-signed on some reads (TensorPix), so outputs compare without their query."""
    job = event.get("job") or {}
    return {
        "status": event.get("status"),
        "error_type": event.get("error_type"),
        "job_id": job.get("job_id"),
        "state": job.get("state"),
        "provider_status": job.get("provider_status"),
        "error": job.get("error"),
        "retryable": job.get("retryable"),
        "outputs": [
            (o.get("kind"), urlsplit(o.get("url", ""))._replace(query="").geturl())
            for o in job.get("outputs") or []
        ],
        "message": event.get("message") if event.get("status") != "timeout" else None,
    }


# ---- a transport that records when each request ran and how it ended --------------------------------
@dataclass
class Call:
    provider: str
    job_id: str | None
    started: float  # time.monotonic()
    ended: float
    outcome: str  # HTTP status as text, or the exception class name
    body: bytes = b""  # of 200 answers (they are small), to read back what the job reported

    @property
    def ok(self) -> bool:
        """The read gave the trigger a job (HTTP 200 alone is not enough: non-JSON, GoEnhance code)."""
        return self.outcome == "200"


def job_of(url: httpx.URL) -> tuple[str, str | None]:
    """(provider, job id) of an emulator status URL."""
    parts = [p for p in url.path.split("/") if p]
    provider = parts[0] if parts else "?"
    if provider == "goenhance":
        values = parse_qs(url.query.decode()).get("img_uuid")
        return provider, values[0] if values else None
    return provider, parts[-1] if len(parts) > 1 else None


class RecordingTransport(httpx.AsyncBaseTransport):
    """Real HTTP (one shared pool), with a timestamped record of every request's outcome."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200)
        )
        self.calls: list[Call] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        provider, job_id = job_of(request.url)
        started = time.monotonic()
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
        except asyncio.CancelledError:
            # the engine's whole-call deadline (asyncio.timeout) cancels the read: a client timeout
            self.calls.append(Call(provider, job_id, started, time.monotonic(), "DeadlineTimeout"))
            raise
        except Exception as err:
            self.calls.append(Call(provider, job_id, started, time.monotonic(), type(err).__name__))
            raise
        status = response.status_code
        outcome = str(status)
        body = b""
        if status == 200:
            body = response.content
            if not _readable(provider, job_id, request.url.path, body):
                outcome = "200-unreadable"
        self.calls.append(Call(provider, job_id, started, time.monotonic(), outcome, body))
        return response

    async def aclose(self) -> None:  # shared by every client of the run; closed by the owner
        return None

    async def close_for_real(self) -> None:
        await self.inner.aclose()

    def of(self, provider: str, job_id: str) -> list[Call]:
        return [c for c in self.calls if c.provider == provider and c.job_id == job_id]


def _readable(provider: str, job_id: str | None, path: str, body: bytes) -> bool:
    """Would the dialect read a job out of this 200 answer?"""
    from airflow_provider_mediajobs.dialects.registry import all_dialects
    from airflow_provider_mediajobs.dialects.wire import ApiResponse, CallContext
    from airflow_provider_mediajobs.exceptions import MediaJobError

    dialect = all_dialects().get(provider)
    if dialect is None or job_id is None:
        return True
    kind = "translate" if "/translate/" in path else dialect.job_kinds[0]
    try:
        dialect.parse_status(job_id, kind, ApiResponse(200, body), CallContext(provider, "rel", job_id))
    except MediaJobError:
        return False
    return True


# ---- results --------------------------------------------------------------------------------------
def results_dir() -> Path | None:
    value = os.environ.get("MEDIAJOBS_RELIABILITY_RESULTS")
    return Path(value) if value else None


def write_results(name: str, data: Mapping[str, Any]) -> None:
    target = results_dir()
    if target is None:
        return
    target.mkdir(parents=True, exist_ok=True)
    payload = {"suite": name, "profile": PROFILE, **data}
    (target / f"{name}.json").write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


def percentile(values: Iterable[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Tally:
    """Counts of right and wrong endings, for the results table."""

    total: int = 0
    wrong: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.total += 1
        if not ok:
            self.wrong.append(what)
