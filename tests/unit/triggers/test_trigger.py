"""MediaJobTrigger against httpx.MockTransport: the triggerer contract, one behaviour per test."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from airflow_provider_mediajobs.engine import transport
from airflow_provider_mediajobs.engine import wait as wait_module
from airflow_provider_mediajobs.engine.loopstore import loop_store
from airflow_provider_mediajobs.engine.transport import override_async_transport
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections
from support.constants import SENTINEL, TAMS_HOST
from support.triggers import fast_trigger


@pytest.fixture(autouse=True)
def connections(provider_connections: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The default connections, and ``tams_limited`` with a client-side rate limit of 20/s."""
    limited = {"conn_type": "tensorart", "host": TAMS_HOST, "password": SENTINEL, "extra": {"rate_limit": 20}}
    set_connections(monkeypatch, {"tams_limited": limited})


def tensorpix_job(
    job_id: int, status: int, progress: float = 0.0, eta: float | None = 30.0
) -> dict[str, Any]:
    return {
        "id": job_id,
        "status": status,
        "processing_progress": progress,
        "eta_s": eta,
        "cost_usd": "0.5000",
        "output_video": {"file": f"https://cdn.test/{job_id}.mp4?Expires=4102444800"}
        if status == 2
        else None,
    }


class Script:
    """A MockTransport handler that answers from a list of responses, then repeats the last."""

    def __init__(
        self, *responses: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses[min(len(self.requests), len(self.responses)) - 1]
        if isinstance(item, Exception):
            raise item
        if callable(item) and not isinstance(item, httpx.Response):
            return item(request)
        return item


def ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


async def run_once(
    trigger: MediaJobTrigger, handler: Callable[[httpx.Request], httpx.Response]
) -> dict[str, Any]:
    events = []
    with override_async_transport(httpx.MockTransport(handler)):
        async for event in trigger.run():
            events.append(event.payload)
    assert len(events) == 1, "a trigger yields exactly one event"
    return events[0]


def test_serialize_is_json_primitives_without_secrets() -> None:
    trigger = fast_trigger(job_kind=None, cancel_on_kill=True)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_mediajobs.triggers.MediaJobTrigger"
    text = json.dumps(kwargs)  # raises if anything is not a JSON primitive
    assert SENTINEL not in text
    assert set(kwargs) == {
        "provider",
        "conn_id",
        "job_id",
        "job_kind",
        "poll_interval",
        "max_poll_interval",
        "deadline",
        "outage_tolerance",
        "max_backoff",
        "max_consecutive_failures",
        "cancel_on_kill",
        "started_at",
        "first_read_at",
    }
    rebuilt = MediaJobTrigger(**json.loads(text))
    assert rebuilt.serialize() == (path, kwargs)


async def test_waits_through_queue_and_progress_to_success() -> None:
    script = Script(
        ok(tensorpix_job(42, 0)),
        ok(tensorpix_job(42, 1, 0.3)),
        ok(tensorpix_job(42, 1, 0.8, eta=1)),
        ok(tensorpix_job(42, 2, 1.0)),
    )
    event = await run_once(fast_trigger(), script)
    assert event["status"] == "succeeded"
    assert event["job"]["state"] == "succeeded"
    assert event["job"]["output_urls"] == ["https://cdn.test/42.mp4?Expires=4102444800"]
    assert event["status_calls"] == 4 == len(script.requests)
    assert all(r.headers["Authorization"] == f"Token {SENTINEL}" for r in script.requests)
    assert SENTINEL not in json.dumps(event)


@pytest.mark.parametrize(("status", "expected"), [(-1, "failed"), (-2, "canceled")])
async def test_failed_and_canceled_end_the_wait(status: int, expected: str) -> None:
    event = await run_once(fast_trigger(), Script(ok(tensorpix_job(42, 1)), ok(tensorpix_job(42, status))))
    assert event["status"] == expected
    assert event["job"]["state"] == expected
    assert "42" in event["message"]


async def test_transient_errors_are_retried_then_succeed() -> None:
    script = Script(
        httpx.Response(502, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}),
        httpx.ConnectError("reset"),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, text="not json"),
        ok(tensorpix_job(42, 2)),
    )
    event = await run_once(fast_trigger(), script)
    assert event["status"] == "succeeded"
    assert len(script.requests) == 5


async def test_consecutive_failures_end_with_error_event() -> None:
    script = Script(httpx.Response(503, json={"detail": "down"}))
    event = await run_once(fast_trigger(max_consecutive_failures=3), script)
    assert event["status"] == "error"
    assert len(script.requests) == 3
    assert "503" in event["message"] and "tensorpix" in event["message"] and "3 failed" in event["message"]


async def test_a_success_resets_the_failure_count() -> None:
    down = httpx.Response(503, json={"detail": "down"})
    script = Script(down, down, ok(tensorpix_job(42, 1)), down, down, ok(tensorpix_job(42, 2)))
    event = await run_once(fast_trigger(max_consecutive_failures=3), script)
    assert event["status"] == "succeeded"


@pytest.mark.parametrize(
    ("response", "error_type"),
    [
        (httpx.Response(401, json={"detail": "Invalid token."}), "MediaJobAuthError"),
        (httpx.Response(403, json={"detail": "Forbidden"}), "MediaJobAuthError"),
        (httpx.Response(404, json={"detail": "Not found."}), "MediaJobNotFoundError"),
        (httpx.Response(400, json={"detail": "Insufficient credits"}), "MediaJobApiError"),
    ],
)
async def test_fatal_errors_end_at_once(response: httpx.Response, error_type: str) -> None:
    script = Script(response)
    event = await run_once(fast_trigger(), script)
    assert event["status"] == "error"
    assert event["error_type"] == error_type
    assert len(script.requests) == 1


async def test_retry_after_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float) -> None:
        delays.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(wait_module, "asyncio", type("A", (), {"sleep": staticmethod(record)}))
    script = Script(
        httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "throttled"}),
        ok(tensorpix_job(42, 2)),
    )
    event = await run_once(fast_trigger(max_poll_interval=1), script)
    assert event["status"] == "succeeded"
    assert delays and delays[0] >= 7, "never come back before Retry-After"


async def test_deadline_produces_timeout_event_with_last_job() -> None:
    event = await run_once(fast_trigger(deadline=time.time() + 0.2), Script(ok(tensorpix_job(42, 1, 0.1))))
    assert event["status"] == "timeout"
    assert event["job"]["state"] == "running"
    assert "Timed out" in event["message"]


async def test_deadline_already_past_makes_no_call() -> None:
    script = Script(ok(tensorpix_job(42, 1)))
    event = await run_once(fast_trigger(deadline=time.time() - 1), script)
    assert event["status"] == "timeout"
    assert script.requests == []


async def test_missing_connection_is_a_clear_error_event() -> None:
    event = await run_once(fast_trigger(conn_id="nope"), Script(ok(tensorpix_job(42, 2))))
    assert event["status"] == "error"
    assert "'nope'" in event["message"] and "does not exist" in event["message"]


async def test_unsafe_job_id_is_an_error_before_any_request() -> None:
    script = Script(ok(tensorpix_job(42, 2)))
    event = await run_once(fast_trigger(job_id="../42"), script)
    assert event["status"] == "error"
    assert event["error_type"] == "InvalidJobIdError"
    assert script.requests == []


async def test_running_twice_gives_equivalent_events() -> None:
    _path, kwargs = fast_trigger().serialize()
    body = tensorpix_job(42, 2)
    first = await run_once(MediaJobTrigger(**kwargs), Script(ok(body)))
    second = await run_once(MediaJobTrigger(**kwargs), Script(ok(body)))
    timing = ("waited_seconds", "queued_seconds", "running_seconds")  # wall-clock spans
    assert {k: v for k, v in first.items() if k not in timing} == {
        k: v for k, v in second.items() if k not in timing
    }


async def test_many_waits_share_one_client_which_is_closed_after() -> None:
    clients: set[int] = set()
    original = transport._new_client

    def spy(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        client = original(*args, **kwargs)
        clients.add(id(client))
        return client

    counter = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        counter["n"] += 1
        job_id = int(request.url.path.split("/")[-2])
        return ok(tensorpix_job(job_id, 2 if counter["n"] > 60 else 1, 0.5))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transport, "_new_client", spy)
        with override_async_transport(httpx.MockTransport(handler)):
            events = await asyncio.gather(*(_collect(fast_trigger(job_id=str(i))) for i in range(1, 31)))
    assert all(e["status"] == "succeeded" for e in events)
    assert len(clients) == 1
    assert not [key for key in loop_store() if key[0] == "client"]


async def _collect(trigger: MediaJobTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("no event")


async def test_connection_rate_limit_is_shared_by_all_waits() -> None:
    stamps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        stamps.append(time.monotonic())
        return ok(
            {"job": {"id": request.url.path.rsplit("/", 1)[-1], "status": "SUCCESS", "successInfo": {}}}
        )

    triggers = [
        fast_trigger(provider="tensorart", conn_id="tams_limited", job_id=str(10**17 + i)) for i in range(30)
    ]
    with override_async_transport(httpx.MockTransport(handler)):
        events = await asyncio.gather(*(_collect(t) for t in triggers))
    assert all(e["status"] == "succeeded" for e in events)
    # 30 calls at 20/s with a burst of 20: the last 10 are spaced by 50 ms -> >= ~0.45 s in all
    assert stamps[-1] - stamps[0] >= 0.4


# The event-loop check lives in tests/e2e/test_trigger_event_loop.py: 50 real triggers over real
# HTTP in asyncio debug mode, judged by loop-thread CPU so a loaded machine cannot fool it.
