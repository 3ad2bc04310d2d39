"""Fixtures of the observability tests (helpers in observability_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from observability_support import RecordingStats, installed


@pytest.fixture
def recording_stats(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingStats]:
    from airflow_provider_mediajobs import metrics

    monkeypatch.setattr(metrics, "_prepared_in", None)
    recorder = RecordingStats()
    with installed(lambda: recorder):
        yield recorder
