"""Test DAGs of tests/reliability/airflow/test_airflow_fleet_postgres.py (several triggerers).

- ``mediajobs_fleet_stall``: 8 deferrable TensorPix submits; the emulator scripts their jobs to run
  until the test advances its clock, so all 8 are deferred while one triggerer is stopped.
- ``mediajobs_fleet_tams``: 48 deferrable TAMS sensors on jobs the test created (ids in the run
  conf), polling often enough that the connection's rate limit, not the cadence, sets the pace.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_mediajobs.operators import TensorPixSubmitJobOperator
from airflow_provider_mediajobs.sensors import TensorArtJobSensor

SUBMITS = 8
TAMS_WAITS = 48

with DAG(
    dag_id="mediajobs_fleet_stall",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    max_active_tasks=SUBMITS,
    tags=["mediajobs", "test"],
):
    for i in range(SUBMITS):
        TensorPixSubmitJobOperator(
            task_id=f"submit_{i}",
            payload={"url": f"https://example.com/media/clip-{i}.mp4", "ml_models": [1]},
            deferrable=True,
            poll_interval=1,
            max_poll_interval=2,
            timeout=1800,
        )

with DAG(
    dag_id="mediajobs_fleet_tams",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    max_active_tasks=TAMS_WAITS,
    tags=["mediajobs", "test"],
):
    for i in range(TAMS_WAITS):
        TensorArtJobSensor(
            task_id=f"wait_{i}",
            job_id="{{ dag_run.conf['jobs'][" + str(i) + "] }}",
            poll_interval=1,
            max_poll_interval=2,
            timeout=1800,
        )
