"""Helpers of the end-to-end tests (imported by conftest.py and the test modules).

See conftest.py for how the example DAGs are run.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediajobs.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_dags"
DAG_FILES = {
    "example_mediajobs_goenhance": "example_goenhance.py",
    "example_mediajobs_tensorart": "example_tensorart.py",
    "example_mediajobs_vozo": "example_vozo.py",
    "example_mediajobs_tensorpix": "example_tensorpix.py",
    "mediajobs_pipeline": "example_pipeline.py",
}
BUNDLES = [
    {
        "name": "dags-folder",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(EXAMPLES)},
    }
]
# Fast enough for tests, slow enough to be a real wait: every scripted job is still queued when
# the task reads it before deferring, so each wait goes through the trigger.
POLL = (0.1, 0.25)


# ---- secrets to look for ------------------------------------------------------------------------
@dataclass
class Sentinels:
    """Credential texts (and the long pieces of the PEM) that must never appear anywhere."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, text: str) -> None:
        self.texts[label] = text

    def add_pem(self, label: str, pem: str) -> None:
        self.texts[label] = pem.strip()
        body = [line for line in pem.strip().splitlines() if not line.startswith("-----")]
        for i, line in enumerate(body):
            if len(line) >= 40:  # any line of the key's base64 body
                self.texts[f"{label} line {i}"] = line
        self.texts[f"{label} (escaped)"] = pem.strip().replace("\n", "\\n")[:120]

    def find(self, text: str) -> list[str]:
        return sorted({label.split(" line ")[0] for label, secret in self.texts.items() if secret in text})


@dataclass
class SentinelEmulator:
    emulator: Emulator
    connections: dict[str, dict[str, Any]]  # conn id -> AIRFLOW_CONN_* JSON
    sentinels: Sentinels


# ---- the metadata DB ----------------------------------------------------------------------------
# ---- running a DAG ------------------------------------------------------------------------------
@dataclass
class DagResult:
    dag_id: str
    run_id: str
    state: str
    tasks: dict[str, str]  # task id -> final state
    tries: dict[str, int]
    xcoms: dict[tuple[str, str], Any]  # (task id, key) -> value
    triggers: list[dict[str, Any]]  # rows this run added to the trigger table
    log: str
    seconds: float

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_id, key))

    def tail(self, chars: int = 6000) -> str:
        return "\n--- captured Airflow output (tail) ---\n" + self.log[-chars:]


def load_dag(dag_id: str) -> Any:
    from airflow.utils.cli import get_bagged_dag

    from support.airflow_compat import DagBag

    path = str(EXAMPLES / DAG_FILES[dag_id])
    bag = DagBag(dag_folder=path, safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    # What `airflow dags test` does: parse the file in its bundle and store the serialized DAG
    # (Airflow 3.1's dag.test() needs a DAG version in the metadata DB).
    return get_bagged_dag(None, dag_id, path)


def tune_waits(dag: Any, poll: tuple[float, float] = POLL, **attributes: Any) -> None:
    """Short poll intervals (and any other attribute) on every task that waits for a job."""
    from airflow_provider_mediajobs.task_wait import TaskWaitMixin

    for task in dag.tasks:
        if isinstance(task, TaskWaitMixin):
            task.poll_interval, task.max_poll_interval = poll
            for name, value in attributes.items():
                setattr(task, name, value)


def last_trigger_id() -> int:
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.max(Trigger.id))) or 0


def latest_run_id(dag_id: str) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run_id = session.scalar(
            select(DagRun.run_id).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        )
    assert run_id, f"no run of {dag_id}"
    return str(run_id)


def collect_run(dag_id: str, run_id: str, last_trigger: int, log: str, seconds: float) -> DagResult:
    """A finished run as the metadata DB records it (plus the output captured while it ran)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        assert run is not None
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ).all()
        # Task XComs arrive through the Execution API and are stored as JSON, which SQLAlchemy
        # decodes; XComModel.deserialize_value would decode a str once more ("753165" -> 753165).
        xcoms = {
            (row.task_id, row.key): row.value
            for row in session.scalars(
                select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == run_id)
            )
        }
        triggers = [
            {"classpath": t.classpath, "raw": t.encrypted_kwargs, "kwargs": t.kwargs}
            for t in session.scalars(select(Trigger).where(Trigger.id > last_trigger))
        ]
        next_kwargs = [json.dumps(ti.next_kwargs, default=str) for ti in tis]
        return DagResult(
            dag_id=dag_id,
            run_id=run_id,
            state=str(getattr(run.state, "value", run.state)),
            tasks={ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in tis},
            tries={ti.task_id: ti.try_number for ti in tis},
            xcoms=xcoms,
            triggers=triggers,
            log=log + "\n" + "\n".join(next_kwargs),
            seconds=seconds,
        )


def check_no_secrets(sentinels: Sentinels, result: DagResult, started: float) -> None:
    """No credential in the run's trigger rows (raw and decrypted), XComs, next_kwargs, output
    or the log files written since it started."""
    texts = [result.log, json.dumps({str(k): v for k, v in result.xcoms.items()}, default=str)]
    for trigger in result.triggers:
        texts += [str(trigger["raw"]), json.dumps(trigger["kwargs"], default=str)]
    logs = Path(os.environ["AIRFLOW_HOME"], "logs")
    for path in logs.rglob("*") if logs.is_dir() else ():
        if path.is_file() and path.stat().st_mtime >= started - 1:
            texts.append(path.read_text(errors="replace"))
    hits = sentinels.find("\n".join(texts))
    assert not hits, f"credentials leaked into the run's DB rows or logs: {hits}"


class DagRunner:
    """``dag.test()`` an example DAG; return what the metadata DB and the logs say about the run.

    Every run is also searched for the sentinel credentials (:func:`check_no_secrets`): a hit
    fails the test.
    """

    def __init__(self, capfd: pytest.CaptureFixture[str], env: SentinelEmulator) -> None:
        self.capfd = capfd
        self.env = env

    def run(
        self, dag_id: str, conf: dict[str, Any] | None = None, tune: Callable[[Any], None] | None = None
    ) -> DagResult:
        dag = load_dag(dag_id)
        tune_waits(dag)
        for task in dag.tasks:  # a retry must not wait for the default 5 minutes
            task.retry_delay = timedelta(0)
        if tune is not None:
            tune(dag)
        last_trigger = last_trigger_id()
        self.capfd.readouterr()
        started = time.time()
        run = dag.test(run_conf=conf)
        seconds = time.time() - started
        out, err = self.capfd.readouterr()
        result = collect_run(dag_id, str(run.run_id), last_trigger, out + err, seconds)
        check_no_secrets(self.env.sentinels, result, started)
        return result


def error_lines(log: str, pattern: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(pattern, line)]
