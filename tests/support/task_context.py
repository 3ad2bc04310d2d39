"""Fixtures of the sensor and operator tests: a fake task context (task instance, task state
store), no-sleep pokes and provider API bodies shaped like the seed documents."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """``time.sleep`` records instead of sleeping (sensor pokes, tenacity retries)."""
    import time

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


# ---- a small task context ---------------------------------------------------------------------
class FakeTI:
    def __init__(
        self,
        *,
        dag_id: str = "media_dag",
        task_id: str = "submit",
        run_id: str = "manual__2026-01-01T00:00:00+00:00",
        map_index: int = -1,
        try_number: int = 1,
        journal: list[tuple[Any, ...]] | None = None,
    ) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = run_id
        self.map_index = map_index
        self.try_number = try_number
        self.xcoms: dict[str, Any] = {}
        self.journal = journal if journal is not None else []

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value
        self.journal.append(("xcom_push", key, value))


class FakeStore:
    """Stands in for Airflow 3.3's ``task_state_store`` accessor (get/set)."""

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = dict(initial or {})

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.data[key] = value


MakeContext = Callable[..., dict[str, Any]]


@pytest.fixture
def make_context() -> MakeContext:
    def make(store: FakeStore | None = None, **ti_fields: Any) -> dict[str, Any]:
        ti = FakeTI(**ti_fields)
        context: dict[str, Any] = {"ti": ti, "task_instance": ti}
        if store is not None:
            context["task_state_store"] = store
        return context

    return make


# ---- provider bodies (shapes from tests/seeds) -----------------------------------------
def tensorpix_body(
    job_id: int, status: int, progress: float = 0.5, eta: float | None = 30.0
) -> dict[str, Any]:
    return {
        "id": job_id,
        "status": status,
        "processing_progress": 1.0 if status == 2 else progress,
        "eta_s": None if status in (2, -1, -2) else eta,
        "cost_usd": "0.5000",
        "error": "Input video could not be decoded" if status == -1 else None,
        "output_video": {
            "file": f"https://cdn.tensorpix.test/{job_id}.mp4?Expires=4102444800",
            "name": "out.mp4",
        }
        if status == 2
        else None,
    }


def tams_body(job_id: str, status: str, reason: str = "NSFW content detected") -> dict[str, Any]:
    job: dict[str, Any] = {"id": job_id, "status": status, "credits": 2}
    if status == "RUNNING":
        job["runningInfo"] = {"processingImages": [{"progress": 0.4}]}
    if status == "WAITING":
        job["waitingInfo"] = {"queueRank": "3", "queueLen": "10"}
    if status == "SUCCESS":
        job["successInfo"] = {
            "images": [{"id": "img-1", "url": f"https://cdn.tams.test/{job_id}.png", "expiredIn": "3600"}]
        }
    if status == "FAILED":
        job["failedInfo"] = {"reason": reason, "code": "FATAL_ERROR"}
    return {"job": job}


def goenhance_body(img_uuid: str, status: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "img_uuid": img_uuid,
        "status": status,
        "type": "mx-image-face-swap",
        "job_type": "mx-image-face-swap",
        "start_time": "2026-01-01T00:00:00.000Z",
        "json": None,
    }
    if status == "success":
        data["end_time"] = "2026-01-01T00:00:30.000Z"
        data["json"] = [{"type": "image", "value": f"https://static.goenhance.test/{img_uuid}.jpg"}]
    if status == "failed":
        data["fail_reason"] = "No face found in the source image"
    return {"code": 0, "msg": "Success", "data": data}


@pytest.fixture
def bodies() -> SimpleNamespace:
    """The body builders above, for test modules (conftest is not importable as a module)."""
    return SimpleNamespace(tensorpix=tensorpix_body, tams=tams_body, goenhance=goenhance_body)


@pytest.fixture
def store_class() -> type[FakeStore]:
    return FakeStore
