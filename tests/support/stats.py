"""A recording stats backend installed as Airflow's own, and the ``recording_stats`` fixture."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest


class RecordingStats:
    """Airflow's ``StatsLogger`` interface; every call kept as ``(kind, name, value, tags)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, dict[str, Any]]] = []

    def incr(self, stat: str, count: int = 1, rate: float = 1, *, tags: dict[str, Any] | None = None) -> None:
        self.calls.append(("incr", stat, count, dict(tags or {})))

    def decr(self, stat: str, count: int = 1, rate: float = 1, *, tags: dict[str, Any] | None = None) -> None:
        self.calls.append(("decr", stat, count, dict(tags or {})))

    def gauge(
        self,
        stat: str,
        value: float,
        rate: float = 1,
        delta: bool = False,
        *,
        tags: dict[str, Any] | None = None,
    ) -> None:
        self.calls.append(("gauge_delta" if delta else "gauge", stat, value, dict(tags or {})))

    def timing(self, stat: str, dt: Any, *, tags: dict[str, Any] | None = None) -> None:
        seconds = dt.total_seconds() if isinstance(dt, timedelta) else float(dt) / 1000
        self.calls.append(("timing", stat, seconds, dict(tags or {})))

    def timer(self, stat: str | None = None, *args: Any, **kwargs: Any) -> Any:
        """Airflow's own code times things (the provider does not): a timer that records nothing."""
        return contextlib.nullcontext(
            SimpleNamespace(duration=None, start=lambda: None, stop=lambda **_: None)
        )

    # ---- reading back --------------------------------------------------------------------------
    def named(self, prefix: str) -> list[tuple[str, str, Any, dict[str, Any]]]:
        return [c for c in self.calls if c[1].startswith(prefix)]

    def counts(self, prefix: str = "mediajobs.") -> dict[str, Any]:
        """Sum of incr values per name (``gauge_delta`` values summed too)."""
        totals: dict[str, Any] = {}
        for kind, name, value, _ in self.named(prefix):
            if kind in ("incr", "gauge_delta"):
                totals[name] = totals.get(name, 0) + value
        return totals


@contextmanager
def installed(factory: Callable[[], Any]) -> Iterator[None]:
    """``factory`` as the process's stats backend factory (the backend is built on first use)."""
    try:
        from airflow.sdk.observability import stats
    except ImportError:  # Airflow 3.1
        from airflow.stats import Stats

        saved = (Stats.instance, Stats._instance_pid, type(Stats).__dict__.get("factory"))
        type(Stats).factory = staticmethod(factory)  # type: ignore[attr-defined]
        Stats.instance, Stats._instance_pid = None, None
        try:
            yield
        finally:
            Stats.instance, Stats._instance_pid = saved[0], saved[1]
            if saved[2] is not None:
                type(Stats).factory = saved[2]  # type: ignore[attr-defined]
        return
    state = sys.modules[stats.initialize.__module__]  # the module the client's state lives in
    saved_sdk = (state._factory, state._backend, state._export_legacy_names)
    stats.initialize(factory=factory, export_legacy_names=False)
    try:
        yield
    finally:
        state._factory, state._backend, state._export_legacy_names = saved_sdk


@pytest.fixture
def recording_stats(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingStats]:
    """Every metric the package emits during the test, through Airflow's stats client."""
    from airflow_provider_mediajobs import metrics

    monkeypatch.setattr(metrics, "_prepared_in", None)
    recorder = RecordingStats()
    with installed(lambda: recorder):
        yield recorder
