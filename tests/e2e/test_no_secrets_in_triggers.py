"""Issue 4: no trigger kwargs contain a key.

Airflow 3 stores trigger kwargs in the metadata DB's ``trigger`` table in plain text. Every
connection here holds a sentinel credential (a random API key per provider; a fresh TAMS RSA
private key), accepted by the emulator, so the waits are real.

1. A real deferral, for every sensor and submit operator: ``execute()`` reads the job over HTTP,
   ``defer()`` raises ``TaskDeferred``; its trigger's ``serialize()`` (and the serde form the Task
   SDK sends to the Execution API, and every repr) holds no sentinel — and is enough to rebuild
   the trigger, which then waits the job out with nothing but those kwargs.
2. After a DAG run through Airflow (TAMS signing with the private key), every row of the
   ``trigger`` table, raw and decrypted, holds no sentinel. (Each e2e run also checks its own rows,
   XComs and logs: ``check_no_secrets``.)
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from e2e_support import DagRunner, SentinelEmulator

from airflow_provider_mediajobs._compat import TaskDeferred
from airflow_provider_mediajobs.operators import (
    GoEnhanceSubmitJobOperator,
    MediaJobSubmitOperator,
    TensorArtSubmitJobOperator,
    TensorPixSubmitJobOperator,
    VozoSubmitJobOperator,
)
from airflow_provider_mediajobs.sensors import MediaJobSensor
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.airflow_compat import stored_trigger_kwargs
from support.constants import PROVIDERS

pytestmark = pytest.mark.e2e

PAYLOADS: dict[str, tuple[type[MediaJobSubmitOperator], dict[str, Any], str | None]] = {
    "goenhance": (
        GoEnhanceSubmitJobOperator,
        {"args": {"reference_img": "https://e2e.test/a.jpg", "source_img": "https://e2e.test/b.jpg"}},
        None,
    ),
    "tensorart": (TensorArtSubmitJobOperator, {"stages": [{"type": "INPUT_INITIALIZE"}]}, None),
    "vozo": (
        VozoSubmitJobOperator,
        {
            "media_type": "video",
            "media_url": "https://e2e.test/talk.mp4",
            "source_language": "auto",
            "target_language": "es",
            "export_type": "all",
        },
        "translate",
    ),
    "tensorpix": (TensorPixSubmitJobOperator, {"url": "https://e2e.test/in.mp4"}, None),
}
# conn id -> provider; TAMS in both modes (the default connection signs with the private key)
CONNECTIONS = {
    "goenhance_default": "goenhance",
    "tensorart_default": "tensorart",
    "tensorart_bearer": "tensorart",
    "vozo_default": "vozo",
    "tensorpix_default": "tensorpix",
}


class TI:
    """The few task-instance fields the operators use."""

    dag_id, task_id, run_id, map_index, try_number = "secrets", "wait", "manual__e2e", -1, 1

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def deferral(task: Any) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as info:
        task.execute({"ti": TI(), "task_instance": TI()})
    return info.value


def scan(env: SentinelEmulator, deferred: TaskDeferred) -> dict[str, Any]:
    """Every form the deferral takes on its way to the DB; returns the kwargs."""
    trigger = deferred.trigger
    assert isinstance(trigger, MediaJobTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_mediajobs.triggers.MediaJobTrigger"
    for value in kwargs.values():
        assert value is None or isinstance(value, (str, int, float, bool)), kwargs
    forms = [
        json.dumps(kwargs),
        stored_trigger_kwargs(kwargs),
        repr(trigger),
        repr(deferred),
        str(deferred),
        json.dumps(deferred.kwargs, default=str),
    ]
    assert env.sentinels.find("\n".join(forms)) == []
    return kwargs


def wait_out(env: SentinelEmulator, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the trigger from its kwargs alone (as a triggerer does) and let the job finish."""
    env.emulator.advance(4000)
    trigger = MediaJobTrigger(**kwargs)

    async def first_event() -> dict[str, Any]:
        return (await anext(trigger.run())).payload

    return asyncio.run(first_event())


@pytest.mark.parametrize("conn_id", list(CONNECTIONS))
def test_sensor_deferral_holds_no_secret(e2e_env: SentinelEmulator, conn_id: str) -> None:
    emu = e2e_env.emulator
    emu.reset()
    provider = CONNECTIONS[conn_id]
    kind = PAYLOADS[provider][2]
    job_id = str(emu.add_job(provider, queued_s=600, running_s=600, **({"kind": kind} if kind else {})))
    sensor = MediaJobSensor(task_id="wait", conn_id=conn_id, job_id=job_id, job_kind=kind, poll_interval=0.05)

    kwargs = scan(e2e_env, deferral(sensor))

    assert kwargs["provider"] == provider and kwargs["job_id"] == job_id and kwargs["conn_id"] == conn_id
    assert kwargs["cancel_on_kill"] is False  # a sensor never cancels a job it did not start
    event = wait_out(e2e_env, kwargs)
    assert event["status"] == "succeeded" and event["job"]["job_id"] == job_id
    assert e2e_env.sentinels.find(json.dumps(event)) == []


@pytest.mark.parametrize("conn_id", list(CONNECTIONS))
def test_submit_deferral_holds_no_secret(e2e_env: SentinelEmulator, conn_id: str) -> None:
    emu = e2e_env.emulator
    emu.reset()
    provider = CONNECTIONS[conn_id]
    cls, payload, kind = PAYLOADS[provider]
    emu.script(provider, queued_s=600, running_s=600)
    operator = cls(task_id="submit", conn_id=conn_id, payload=payload, job_kind=kind, poll_interval=0.05)

    deferred = deferral(operator)
    kwargs = scan(e2e_env, deferred)

    assert kwargs["provider"] == provider and kwargs["conn_id"] == conn_id
    assert deferred.kwargs == {"job_id": kwargs["job_id"]}
    assert kwargs["cancel_on_kill"] is True  # the submitter owns the job
    assert emu.stats()["jobs"] == {provider: 1}
    event = wait_out(e2e_env, kwargs)
    assert event["status"] == "succeeded" and event["job"]["job_id"] == kwargs["job_id"]


def test_trigger_table_after_a_run_holds_no_secret(runner: DagRunner, e2e_env: SentinelEmulator) -> None:
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    e2e_env.emulator.script("tensorart", queued_s=0.6, running_s=0.6)
    result = runner.run("example_mediajobs_tensorart", conf={"prompt": "no secrets here"})
    assert result.state == "success", result.tail()

    with create_session() as session:
        rows = [(t.classpath, t.encrypted_kwargs, t.kwargs) for t in session.scalars(select(Trigger))]
    ours = [row for row in rows if row[0] == "airflow_provider_mediajobs.triggers.MediaJobTrigger"]
    assert ours, "the run left no trigger row to inspect"
    assert any(kwargs["conn_id"] == "tensorart_default" for _, _, kwargs in ours)
    text = "\n".join(f"{raw}\n{json.dumps(kwargs, default=str)}" for _, raw, kwargs in rows)
    assert e2e_env.sentinels.find(text) == []


def test_the_scan_finds_each_credential(e2e_env: SentinelEmulator) -> None:
    """The search is not vacuous: the connections themselves hold every sentinel."""
    found = e2e_env.sentinels.find(json.dumps(e2e_env.connections))
    assert found == sorted({label.split(" line ")[0] for label in e2e_env.sentinels.texts})
    assert {f"{p} API key" for p in PROVIDERS} <= set(found)
    assert "TAMS private key" in found
    one_line = e2e_env.connections["tensorart_default"]["extra"]["private_key"].splitlines()[3]
    assert e2e_env.sentinels.find(f"... {one_line} ...") == ["TAMS private key"]
