"""Test DAG of tests/reliability/airflow: one deferrable sensor per provider, job ids from the run conf.

The test creates long jobs in the emulator, triggers runs with ``{"goenhance": id, ...}`` as conf,
kills triggerers while the four waits are deferred and checks that every run still succeeds.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_mediajobs.sensors import (
    GoEnhanceJobSensor,
    TensorArtJobSensor,
    TensorPixJobSensor,
    VozoJobSensor,
)

SENSORS = {
    "goenhance": GoEnhanceJobSensor,
    "tensorart": TensorArtJobSensor,
    "vozo": VozoJobSensor,
    "tensorpix": TensorPixJobSensor,
}

with DAG(
    dag_id="mediajobs_triggerer_restart",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    max_active_runs=16,
    tags=["mediajobs", "test"],
):
    for provider, sensor in SENSORS.items():
        sensor(
            task_id=f"wait_{provider}",
            job_id="{{ dag_run.conf['" + provider + "'] }}",
            poll_interval=1,
            max_poll_interval=2,
            timeout=1200,
        )
