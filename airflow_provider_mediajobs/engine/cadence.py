"""When to read a job next: adaptive between ``poll_interval`` and ``max_poll_interval``.

The idea: spend status calls where they buy detection latency. Far from the end (a long ETA, a
deep queue, slow progress) poll rarely; close to the end poll at ``poll_interval``; with no hint
at all back off gently while nothing changes. Every delay is jittered so thousands of waits
started together drift apart instead of hitting the API in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from airflow_provider_mediajobs.models import JobState, MediaJob

JITTER = 0.1  # +-10 %
IDLE_GROWTH = 1.25  # per unchanged read without any hint
ETA_SHARE = 0.5  # poll again after this share of the remaining time


@dataclass
class Cadence:
    poll_interval: float
    max_poll_interval: float
    rng: random.Random = field(default_factory=random.Random)
    _unchanged: int = 0
    _last_key: tuple[object, ...] | None = None
    _progress_at: tuple[float, float] | None = None  # (progress, time) of the first progress seen

    def __post_init__(self) -> None:
        self.poll_interval = max(0.01, float(self.poll_interval))
        self.max_poll_interval = max(self.poll_interval, float(self.max_poll_interval))

    def remaining_estimate(self, job: MediaJob, now: float) -> float | None:
        """Seconds until the job likely ends: the provider's ETA, else a progress-rate estimate."""
        if job.eta_seconds is not None and job.eta_seconds >= 0:
            return job.eta_seconds
        if job.state is JobState.RUNNING and job.progress is not None:
            if self._progress_at is None or job.progress < self._progress_at[0]:
                self._progress_at = (job.progress, now)
                return None
            first_progress, first_time = self._progress_at
            gained, elapsed = job.progress - first_progress, now - first_time
            if gained > 0.01 and elapsed > 0:
                return (1.0 - job.progress) * elapsed / gained
        return None

    def next_delay(self, job: MediaJob, now: float) -> float:
        key = (job.state, job.queue_position, job.progress, job.provider_status)
        self._unchanged = self._unchanged + 1 if key == self._last_key else 0
        self._last_key = key

        remaining = self.remaining_estimate(job, now)
        if remaining is not None:
            target = remaining * ETA_SHARE
        elif job.queue_position is not None and job.queue_position > 0:
            target = self.poll_interval * (1 + job.queue_position)
        else:
            target = self.poll_interval * (IDLE_GROWTH**self._unchanged)
        delay = min(self.max_poll_interval, max(self.poll_interval, target))
        return delay * self.rng.uniform(1 - JITTER, 1 + JITTER)
