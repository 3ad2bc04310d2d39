"""Fixtures for the emulator tests: one emulator for the whole session, reset before every test.

The plugin's fixtures come from its ``pytest11`` entry point (they are exercised in
``test_emulator_cli.py``); every other test uses the session emulator built below directly from
the documented Python API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_mediajobs.emulator import Emulator

from support.emulator_api import auth_header, status_path, status_schema, validate


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    # speed 1: the emulated clock moves (almost) only through advance(), so timings are exact to
    # well under a second; no rate limit unless a test asks for one.
    with Emulator(port=0, seed=7, speed=1.0, tams_qps=0) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _fresh_emulator(emu: Emulator) -> None:
    emu.reset()


class Api:
    """Plain-HTTP access to the emulator, the way an outside client would see it."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.url = emu.url
        self.http = httpx.Client(base_url=emu.url, timeout=10)
        self.elapsed = 0.0  # emulated seconds moved by this helper's advance()

    def close(self) -> None:
        self.http.close()

    def advance(self, seconds: float) -> None:
        self.emu.advance(seconds)
        self.elapsed += seconds

    def request(
        self,
        provider: str,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {**auth_header(provider, key), **(headers or {})}
        return self.http.request(method, path, json=json, headers=all_headers)

    def status_response(self, provider: str, job_id: object, kind: str | None = None) -> httpx.Response:
        return self.request(provider, "GET", status_path(provider, job_id, kind))

    def status(self, provider: str, job_id: object, kind: str | None = None) -> dict[str, Any]:
        """A status read that must succeed and match the provider's documented schema."""
        response = self.status_response(provider, job_id, kind)
        assert response.status_code == 200, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        validate(body, status_schema(provider, kind))
        return body

    def timeline(
        self, provider: str, job_id: object, kind: str | None, until: float, step: float
    ) -> list[tuple[float, dict[str, Any]]]:
        """Read at t=0, then advance by ``step`` and read again until ``until`` emulated seconds."""
        start = self.elapsed
        samples = [(0.0, self.status(provider, job_id, kind))]
        while self.elapsed - start < until:
            self.advance(step)
            samples.append((self.elapsed - start, self.status(provider, job_id, kind)))
        return samples

    def download(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """Fetch an output URL the way a client must: no Authorization header."""
        assert url.startswith(self.url + "/cdn/"), url
        return httpx.get(url, headers=headers or {}, timeout=10)


@pytest.fixture
def api(emu: Emulator) -> Iterator[Api]:
    client = Api(emu)
    yield client
    client.close()
