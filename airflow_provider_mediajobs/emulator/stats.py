"""Request counters served by ``GET /_emulator/stats``."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            self.rate_limited = 0
            self.connections = 0
            self.cdn_authorization_headers = 0

    def record(self, key: str, status: int | str) -> None:
        with self._lock:
            self._requests[key][str(status)] += 1

    def count_rate_limited(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def count_cdn_authorization(self) -> None:
        with self._lock:
            self.cdn_authorization_headers += 1

    def snapshot(self, jobs: dict[str, int]) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": {key: dict(codes) for key, codes in sorted(self._requests.items())},
                "rate_limited": self.rate_limited,
                "connections": self.connections,
                "cdn_authorization_headers": self.cdn_authorization_headers,
                "jobs": dict(jobs),
            }
