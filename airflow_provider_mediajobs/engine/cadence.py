"""When to read a job next: adaptive between ``poll_interval`` and ``max_poll_interval``.

Every read costs about the same, so the cadence spends reads where they buy detection latency and
lets the latency it accepts grow with how long the job has taken (seconds late on a 30-minute video
matter as little as milliseconds on a 10-second image):

- **No hint** (no ETA, no progress rate, no queue position): wait half the time waited so far
  (``IDLE_SHARE``), so delays grow 1.5x per read from ``poll_interval`` and an end is noticed
  within a third of the whole wait at worst (a sixth on average), and within
  ``max_poll_interval`` always. The age counts from the wait's first read, not from the last
  state change: queued -> running says little about how long the run takes. At the defaults
  (5-15 s, capped at 60-120 s) a 10-minute job is read ~16 times, a 2-hour one about once per cap.
- **Progress without a rate yet** (one reading, or a stage that has not moved): the same rule,
  aged from the first progress seen, so the rate is measured soon after the job starts running.
- **Queue position**: a job behind ``n`` others waits at least ``(1 + n)`` poll intervals.
- **ETA or a progress rate** (the shorter of the provider's ETA and the rate measured on our own
  clock): far from the predicted end, go ``ETA_SHARE`` of the way and re-estimate, leaving one
  ``poll_interval`` so the last read can still land just after the end; once the end is less than
  ``AIM_WITHIN`` poll intervals away, read just after it (``END_MARGIN``): a read in between
  would only confirm the estimate. Past the predicted end (a stale ETA, a stage that drags), back
  off from that moment by the no-hint rule instead of reading at ``poll_interval`` until the job
  ends.

No delay exceeds ``max_poll_interval``, so however long the wait an end is noticed within it.
Every delay but the aimed last read is jittered +-10 % (cut at ``max_poll_interval``, so the
floor is 0.9 ``poll_interval``) so that thousands of waits started together drift apart instead of
hitting the API in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from airflow_provider_mediajobs.models import JobState, MediaJob

_RNG = random.Random()
JITTER = 0.1  # +-10 %
IDLE_SHARE = 0.5  # without hints, wait this share of the time waited so far
ETA_SHARE = 0.5  # far from the predicted end, poll again after this share of the remaining time
END_MARGIN = 0.05  # the last read lands this share of the remaining time after the predicted end
AIM_WITHIN = 3  # poll intervals: closer than this to the predicted end, the next read aims past it


@dataclass
class Cadence:
    poll_interval: float
    max_poll_interval: float
    # one generator for every wait: a Random per wait is ~2.9 KB (its Mersenne Twister state) and a
    # urandom seed; thousands of waits on a triggerer share this one (tests pass their own)
    rng: random.Random = field(default_factory=lambda: _RNG)
    _first_at: float | None = None  # time of the wait's first read
    _overdue_at: float | None = None  # when the predicted end passed without the job ending
    _progress_at: tuple[float, float] | None = None  # (progress, time) of the first progress seen
    _changed_at: tuple[float, float] | None = None  # (progress, time) when it first changed
    _latest: tuple[float, float] | None = None  # (progress, time) of the latest change

    def __post_init__(self) -> None:
        self.poll_interval = max(0.01, float(self.poll_interval))
        self.max_poll_interval = max(self.poll_interval, float(self.max_poll_interval))

    def update_estimate(self, job: MediaJob, now: float) -> float | None:
        """Record ``job``'s progress, then return the seconds until it likely ends: the shorter of
        the provider's ETA and the estimate from the progress rate seen so far (the rate is measured on our clock, so it holds even
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
        if self._first_at is None:
            self._first_at = now
        remaining = self.update_estimate(job, now)
        if remaining is not None and remaining > 0:
            self._overdue_at = None
            if remaining >= AIM_WITHIN * self.poll_interval:
                # far: go a share of the way and re-estimate, but leave at least one poll_interval
                # so the last read can still land just after the end
                share = self._jittered(remaining * ETA_SHARE)
                return max(self.poll_interval, min(share, remaining - self.poll_interval))
            # close: aim just past the predicted end (no jitter: the ends are spread already)
            return self._bounded(remaining * (1 + END_MARGIN))
        if remaining is not None:  # the predicted end has passed: back off from that moment
            if self._overdue_at is None:
                self._overdue_at = now
            return self._jittered(IDLE_SHARE * (now - self._overdue_at))
        # a progress figure without a rate yet: it becomes an estimate once it moves, so measure
        # the rate at the pace of a fresh wait rather than of the whole wait so far
        since = self._first_at if self._progress_at is None else self._progress_at[1]
        target = IDLE_SHARE * (now - since)
        if job.queue_position is not None and job.queue_position > 0:
            target = max(target, self.poll_interval * (1 + job.queue_position))
        return self._jittered(target)

    def _bounded(self, delay: float) -> float:
        return min(self.max_poll_interval, max(self.poll_interval, delay))

    def _jittered(self, delay: float) -> float:
        return min(self.max_poll_interval, self._bounded(delay) * self.rng.uniform(1 - JITTER, 1 + JITTER))
