"""What differs between the Airflow versions this provider supports (3.1 and newer).

The task-level exceptions moved to ``airflow.sdk.exceptions`` in Airflow 3.2; on 3.1 they live in
``airflow.exceptions`` only (on 3.2+ those names are deprecated aliases of the same classes).

A triggerer calls a trigger's ``on_kill()`` from Airflow 3.3 on (:data:`TRIGGERER_CALLS_ON_KILL`);
3.1 never does, so a kill there cancels no remote job. Both let a trigger read task states through
the Task SDK's supervisor channel (:func:`task_instance_state`).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from airflow import __version__ as _airflow_version

_major_minor = re.match(r"(\d+)\.(\d+)", _airflow_version)
#: (major, minor) of the running Airflow, e.g. (3, 3).
AIRFLOW_VERSION: tuple[int, int] = (
    (int(_major_minor.group(1)), int(_major_minor.group(2))) if _major_minor else (0, 0)
)

#: Whether the triggerer calls ``BaseTrigger.on_kill()`` when a user kills a deferred task.
TRIGGERER_CALLS_ON_KILL = AIRFLOW_VERSION >= (3, 3)


def _state_read_timeout() -> float:
    """Two thirds of ``[triggerer] on_kill_timeout`` (30 s by default): the triggerer's supervisor
    answers from its own loop, and its first execution-API call can take tens of seconds on a
    loaded machine; the rest is left for the cancel request itself."""
    from airflow.configuration import conf

    return max(5.0, conf.getfloat("triggerer", "on_kill_timeout", fallback=30.0) * 2 / 3)


STATE_READ_TIMEOUT: float | None = None  # seconds; None: from [triggerer] on_kill_timeout


class StateUnreadable(Exception):
    """The task instance's state could not be read; the message says why."""


async def task_instance_state(ti: Any) -> str | None:
    """The current state of task instance ``ti`` (a trigger's ``task_instance``) in the metadata DB,
    read from the trigger's process through the supervisor (``GetTaskStates``: the Task SDK's
    ``RuntimeTaskInstance.get_task_states``, asked without blocking the event loop). ``None``: the
    task instance has no state (cleared) or no longer exists. Raises :class:`StateUnreadable`."""
    if ti is None or not all(hasattr(ti, a) for a in ("dag_id", "run_id", "task_id")):
        raise StateUnreadable("the trigger carries no task instance")
    try:
        from airflow.sdk.execution_time import task_runner
        from airflow.sdk.execution_time.comms import GetTaskStates
    except ImportError as err:
        raise StateUnreadable(f"this Airflow has no Task SDK state read ({err})") from None
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    if comms is None or not hasattr(comms, "asend"):
        raise StateUnreadable("not running under a triggerer's supervisor")
    map_index = getattr(ti, "map_index", None)
    map_index = -1 if map_index is None else int(map_index)
    request = GetTaskStates(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=map_index)
    timeout = STATE_READ_TIMEOUT or _state_read_timeout()
    try:
        response = await asyncio.wait_for(comms.asend(request), timeout)
    except asyncio.TimeoutError:
        raise StateUnreadable(f"no answer from the triggerer's supervisor within {timeout:.0f}s") from None
    except Exception as err:  # the supervisor's API or DB call failed
        raise StateUnreadable(f"{type(err).__name__}: {err}"[:300]) from None
    states = getattr(response, "task_states", None)
    if not isinstance(states, dict):
        raise StateUnreadable(f"unexpected answer {type(response).__name__}")
    key = ti.task_id if map_index < 0 else f"{ti.task_id}_{map_index}"
    state = (states.get(ti.run_id) or {}).get(key)
    return None if state is None else str(getattr(state, "value", state))


try:  # Airflow 3.2+ moved the task exceptions to the Task SDK
    import airflow.sdk.exceptions as _task_exceptions

    _task_exceptions.TaskDeferred  # noqa: B018 - 3.1 has the module but not these names
except (ImportError, AttributeError):  # Airflow 3.1
    import airflow.exceptions as _task_exceptions  # type: ignore[no-redef]

AirflowFailException = _task_exceptions.AirflowFailException
AirflowSensorTimeout = _task_exceptions.AirflowSensorTimeout
AirflowSkipException = _task_exceptions.AirflowSkipException
TaskDeferralError = _task_exceptions.TaskDeferralError
TaskDeferralTimeout = _task_exceptions.TaskDeferralTimeout
TaskDeferred = _task_exceptions.TaskDeferred

__all__ = [
    "AIRFLOW_VERSION",
    "TRIGGERER_CALLS_ON_KILL",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "StateUnreadable",
    "TaskDeferralError",
    "TaskDeferralTimeout",
    "TaskDeferred",
    "task_instance_state",
]
