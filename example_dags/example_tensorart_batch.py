"""A batch of images from a list of prompts: one mapped TensorArt TAMS job per prompt.

Each prompt becomes one job (``.expand``); each job's images are persisted by a mapped
``MediaJobOutputsOperator`` (map index i persists job i) before their signed URLs expire. The run's
Media tab shows the batch as a contact sheet: one tile per job, its prompt beside its image.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_mediajobs.operators import MediaJobOutputsOperator, TensorArtSubmitJobOperator
from airflow_provider_mediajobs.operators.destinations import path_safe

OUTPUT_DIR = os.path.abspath(
    os.environ.get("MEDIAJOBS_OUTPUT_DIR")
    or os.path.join(os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow"), "mediajobs-outputs")
)
PROMPTS = [
    "a lighthouse at dawn, film photo",
    "a red fox in fresh snow, telephoto",
    "a tram in Lisbon, golden hour",
    "a bowl of ramen, overhead shot",
    "a paper boat on a rain puddle",
    "an old typewriter, studio light",
    "a desert road under the milky way",
    "a hummingbird at a feeder, 1/8000 s",
    "a foggy pine forest, aerial view",
    "a neon diner at night, rain",
]


def payload(prompt: str) -> dict:
    """A TAMS text-to-image job: one 512x512 image of ``prompt``."""
    return {
        "stages": [
            {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}},
            {
                "type": "DIFFUSION",
                "diffusion": {
                    "width": 512,
                    "height": 512,
                    "prompts": [{"text": prompt}, {"text": "blurry, watermark", "weight": -1}],
                    "sdModel": "600423083519508503",
                    "steps": 20,
                },
            },
        ]
    }


with DAG(
    dag_id="mediajobs_tensorart_batch",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    tags=["mediajobs", "example"],
    user_defined_filters={"path_safe": path_safe},
) as dag:
    generate = TensorArtSubmitJobOperator.partial(task_id="generate", poll_interval=5, timeout=1800).expand(
        payload=[payload(p) for p in PROMPTS]
    )
    MediaJobOutputsOperator.partial(
        task_id="generate_outputs",
        destination=f"{OUTPUT_DIR}/{{{{ run_id | path_safe }}}}",
        max_bytes=2**30,
    ).expand(job_id=generate.output)
