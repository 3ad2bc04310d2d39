"""Fixtures of the outputs tests: the emulator with the default connections, finished jobs, the
bytes it serves for them, a destination folder and its files.

``emulator`` is the plugin's (``pytest11`` entry point) emulator with connections. The expected bytes of an output come straight from the emulator (a raw
status read over HTTP, then a plain GET of the CDN URL it lists): nothing of the package's client
side is used to decide what "byte-exact" means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.operators import persist as persist_module

from support.connections import set_connections
from support.constants import PROVIDERS

# provider -> kind -> raw status path (from docs/emulator.md, not from the package's dialects)
STATUS_PATHS = {
    ("goenhance", None): "/api/v1/jobs/detail?img_uuid={id}",
    ("goenhance", "faceswap"): "/api/v1/jobs/detail?img_uuid={id}",
    ("goenhance", "video2video"): "/api/v1/jobs/detail?img_uuid={id}",
    ("tensorart", None): "/v1/jobs/{id}",
    ("vozo", None): "/v1/video_generation/{id}",
    ("vozo", "lipsync"): "/v1/video_generation/{id}",
    ("vozo", "translate"): "/v1/media/translate/{id}",
    ("tensorpix", None): "/api/jobs/{id}/",
}


@pytest.fixture
def emulator(mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The plugin's emulator (speed 1000, fresh), with the four default connections pointing at it
    (its CDN is on 127.0.0.1: the connections allow private hosts)."""
    set_connections(
        monkeypatch,
        {
            f"{provider}_default": mediajobs_emulator.connection(
                provider, signature=False, allow_private_hosts=True
            )
            for provider in PROVIDERS
        },
    )
    return mediajobs_emulator


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries of downloads record their backoff instead of sleeping it."""
    slept: list[float] = []
    monkeypatch.setattr(persist_module, "_sleep", slept.append)
    return slept


@dataclass
class FinishedJob:
    provider: str
    job_id: str
    kind: str | None


@pytest.fixture
def finished(emulator: Emulator) -> Callable[..., FinishedJob]:
    """Create a job in the emulator and move its clock past the job's end."""

    def make(provider: str, kind: str | None = None, **script: Any) -> FinishedJob:
        if kind:
            script["kind"] = kind
        script = {"outcome": "succeeded", "queued_s": 2, "running_s": 3, **script}
        job_id = emulator.add_job(provider, **script)
        emulator.advance(10)
        return FinishedJob(provider, str(job_id), kind)

    return make


def _cdn_urls(value: Any, prefix: str) -> list[str]:
    if isinstance(value, str):
        return [value] if value.startswith(prefix) else []
    if isinstance(value, dict):
        return [url for item in value.values() for url in _cdn_urls(item, prefix)]
    if isinstance(value, list):
        return [url for item in value for url in _cdn_urls(item, prefix)]
    return []


@pytest.fixture
def served(emulator: Emulator) -> Callable[[FinishedJob], dict[str, bytes]]:
    """``{cdn path: bytes}`` of every output the emulator serves for a job, read without the package."""

    def read(job: FinishedJob) -> dict[str, bytes]:
        creds = emulator.credentials(job.provider)
        scheme = "Token" if job.provider == "tensorpix" else "Bearer"
        path = STATUS_PATHS[(job.provider, job.kind)].format(id=job.job_id)
        with httpx.Client(timeout=10) as client:
            status = client.get(
                emulator.base_url(job.provider) + path,
                headers={"Authorization": f"{scheme} {creds['api_key']}"},
            )
            assert status.status_code == 200, status.text
            out: dict[str, bytes] = {}
            for url in _cdn_urls(status.json(), emulator.url + "/cdn/"):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                out[urlsplit(url).path] = response.content
        return out

    return read


@pytest.fixture
def context() -> dict[str, Any]:
    """What ``execute`` reads from a task context (nothing, unless a test adds outlet events)."""
    return {}


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    """The destination folder (not created: the operator creates a missing local folder)."""
    return tmp_path / "renders"


@pytest.fixture
def files() -> Callable[[Path], dict[str, bytes]]:
    """Every file under a folder by name, hidden ones too: a left-over temporary file must show."""

    def list_files(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()} if folder.exists() else {}

    return list_files
