"""A wait's status read is prepared once: URL parsed, client leased, headers built per wait, not per poll."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from airflow_provider_mediajobs.engine import api, transport
from airflow_provider_mediajobs.engine.transport import override_async_transport
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections

KEY = "tp-prepared-read-0123456789"
READS = 6


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts URL parses (an httpx.URL from text), client leases, header builds (the package's
    :func:`~airflow_provider_mediajobs.engine.transport.prepare`) and httpx requests."""
    counts: Counter[str] = Counter()
    url_init, request_init = httpx.URL.__init__, httpx.Request.__init__
    lease_enter, prepare_original = transport.ClientLease.__aenter__, transport.prepare

    def url(self: httpx.URL, url: Any = "", **kwargs: Any) -> None:
        counts["url parses"] += isinstance(url, str)
        url_init(self, url, **kwargs)

    def request(self: httpx.Request, *args: Any, **kwargs: Any) -> None:
        counts["httpx requests"] += 1
        request_init(self, *args, **kwargs)

    async def lease(self: transport.ClientLease) -> Any:
        counts["leases"] += 1
        return await lease_enter(self)

    def prepare(*args: Any) -> transport.PreparedRequest:
        counts["header builds"] += 1
        return prepare_original(*args)

    monkeypatch.setattr(httpx.URL, "__init__", url)
    monkeypatch.setattr(httpx.Request, "__init__", request)
    monkeypatch.setattr(transport.ClientLease, "__aenter__", lease)
    monkeypatch.setattr(api, "prepare", prepare)
    monkeypatch.setattr(transport, "prepare", prepare)
    yield counts


def tensorpix(status: int) -> dict[str, Any]:
    return {"id": 42, "status": status, "processing_progress": 0.5, "eta_s": None}


def tams(status: str) -> dict[str, Any]:
    return {"job": {"id": "42", "status": status}}


def trigger(provider: str, conn_id: str) -> MediaJobTrigger:
    return MediaJobTrigger(
        provider=provider,
        conn_id=conn_id,
        job_id="42",
        poll_interval=0.01,
        max_poll_interval=0.01,
        deadline=time.time() + 30,
    )


async def wait(
    trigger: MediaJobTrigger, running: dict[str, Any], done: dict[str, Any]
) -> list[httpx.Request]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=done if len(sent) >= READS else running)

    with override_async_transport(httpx.MockTransport(handler)):
        events = [event.payload async for event in trigger.run()]
    assert [e["status"] for e in events] == ["succeeded"] and events[0]["status_calls"] == READS
    return sent


async def test_a_wait_parses_its_url_leases_and_builds_headers_once(
    counted: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connections(monkeypatch, {"tp_prepared": {"conn_type": "tensorpix", "password": KEY}})
    sent = await wait(trigger("tensorpix", "tp_prepared"), tensorpix(1), tensorpix(2))

    assert len(sent) == READS
    assert counted == {"url parses": 1, "leases": 1, "header builds": 1, "httpx requests": 1}
    assert all(request is sent[0] for request in sent)  # the one prepared request, sent again
    assert sent[0].headers["Authorization"] == f"Token {KEY}"
    assert "timeout" not in sent[0].extensions  # the read's one timeout is its total deadline


async def test_a_signing_dialect_signs_each_read_on_the_url_parsed_once(
    counted: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    conn = {
        "conn_type": "tensorart",
        "host": "https://tams.test",
        "extra": {"rate_limit": 0, "app_id": "app-1", "private_key": pem},
    }
    set_connections(monkeypatch, {"tams_prepared": conn})
    sent = await wait(trigger("tensorart", "tams_prepared"), tams("RUNNING"), tams("SUCCESS"))

    assert counted["url parses"] == 1 and counted["leases"] == 1
    assert counted["header builds"] == READS == counted["httpx requests"]  # one signature per read
    nonces = {request.headers["Authorization"].split("nonce_str=")[1].split(",")[0] for request in sent}
    assert len(nonces) == READS


async def test_the_trigger_reads_first_at_first_read_at(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connections(monkeypatch, {"tp_prepared": {"conn_type": "tensorpix", "password": KEY}})
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.time())
        return httpx.Response(200, json=tensorpix(2))

    started = time.time()
    waiting = trigger("tensorpix", "tp_prepared")
    waiting.first_read_at = started + 0.3
    with override_async_transport(httpx.MockTransport(handler)):
        events = [event.payload async for event in waiting.run()]
    assert events[0]["status"] == "succeeded" and len(times) == 1
    assert times[0] >= started + 0.3
