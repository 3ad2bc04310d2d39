"""GoEnhance: image face swap, submitted and awaited by one deferrable operator."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_mediajobs.operators import GoEnhanceSubmitJobOperator

with DAG(
    dag_id="example_mediajobs_goenhance",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    tags=["mediajobs", "example"],
    params={
        "reference_img": "https://example.com/media/target.jpg",
        "source_img": "https://example.com/media/face.jpg",
    },
) as dag:
    swap = GoEnhanceSubmitJobOperator(
        task_id="face_swap",
        job_kind="faceswap",
        payload={
            "args": {"reference_img": "{{ params.reference_img }}", "source_img": "{{ params.source_img }}"},
            "type": "mx-image-face-swap",
        },
        poll_interval=5,  # GoEnhance's documented cadence
        timeout=3600,
    )

    @task
    def report(job: dict) -> list[str]:
        for output in job["outputs"]:
            print(f"{output['kind']}: {output['url']} (valid until {output['expires_at']})")
        return job["output_urls"]

    report(swap.output)
