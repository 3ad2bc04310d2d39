"""TensorArt TAMS: a diffusion job, idempotent on retry through a derived requestId.

The connection signs every request (TAMS-SHA256-RSA) when it holds an app id and private key, or
uses the Bearer key otherwise. TAMS allows 5 requests/second per application: every wait on the
connection shares that budget in the triggerer.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_mediajobs.operators import TensorArtSubmitJobOperator

with DAG(
    dag_id="example_mediajobs_tensorart",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    tags=["mediajobs", "example"],
    params={"prompt": "a lighthouse at dawn, film photo", "sd_model": "600423083519508503"},
) as dag:
    generate = TensorArtSubmitJobOperator(
        task_id="generate",
        payload={
            "stages": [
                {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 2}},
                {
                    "type": "DIFFUSION",
                    "diffusion": {
                        "width": 768,
                        "height": 512,
                        "prompts": [{"text": "{{ params.prompt }}"}],
                        "sdModel": "{{ params.sd_model }}",
                        "steps": 25,
                        "cfgScale": 7,
                    },
                },
            ]
        },
        poll_interval=5,
        timeout=1800,
        retries=2,
    )

    @task
    def report(job: dict) -> list[str]:
        print(f"TAMS job {job['job_id']}: {len(job['outputs'])} image(s), {job['cost']} credits")
        return job["output_urls"]

    report(generate.output)
