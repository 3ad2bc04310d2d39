"""The seeded job mix: which provider, how long queued and running (emulated seconds), outcome.

Durations follow what the providers' documents and the research notes describe (image jobs in
seconds to a couple of minutes, lip-sync minutes, translation and video enhancement up to half an
hour); the emulator's ``--speed`` compresses them. Every job additionally waits ``hold_s``
(emulated) in the queue so that all N waits are alive at once while they ramp up, which is what
"N concurrent waits" measures (RSS per wait, loop lag at full load).

Workloads (``python -m benchmarks --workloads``): ``mix`` (the job mix above: it holds the jobs of
many reads, a TensorPix enhancement of up to half an hour is read ~25 times), ``short`` (image
jobs of tens of seconds with ETA and progress hints: a wait costs few reads, so what it costs
besides them weighs most) and ``long`` (video jobs of minutes without any hint).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

# (provider, kind, weight, queued_s range, running_s range) — emulated seconds
MIX: tuple[tuple[str, str, float, tuple[float, float], tuple[float, float]], ...] = (
    ("tensorart", "job", 0.30, (5, 60), (10, 90)),
    ("goenhance", "faceswap", 0.15, (10, 60), (20, 120)),
    ("goenhance", "video2video", 0.10, (60, 300), (180, 900)),
    ("vozo", "lipsync", 0.15, (30, 180), (60, 300)),
    ("vozo", "translate", 0.10, (60, 600), (300, 1200)),
    ("tensorpix", "enhance", 0.20, (30, 300), (300, 1800)),
)
FAILURE_SHARE = 0.05

# Trigger cadence per provider at speed 1 (the dialects' defaults), seconds.
CADENCE = {
    "tensorart": (5.0, 60.0),
    "goenhance": (5.0, 60.0),
    "vozo": (15.0, 120.0),
    "tensorpix": (10.0, 60.0),
}


@dataclass(frozen=True)
class JobSpec:
    provider: str
    kind: str
    queued_s: float
    running_s: float
    outcome: str

    @property
    def trigger_kind(self) -> str | None:
        return "translate" if (self.provider, self.kind) == ("vozo", "translate") else None

    def script(self, hold_s: float) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "kind": self.kind,
            "queued_s": round(self.queued_s + hold_s, 3),
            "running_s": round(self.running_s, 3),
            "outcome": self.outcome,
        }
        if self.outcome == "failed":
            fields["failure_reason"] = "emulated failure"
        return fields

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mixed(n: int, seed: int, only: str | None = None) -> list[JobSpec]:
    """``n`` jobs of the mix (or of one provider's rows only), deterministic for ``seed``."""
    rng = random.Random(seed)
    rows = [row for row in MIX if only is None or row[0] == only]
    weights = [row[2] for row in rows]
    jobs = []
    for _ in range(n):
        provider, kind, _w, (q0, q1), (r0, r1) = rng.choices(rows, weights)[0]
        outcome = "failed" if rng.random() < FAILURE_SHARE else "succeeded"
        jobs.append(JobSpec(provider, kind, rng.uniform(q0, q1), rng.uniform(r0, r1), outcome))
    return jobs


def short_tams(n: int, seed: int) -> list[JobSpec]:
    """TAMS image jobs (seconds to a minute): the rate-limit scenario."""
    rng = random.Random(seed)
    return [
        JobSpec("tensorart", "job", rng.uniform(2, 20), rng.uniform(5, 40), "succeeded") for _ in range(n)
    ]


def short_hinted(n: int, seed: int) -> list[JobSpec]:
    """TensorPix jobs of 20-30 s with ETA and progress, a few seconds queued."""
    rng = random.Random(seed)
    return [
        JobSpec("tensorpix", "enhance", rng.uniform(0, 5), rng.uniform(20, 30), "succeeded") for _ in range(n)
    ]


def long_unhinted(n: int, seed: int) -> list[JobSpec]:
    """GoEnhance video jobs of 5-15 min (no ETA, no progress, no queue position)."""
    rng = random.Random(seed)
    return [
        JobSpec("goenhance", "video2video", rng.uniform(30, 120), rng.uniform(300, 900), "succeeded")
        for _ in range(n)
    ]


WORKLOADS: dict[str, Callable[[int, int], list[JobSpec]]] = {
    "mix": mixed,
    "short": short_hinted,
    "long": long_unhinted,
}
