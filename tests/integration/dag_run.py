"""Run a DAG twice through ``dag.test()`` on a fresh SQLite DB and print what Airflow recorded.

Started by ``test_outputs_dag.py`` in a child process, so that its AIRFLOW_HOME, DAG folder and
metadata DB are its own. Prints one line ``RESULT=<json>``: per run its state, every task's
state and XCom return value, and every Asset event (URI, extra, source task).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(dag_id: str) -> int:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    from airflow.models.asset import AssetEvent
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils import db
    from airflow.utils.session import create_session

    started = time.monotonic()
    db.resetdb()
    print(f"TIMING resetdb {time.monotonic() - started:.1f}s", file=sys.stderr)
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        print("RESULT=" + json.dumps({"import_errors": bag.import_errors}))
        return 1
    from airflow.utils.cli import get_bagged_dag

    dag = get_bagged_dag(
        None, dag_id
    )  # as `airflow dags test`: also stores the serialized DAG (3.1 needs it)
    runs = []
    for _ in range(2):
        started = time.monotonic()
        run = dag.test()
        print(f"TIMING dag.test {time.monotonic() - started:.1f}s", file=sys.stderr)
        with create_session() as session:
            tasks = {}
            for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id):
                row = (
                    session.query(XComModel)
                    .filter_by(dag_id=dag_id, run_id=run.run_id, task_id=ti.task_id, key="return_value")
                    .first()
                )
                value = XComModel.deserialize_value(row) if row else None
                tasks[ti.task_id] = {"state": str(ti.state), "value": value}
            events = [
                {"uri": e.asset.uri, "extra": e.extra, "task_id": e.source_task_id, "run_id": e.source_run_id}
                for e in session.query(AssetEvent).order_by(AssetEvent.id)
                if e.source_run_id == run.run_id
            ]
        runs.append({"state": str(run.state), "tasks": tasks, "asset_events": events})
    print("RESULT=" + json.dumps({"runs": runs}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
