"""Where the Airflow internals the tests use live on each supported Airflow line (3.1, and 3.2+).

The package itself needs only ``airflow_provider_mediajobs._compat``; the tests also rebuild
triggers the way the triggerer does and parse DAG files, and those internals moved in 3.2.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from airflow_provider_mediajobs._compat import AIRFLOW_VERSION

try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 3.1
    from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

try:
    from airflow._shared.module_loading import import_string
except ImportError:  # Airflow 3.1
    from airflow.utils.module_loading import import_string  # type: ignore[no-redef]

__all__ = [
    "AIRFLOW_VERSION",
    "DagBag",
    "FakeSupervisor",
    "all_admins_token",
    "bind_task_instance",
    "decode_trigger_kwargs",
    "import_string",
    "stored_trigger_kwargs",
]


def all_admins_token(server_url: str) -> str:
    """An API token from an API server whose simple auth manager makes everyone admin.

    Airflow 3.1's REST API refuses requests without one (3.3 lets them through as admin). Not
    cached: two servers in one test session may get the same free port with different JWT secrets.
    """
    with urllib.request.urlopen(f"{server_url}/auth/token", timeout=30) as resp:
        return str(json.loads(resp.read())["access_token"])


def stored_trigger_kwargs(kwargs: dict[str, Any]) -> str:
    """The text a deferred trigger's kwargs become in the trigger table.

    3.2+: the worker sends them serde-encoded (``airflow.sdk.serde``); 3.1: ``DeferTask`` encodes them
    with ``BaseSerialization``. Either way the API server stores the JSON of that, unencrypted.
    """
    try:
        from airflow.sdk.serde import serialize
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serialized_objects import BaseSerialization

        return json.dumps(BaseSerialization.serialize(kwargs))
    return json.dumps(serialize(kwargs))


def decode_trigger_kwargs(stored: str) -> dict[str, Any]:
    """Stored kwargs back into constructor arguments, as ``TriggerRunner.create_triggers`` does."""
    from airflow.models.trigger import Trigger

    try:
        from airflow.serialization.decoders import smart_decode_trigger_kwargs
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serialized_objects import smart_decode_trigger_kwargs

    return {k: smart_decode_trigger_kwargs(v) for k, v in Trigger._decrypt_kwargs(stored).items()}


class FakeSupervisor:
    """What a trigger's process talks to in a triggerer (``task_runner.SUPERVISOR_COMMS``): answers
    ``GetTaskStates`` from ``states`` ({(run_id, task_id): state}), or raises ``error``; other
    messages (``MaskSecret`` when a connection is read) get no answer, as they do in a triggerer."""

    def __init__(self, states: dict[tuple[str, str], str | None] | None = None) -> None:
        self.states = dict(states or {})
        self.error: Exception | None = None
        self.asked: list[Any] = []

    async def asend(self, msg: Any) -> Any:
        from airflow.sdk.execution_time.comms import TaskStatesResult

        if type(msg).__name__ != "GetTaskStates":
            return None
        self.asked.append(msg)
        if self.error is not None:
            raise self.error
        found: dict[str, dict[str, Any]] = {}
        for (run_id, task_id), state in self.states.items():
            if run_id in (msg.run_ids or [run_id]) and task_id in (msg.task_ids or [task_id]):
                found.setdefault(run_id, {})[task_id] = state
        return TaskStatesResult(task_states=found)


def bind_task_instance(trigger: Any, run_id: str = "run-1", task_id: str = "submit") -> Any:
    """Give ``trigger`` the task instance a triggerer attaches to it (``trigger.task_instance``)."""
    from types import SimpleNamespace

    trigger.task_instance = SimpleNamespace(dag_id="dag", run_id=run_id, task_id=task_id, map_index=-1)
    return trigger
