"""MediaJobTrigger.on_kill: a paid job is canceled only when a person ended the task.

The triggerer (Airflow 3.3) calls ``on_kill`` when a user marks the task failed or success or clears
it -- and also when the trigger moved to another triggerer after this one stalled. The trigger
reads its task instance's state through the supervisor (faked here as a triggerer's
``SUPERVISOR_COMMS``) and cancels only when the task is no longer deferred.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_mediajobs.engine.transport import override_async_transport
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.airflow_compat import FakeSupervisor, bind_task_instance
from support.triggers import fast_trigger

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSupervisor]:
    from airflow.sdk.execution_time import task_runner

    fake = FakeSupervisor()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
    yield fake


class Provider:
    """A MockTransport handler recording every request; DELETE answers ``cancel_status``."""

    def __init__(self, cancel_status: int = 204) -> None:
        self.cancel_status = cancel_status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.cancel_status == 409:
            return httpx.Response(409, json={"detail": "Job already canceled."})
        return httpx.Response(self.cancel_status)

    @property
    def cancels(self) -> list[str]:
        return [r.url.path for r in self.requests if r.method == "DELETE"]


def make(**overrides: Any) -> MediaJobTrigger:
    trigger = bind_task_instance(fast_trigger(**{"cancel_on_kill": True, **overrides}))
    trigger._log = logging.getLogger("mediajobs.test.on_kill")  # stdlib records for caplog
    return trigger


async def kill(trigger: MediaJobTrigger, provider: Provider) -> None:
    with override_async_transport(httpx.MockTransport(provider)):
        await trigger.on_kill()


@pytest.mark.parametrize(
    ("state", "why"),
    [("failed", "marked failed"), ("success", "marked success"), (None, "cleared"), ("scheduled", "cleared")],
)
async def test_a_person_ending_the_task_cancels_the_job(
    supervisor: FakeSupervisor, caplog: pytest.LogCaptureFixture, state: str | None, why: str
) -> None:
    supervisor.states[("run-1", "submit")] = state
    provider = Provider()
    with caplog.at_level(logging.INFO):
        await kill(make(), provider)
    assert provider.cancels == ["/api/jobs/42/"], why
    (asked,) = supervisor.asked  # one state read, for this task instance only
    assert (asked.dag_id, asked.run_ids, asked.task_ids, asked.map_index) == (
        "dag",
        ["run-1"],
        ["submit"],
        -1,
    )
    assert "no longer deferred" in caplog.text and "done" in caplog.text


async def test_a_task_instance_that_no_longer_exists_is_treated_as_ended(supervisor: FakeSupervisor) -> None:
    provider = Provider()  # e.g. the DAG run was deleted: nothing will ever resume this wait
    await kill(make(), provider)
    assert provider.cancels == ["/api/jobs/42/"]


async def test_a_trigger_that_moved_to_another_triggerer_cancels_nothing(
    supervisor: FakeSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor.states[("run-1", "submit")] = "deferred"
    provider = Provider()
    with caplog.at_level(logging.INFO):
        await kill(make(), provider)
    assert provider.requests == []
    lines = [r.getMessage() for r in caplog.records if "not canceled" in r.getMessage()]
    assert lines == [
        "tensorpix job 42 not canceled: its task is still deferred (the trigger moved to another triggerer)."
    ]


async def test_an_unreadable_state_cancels_nothing_and_says_why_in_one_line(
    supervisor: FakeSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor.error = RuntimeError("API server unreachable")
    provider = Provider()
    with caplog.at_level(logging.INFO):
        await kill(make(), provider)
    assert provider.requests == []
    (line,) = [r.getMessage() for r in caplog.records if "not canceled" in r.getMessage()]
    assert "cannot be read" in line and "API server unreachable" in line and "\n" not in line


async def test_outside_a_triggerer_or_without_a_task_instance_nothing_is_canceled(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow.sdk.execution_time import task_runner

    monkeypatch.delattr(task_runner, "SUPERVISOR_COMMS", raising=False)
    provider = Provider()
    with caplog.at_level(logging.INFO):
        await kill(make(), provider)
        trigger = make()
        trigger.task_instance = None
        await kill(trigger, provider)
    assert provider.requests == []
    assert "not running under a triggerer" in caplog.text
    assert "carries no task instance" in caplog.text


async def test_a_state_read_that_hangs_gives_up_without_canceling(
    supervisor: FakeSupervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from airflow_provider_mediajobs import _compat

    async def never(msg: Any) -> Any:
        await asyncio.sleep(3600)

    monkeypatch.setattr(supervisor, "asend", never)
    monkeypatch.setattr(_compat, "STATE_READ_TIMEOUT", 0.05)
    provider = Provider()
    await kill(make(), provider)
    assert provider.requests == []


async def test_on_kill_cancels_only_when_asked(supervisor: FakeSupervisor) -> None:
    supervisor.states[("run-1", "submit")] = "failed"
    provider = Provider()
    await kill(make(cancel_on_kill=False), provider)
    assert provider.requests == [] and supervisor.asked == []  # a sensor never even asks
    await kill(make(cancel_on_kill=True), provider)
    assert provider.cancels == ["/api/jobs/42/"]


async def test_on_kill_treats_already_canceled_as_done_and_goenhance_as_impossible(
    supervisor: FakeSupervisor,
) -> None:
    supervisor.states[("run-1", "submit")] = "failed"
    provider = Provider(cancel_status=409)
    await kill(make(), provider)
    await kill(make(provider="goenhance", conn_id="goenhance_default", job_id="a-b"), provider)
    assert len(provider.requests) == 1  # GoEnhance has no cancel API: no request at all
    assert len(supervisor.asked) == 1  # ... and no state read either


async def test_a_repeated_cancel_during_the_state_read_still_decides(supervisor: FakeSupervisor) -> None:
    """The triggerer cancels a still-running trigger again on each loop; that must not interrupt
    on_kill half-way (the state read was lost that way on a loaded triggerer: nothing decided)."""
    import asyncio

    supervisor.states[("run-1", "submit")] = "failed"
    answer = supervisor.asend
    read_started = asyncio.Event()

    async def slow_asend(msg: Any) -> Any:
        if type(msg).__name__ == "GetTaskStates":
            read_started.set()
            await asyncio.sleep(0.3)
        return await answer(msg)

    supervisor.asend = slow_asend  # type: ignore[method-assign]
    provider = Provider()
    with override_async_transport(httpx.MockTransport(provider)):
        killing = asyncio.ensure_future(make().on_kill())
        await read_started.wait()
        killing.cancel()  # the triggerer's next loop
        await asyncio.sleep(0.05)
        killing.cancel()
        await killing
    assert provider.cancels == ["/api/jobs/42/"]
