"""Jobs, the emulated clock, seeded randomness and scripts.

A job's lifecycle is computed at read time from ``(created_at, queued_s, running_s, outcome)`` on the
emulated clock, so no background task runs and everything is deterministic under ``advance()``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .providers.base import Provider

OUTCOMES = ("succeeded", "failed", "canceled")
OUTPUT_KINDS = ("image", "video", "audio", "subtitle")
SCRIPT_FIELDS = frozenset(
    {
        "outcome",
        "queued_s",
        "running_s",
        "queue_rank",
        "outputs",
        "output_bytes",
        "failure_reason",
        "failure_code",
        "kind",
        "url_lifetime_s",
        "success_status",
    }
)
DEFAULT_OUTPUT_BYTES = 4096


class ScriptError(ValueError):
    """An invalid script / add_job field (reported as HTTP 400 by the admin routes)."""


class Clock:
    """Emulated epoch seconds: real time scaled by ``speed``, plus an ``advance()`` offset."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._lock = threading.Lock()
        self.rebase()

    def rebase(self) -> None:
        """Make emulated time equal to real time again (used by reset)."""
        with self._lock:
            self._real0 = time.time()
            self._mono0 = time.monotonic()
            self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            return self._real0 + (time.monotonic() - self._mono0) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("cannot move the emulated clock backwards")
        with self._lock:
            self._offset += float(seconds)
        return self.now()


@dataclass(frozen=True)
class Phase:
    """What a job looks like at one instant."""

    state: str  # queued | running | succeeded | failed | canceled
    progress: float  # fraction of the current phase (queued/running), 1.0 when terminal
    started_at: float  # emulated epoch the job starts running
    finished_at: float | None  # emulated epoch it reached its terminal state (None while active)
    remaining_s: float  # emulated seconds until the end, 0 when terminal

    @property
    def terminal(self) -> bool:
        return self.state in OUTCOMES


@dataclass
class Job:
    provider: str
    id: str
    kind: str
    created_at: float
    queued_s: float
    running_s: float
    outcome: str
    outputs: list[str]
    output_bytes: int
    failure_reason: str
    failure_code: str | None
    queue_rank: int
    request: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    canceled_at: float | None = None
    cost: float = 1.5
    flap_reads: int = 0
    last_expires: int = 0
    url_lifetime_s: float | None = None  # how long signed output URLs last (None: the provider's default)
    native: int | str | None = None  # the id as the provider's JSON carries it (None: ``id``)
    success_status: str | None = None  # how a success is spelled (None: the provider's default)

    def url_lifetime(self, default: float) -> float:
        return default if self.url_lifetime_s is None else self.url_lifetime_s

    @property
    def native_id(self) -> int | str:
        return self.id if self.native is None else self.native

    def phase(self, now: float) -> Phase:
        started = self.created_at + self.queued_s
        end = started + self.running_s
        if self.canceled_at is not None and now >= self.canceled_at:
            return Phase("canceled", 1.0, started, self.canceled_at, 0.0)
        elapsed = now - self.created_at
        if elapsed < self.queued_s:
            frac = elapsed / self.queued_s if self.queued_s > 0 else 1.0
            return Phase("queued", max(0.0, frac), started, None, end - now)
        if now < end:
            frac = (now - started) / self.running_s if self.running_s > 0 else 1.0
            return Phase("running", min(1.0, max(0.0, frac)), started, None, end - now)
        return Phase(self.outcome, 1.0, started, end, 0.0)

    def observe(self, now: float, flap: bool) -> Phase:
        """The phase a status read reports; with a ``flap`` fault, active jobs alternate running/queued."""
        phase = self.phase(now)
        if not flap or phase.terminal:
            return phase
        self.flap_reads += 1
        state = "running" if self.flap_reads % 2 == 1 else "queued"
        progress = phase.progress if state == phase.state else 0.5
        return Phase(state, progress, phase.started_at, None, phase.remaining_s)

    def output_names(self) -> list[str]:
        ext = {"image": "png", "video": "mp4", "audio": "mp3", "subtitle": "srt"}
        return [f"output_{i}.{ext[kind]}" for i, kind in enumerate(self.outputs)]


def _float(fields: Mapping[str, Any], key: str) -> float | None:
    if key not in fields or fields[key] is None:
        return None
    try:
        value = float(fields[key])
    except (TypeError, ValueError):
        raise ScriptError(f"{key} must be a number") from None
    if value < 0:
        raise ScriptError(f"{key} must be >= 0")
    return value


def validate_script(provider: Provider, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check script / add_job fields; returns a clean copy."""
    unknown = set(fields) - SCRIPT_FIELDS
    if unknown:
        raise ScriptError(f"unknown script field(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if fields.get("outcome") is not None:
        if fields["outcome"] not in OUTCOMES:
            raise ScriptError(f"outcome must be one of {', '.join(OUTCOMES)}")
        out["outcome"] = fields["outcome"]
    for key in ("queued_s", "running_s", "url_lifetime_s"):
        value = _float(fields, key)
        if value is not None:
            out[key] = value
    for key in ("queue_rank", "output_bytes"):
        value = _float(fields, key)
        if value is not None:
            out[key] = int(value)
    if fields.get("outputs") is not None:
        outputs = fields["outputs"]
        if not isinstance(outputs, list) or any(k not in OUTPUT_KINDS for k in outputs):
            raise ScriptError(f"outputs must be a list of {', '.join(OUTPUT_KINDS)}")
        out["outputs"] = list(outputs)
    if fields.get("kind") is not None:
        if fields["kind"] not in provider.kinds:
            raise ScriptError(f"kind for {provider.name} must be one of {', '.join(provider.kinds)}")
        out["kind"] = fields["kind"]
    if fields.get("success_status") is not None:
        out["success_status"] = check_success_status(provider, fields["success_status"])
    for key in ("failure_reason", "failure_code"):
        if fields.get(key) is not None:
            out[key] = str(fields[key])
    return out


def check_success_status(provider: Provider, value: Any) -> str:
    """``value`` if it is one of the provider's spellings of a terminal success."""
    if not provider.success_statuses:
        raise ScriptError(f"{provider.name} has no configurable success status")
    if value not in provider.success_statuses:
        raise ScriptError(
            f"success_status for {provider.name} must be one of {', '.join(provider.success_statuses)}"
        )
    return str(value)


class State:
    """All mutable emulator state except faults/stats; thread-safe (admin API vs server thread)."""

    def __init__(self, providers: Mapping[str, Provider], seed: int = 0, speed: float = 1.0) -> None:
        self.providers = dict(providers)
        self.seed = seed
        self.clock = Clock(speed)
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.rng = random.Random(self.seed)
            self.jobs: dict[str, dict[str, Job]] = {p: {} for p in self.providers}
            self.request_ids: dict[tuple[str, str], str] = {}  # (provider, request id) -> job id
            self.scripts: dict[str, list[list[Any]]] = {p: [] for p in self.providers}  # [fields, left]
            self._last_id: dict[str, str] = {}
            self.clock.rebase()

    def provider(self, name: Any) -> Provider:
        """The emulated provider called ``name``; ScriptError naming the known ones otherwise."""
        found = self.providers.get(name) if isinstance(name, str) else None
        if found is None:
            raise ScriptError(f"provider must be one of {', '.join(self.providers)}")
        return found

    def check_provider(self, name: Any) -> str:
        """``name`` if the emulator serves that provider (ScriptError otherwise)."""
        return self.provider(name).name

    def now(self) -> float:
        return self.clock.now()

    def real_seconds(self, emulated_s: float) -> float:
        """A duration on the emulated clock as the real seconds it takes (what ETAs must report)."""
        return emulated_s / self.clock.speed

    # scripts -------------------------------------------------------------------------------------
    def add_script(self, provider: str, count: int, fields: Mapping[str, Any]) -> None:
        emulated = self.provider(provider)
        if count < 1:
            raise ScriptError("count must be >= 1")
        clean = validate_script(emulated, fields)
        provider = emulated.name
        with self.lock:
            self.scripts[provider].append([clean, count])

    def _pop_script(self, provider: str) -> dict[str, Any]:
        queue = self.scripts[provider]
        if not queue:
            return {}
        entry = queue[0]
        entry[1] -= 1
        if entry[1] <= 0:
            queue.pop(0)
        return dict(entry[0])

    # jobs ----------------------------------------------------------------------------------------
    def create_job(
        self,
        provider: str,
        *,
        kind: str | None = None,
        script: Mapping[str, Any] | None = None,
        request: dict[str, Any] | None = None,
        request_id: str | None = None,
        default_outputs: list[str] | None = None,
        use_queue: bool = True,
    ) -> Job:
        """Create a job: explicit ``script`` fields win, then a queued script, then seeded randomness."""
        emulated = self.provider(provider)
        provider = emulated.name
        explicit = validate_script(emulated, script or {})
        with self.lock:
            fields = self._pop_script(provider) if use_queue else {}
            fields.update(explicit)
            kind = fields.get("kind") or kind or emulated.kinds[0]
            queued = fields.get("queued_s")
            running = fields.get("running_s")
            queued_s = queued if queued is not None else round(self.rng.uniform(60, 300), 1)
            running_s = running if running is not None else round(self.rng.uniform(120, 600), 1)
            queue_rank = fields.get("queue_rank")
            if queue_rank is None:
                queue_rank = self.rng.randrange(1, 12)
            job_id = emulated.new_job_id(self.rng, self._last_id.get(provider))
            while job_id in self.jobs[provider]:
                job_id = emulated.new_job_id(self.rng, job_id)
            self._last_id[provider] = job_id
            outputs = fields.get("outputs") or list(
                default_outputs or emulated.default_outputs.get(kind) or ("image",)
            )
            job = Job(
                provider=provider,
                id=job_id,
                kind=kind,
                created_at=self.now(),
                queued_s=queued_s,
                running_s=running_s,
                outcome=fields.get("outcome", "succeeded"),
                outputs=outputs,
                output_bytes=max(64, int(fields.get("output_bytes", DEFAULT_OUTPUT_BYTES))),
                failure_reason=fields.get("failure_reason", "the emulated job failed"),
                failure_code=fields.get("failure_code"),
                queue_rank=int(queue_rank),
                request=dict(request or {}),
                request_id=request_id,
                cost=round(0.5 + self.rng.randrange(0, 40) / 10, 1),
                url_lifetime_s=fields.get("url_lifetime_s"),
                native=emulated.native_id(job_id),
                success_status=fields.get("success_status"),
            )
            self.jobs[provider][job_id] = job
            if request_id is not None:
                self.request_ids[(provider, request_id)] = job_id
            return job

    def get_job(self, provider: str, job_id: str | int | None) -> Job | None:
        if job_id is None:
            return None
        with self.lock:
            return self.jobs.get(provider, {}).get(str(job_id))

    def job_by_request_id(self, provider: str, request_id: str) -> Job | None:
        """The job an idempotent create with ``request_id`` made before, if any."""
        with self.lock:
            job_id = self.request_ids.get((provider, request_id))
            return self.jobs[provider].get(job_id) if job_id else None

    def cancel(self, job: Job) -> Phase:
        """Cancel an active job now; returns the phase *before* canceling."""
        with self.lock:
            now = self.now()
            phase = job.phase(now)
            if not phase.terminal:
                job.canceled_at = now
            return phase

    def job_counts(self) -> dict[str, int]:
        with self.lock:
            return {p: len(jobs) for p, jobs in self.jobs.items() if jobs}
