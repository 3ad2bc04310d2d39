"""Run the example pipeline once through ``dag.test()`` (what ``airflow dags test`` runs) on a fresh DB.

Started by ``test_pipeline_lineage_metrics.py`` in a child process with its own AIRFLOW_HOME, the
OpenLineage file transport and StatsD configured by environment variables, as a deployment would.
Prints ``RESULT=<json>``: the run's state, every task's state and XCom return value.
"""

from __future__ import annotations

import json
import os
import sys


def main(dag_id: str) -> int:
    from airflow.utils import db
    from airflow.utils.cli import get_bagged_dag
    from airflow.utils.session import create_session

    from airflow_provider_mediajobs.task_wait import TaskWaitMixin

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    db.resetdb()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        print("RESULT=" + json.dumps({"import_errors": bag.import_errors}))
        return 1
    dag = get_bagged_dag(None, dag_id)  # as `airflow dags test`: stores the serialized DAG too
    for task in dag.tasks:  # a real wait through the trigger, at test speed
        if isinstance(task, TaskWaitMixin):
            task.poll_interval, task.max_poll_interval = 0.2, 0.5
    run = dag.test(run_conf=json.loads(os.environ.get("PIPELINE_CONF", "{}")))
    tasks = {}
    with create_session() as session:
        for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id):
            row = (
                session.query(XComModel)
                .filter_by(dag_id=dag_id, run_id=run.run_id, task_id=ti.task_id, key="return_value")
                .first()
            )
            tasks[ti.task_id] = {
                "state": str(ti.state),
                "value": XComModel.deserialize_value(row) if row else None,
            }
    print(
        "RESULT=" + json.dumps({"state": str(run.state), "run_id": run.run_id, "tasks": tasks}, default=str)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
