"""When to read a job next: adaptive between ``poll_interval`` and ``max_poll_interval``.

The idea: spend status calls where they buy detection latency. Far from the end (a long ETA, a
deep queue, slow progress) poll rarely, halving the distance to the predicted end; once the end
is less than two ``poll_interval`` away, read just after it; with no hint at all back off gently
while nothing changes. Every delay is jittered so thousands of waits
started together drift apart instead of hitting the API in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from airflow_provider_mediajobs.models import JobState, MediaJob

_RNG = random.Random()
JITTER = 0.1  # +-10 %
IDLE_GROWTH = 1.1  # per unchanged read without any hint
ETA_SHARE = 0.5  # poll again after this share of the remaining time
END_MARGIN = 0.05  # the last read lands this share of the remaining time after the predicted end


@dataclass
class Cadence:
    poll_interval: float
    max_poll_interval: float
    # one generator for every wait: a Random per wait is ~2.9 KB (its Mersenne Twister state) and a
    # urandom seed; thousands of waits on a triggerer share this one (tests pass their own)
    rng: random.Random = field(default_factory=lambda: _RNG)
    _unchanged: int = 0
    _last_key: tuple[object, ...] | None = None
    _progress_at: tuple[float, float] | None = None  # (progress, time) of the first progress seen
    _changed_at: tuple[float, float] | None = None  # (progress, time) when it first changed
    _latest: tuple[float, float] | None = None  # (progress, time) of the latest change

    def __post_init__(self) -> None:
        self.poll_interval = max(0.01, float(self.poll_interval))
        self.max_poll_interval = max(self.poll_interval, float(self.max_poll_interval))

    def remaining_estimate(self, job: MediaJob, now: float) -> float | None:
        """Seconds until the job likely ends: the shorter of the provider's ETA and the estimate
        from the progress rate seen so far (the rate is measured on our clock, so it holds even
        when a provider's ETA is off)."""
        eta = job.eta_seconds if job.eta_seconds is not None and job.eta_seconds >= 0 else None
        rate_estimate = None
        if job.state is JobState.RUNNING and job.progress is not None:
            if self._progress_at is None or job.progress < self._progress_at[0]:
                self._progress_at, self._changed_at, self._latest = (job.progress, now), None, None
            else:
                if job.progress > (self._latest or self._progress_at)[0]:
                    self._latest = (job.progress, now)
                    if self._changed_at is None:
                        self._changed_at = self._latest
                # Measure from the first *change* of progress once it changed again: a provider
                # that reports progress in stages changes it at step boundaries,
                # and the first reading falls anywhere inside a step. Measure up to the latest
                # change and count the time since then as spent: while a step lasts, the end
                # draws nearer although the number does not move.
                anchor = self._progress_at
                if (
                    self._changed_at is not None
                    and self._latest is not None
                    and self._latest[0] > self._changed_at[0]
                ):
                    anchor = self._changed_at
                latest = self._latest
                if latest is not None:
                    gained, elapsed = latest[0] - anchor[0], latest[1] - anchor[1]
                    if gained > 0.01 and elapsed > 0:
                        rate_estimate = max(0.0, (1.0 - latest[0]) * elapsed / gained - (now - latest[1]))
        if eta is None:
            return rate_estimate
        return eta if rate_estimate is None else min(eta, rate_estimate)

    def next_delay(self, job: MediaJob, now: float) -> float:
        key = (job.state, job.queue_position, job.progress, job.provider_status)
        self._unchanged = self._unchanged + 1 if key == self._last_key else 0
        self._last_key = key

        remaining = self.remaining_estimate(job, now)
        if remaining is not None:
            if remaining >= 2 * self.poll_interval:
                # far: halve the distance and re-estimate, but leave at least one poll_interval so
                # the last read can still land just after the end
                half = remaining * ETA_SHARE * self.rng.uniform(1 - JITTER, 1 + JITTER)
                return min(
                    self.max_poll_interval, max(self.poll_interval, min(half, remaining - self.poll_interval))
                )
            else:
                # close: aim just past the predicted end (no jitter: the ends are spread already)
                return min(self.max_poll_interval, max(self.poll_interval, remaining * (1 + END_MARGIN)))
        elif job.queue_position is not None and job.queue_position > 0:
            target = self.poll_interval * (1 + job.queue_position)
        else:
            target = self.poll_interval * (IDLE_GROWTH**self._unchanged)
        delay = min(self.max_poll_interval, max(self.poll_interval, target))
        return delay * self.rng.uniform(1 - JITTER, 1 + JITTER)
