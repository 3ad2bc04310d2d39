"""Injected faults: what they match, how many times they fire, and the CLI spec parser."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

KINDS = (
    "http_500",
    "http_502",
    "http_503",
    "http_429",
    "latency",
    "reset",
    "truncated",
    "non_json",
    "html",
    "goenhance_code",
    "flap",
)
ROUTES = ("status", "create", "cancel", "test", "upload", "lookup", "cdn", "any")
_ANY = (None, "", "*", "any")


class FaultError(ValueError):
    """An invalid fault definition."""


@dataclass
class Fault:
    id: str
    kind: str
    provider: str | None = None
    job_id: str | None = None
    route: str = "any"
    count: int | None = None  # None: unlimited
    probability: float = 1.0
    retry_after: int = 2
    delay_s: float = 1.0
    code: int = 500
    msg: str = "emulated error"

    def matches(self, provider: str, route: str, job_id: str | None) -> bool:
        if self.provider is not None and self.provider != provider:
            return False
        if self.route != "any" and self.route != route:
            return False
        if self.job_id is not None and self.job_id != job_id:
            return False
        if self.kind == "flap":
            return route == "status"
        if self.kind == "goenhance_code":
            return provider == "goenhance" and route != "cdn"
        return True

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def make_fault(fault_id: str, spec: Mapping[str, Any], providers: Collection[str]) -> Fault:
    known = {"provider", "job_id", "route", "kind", "count", "probability"}
    known |= {"retry_after", "delay_s", "code", "msg"}
    unknown = set(spec) - known
    if unknown:
        raise FaultError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}")
    provider = spec.get("provider")
    provider = None if provider in _ANY else provider
    if provider is not None and provider not in providers:
        raise FaultError(f"provider must be null or one of {', '.join(providers)}")
    route = spec.get("route") or "any"
    if route not in ROUTES:
        raise FaultError(f"route must be one of {', '.join(ROUTES)}")
    job_id = spec.get("job_id")
    try:
        count = None if spec.get("count") is None else int(spec["count"])
        probability = float(spec.get("probability", 1.0))
        retry_after = int(spec.get("retry_after", 2))
        delay_s = float(spec.get("delay_s", 1.0))
        code = int(spec.get("code", 500))
    except (TypeError, ValueError) as err:
        raise FaultError(f"bad fault value: {err}") from None
    if count is not None and count < 1:
        raise FaultError("count must be >= 1 or null")
    if not 0.0 <= probability <= 1.0:
        raise FaultError("probability must be within 0..1")
    if delay_s < 0 or retry_after < 0:
        raise FaultError("delay_s and retry_after must be >= 0")
    return Fault(
        id=fault_id,
        kind=str(kind),
        provider=provider,
        job_id=None if job_id in (None, "") else str(job_id),
        route=str(route),
        count=count,
        probability=probability,
        retry_after=retry_after,
        delay_s=delay_s,
        code=code,
        msg=str(spec.get("msg", "emulated error")),
    )


def parse_spec(text: str) -> dict[str, Any]:
    """``PROVIDER:ROUTE:KIND[:key=value,...]`` → a fault dict (``*``/``any`` for any provider)."""
    parts = text.split(":", 3)
    if len(parts) < 3:
        raise FaultError(f"fault spec {text!r}: expected PROVIDER:ROUTE:KIND[:key=value,...]")
    spec: dict[str, Any] = {"provider": parts[0], "route": parts[1], "kind": parts[2]}
    if len(parts) == 4 and parts[3]:
        for item in parts[3].split(","):
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise FaultError(f"fault spec {text!r}: bad option {item!r}")
            spec[key.strip()] = None if value.strip() in ("null", "none", "") else value.strip()
    return spec


class FaultSet:
    """The installed faults; ``take`` consumes one firing of the first matching fault."""

    def __init__(self, seed: int = 0, providers: Collection[str] = ()) -> None:
        self.providers = tuple(providers)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._seed = seed
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._faults: list[Fault] = []
            self._rng = random.Random(self._seed + 1)

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = make_fault(f"f{next(self._ids)}", spec, self.providers)
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def take(self, provider: str, route: str, job_id: str | None, *, flap: bool = False) -> Fault | None:
        """The fault that fires for this request (flap faults only when ``flap``), consuming one count."""
        with self._lock:
            for fault in self._faults:
                if (fault.kind == "flap") != flap or not fault.matches(provider, route, job_id):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None
