"""TensorPix: enhance a video, wait for it in the triggerer, then use the result.

Shows the two-step form: the operator submits (``wait_for_completion=False``) and pushes the job
id, a sensor waits for it without holding a worker slot, and a task reads the outputs.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_mediajobs.operators import TensorPixSubmitJobOperator
from airflow_provider_mediajobs.sensors import TensorPixJobSensor

with DAG(
    dag_id="example_mediajobs_tensorpix",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    tags=["mediajobs", "example"],
    params={"video_url": "https://example.com/media/input.mp4", "ml_models": [1]},
    render_template_as_native_obj=True,
) as dag:
    submit = TensorPixSubmitJobOperator(
        task_id="submit",
        payload={"url": "{{ params.video_url }}", "ml_models": "{{ params.ml_models }}"},
        wait_for_completion=False,
    )
    wait = TensorPixJobSensor(
        task_id="wait",
        job_id="{{ ti.xcom_pull(task_ids='submit', key='job_id') }}",
        poll_interval=5,
        max_poll_interval=60,
        timeout=6 * 3600,
    )

    @task
    def report(job: dict) -> list[str]:
        print(f"{job['provider']} job {job['job_id']}: {job['state']}, cost {job['cost']} {job['cost_unit']}")
        return job["output_urls"]

    submit >> wait
    report(wait.output)
