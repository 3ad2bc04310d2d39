"""Vozo: translate & dub a video (the ``translate`` job family), waiting in the triggerer."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_mediajobs.operators import VozoSubmitJobOperator

with DAG(
    dag_id="example_mediajobs_vozo",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    tags=["mediajobs", "example"],
    params={"media_url": "https://example.com/media/talk.mp4", "target_language": "es"},
) as dag:
    dub = VozoSubmitJobOperator(
        task_id="translate_and_dub",
        job_kind="translate",
        payload={
            "media_type": "video",
            "media_url": "{{ params.media_url }}",
            "source_language": "auto",
            "target_language": "{{ params.target_language }}",
            "export_type": "all",
        },
        poll_interval=15,  # Vozo jobs queue for minutes and run for ~10-20 min
        max_poll_interval=120,
        timeout=4 * 3600,
    )

    @task
    def report(job: dict) -> dict[str, str]:
        return {output["name"] or output["kind"]: output["url"] for output in job["outputs"]}

    report(dub.output)
