"""Token-bucket rate limiting per (provider, key), on the real clock."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, limits: dict[str, float] | None = None) -> None:
        self._lock = threading.Lock()
        self.limits: dict[str, float] = {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # -> (tokens, last)
        for provider, qps in (limits or {}).items():
            self.set(provider, qps)

    def set(self, provider: str, qps: float | None) -> None:
        with self._lock:
            if qps is None or qps <= 0:
                self.limits.pop(provider, None)
            else:
                self.limits[provider] = float(qps)
            self._buckets = {k: v for k, v in self._buckets.items() if k[0] != provider}

    def reset(self, limits: dict[str, float]) -> None:
        with self._lock:
            self.limits = {p: float(q) for p, q in limits.items() if q and q > 0}
            self._buckets = {}

    def check(self, provider: str, key: str) -> int | None:
        """Take one token; ``None`` if allowed, else the Retry-After seconds (>= 1)."""
        with self._lock:
            qps = self.limits.get(provider)
            if qps is None:
                return None
            burst = max(1.0, qps)
            now = time.monotonic()
            tokens, last = self._buckets.get((provider, key), (burst, now))
            tokens = min(burst, tokens + (now - last) * qps)
            if tokens >= 1.0:
                self._buckets[(provider, key)] = (tokens - 1.0, now)
                return None
            self._buckets[(provider, key)] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / qps))
