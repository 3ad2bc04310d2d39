"""What the client process measures about itself: loop lag, RSS, CPU time."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size now (``/proc/self/statm``; ``ru_maxrss`` only knows the peak)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:  # not Linux: fall back to the peak
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Probe:
    """A task that sleeps ``interval`` and records how late it woke (the loop lag), sampling RSS.

    ``alive`` is read at each RSS sample so the peak can be divided by the waits alive at that moment.
    """

    interval: float = 0.05
    rss_every: float = 0.25
    lags: list[float] = field(default_factory=list)
    rss_samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, rss, alive)
    alive: int = 0
    _stop: bool = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_rss = 0.0
        while not self._stop:
            start = loop.time()
            await asyncio.sleep(self.interval)
            now = loop.time()
            self.lags.append(max(0.0, now - start - self.interval))
            if now >= next_rss:
                self.rss_samples.append((time.time(), rss_bytes(), self.alive))
                next_rss = now + self.rss_every

    def stop(self) -> None:
        self._stop = True
