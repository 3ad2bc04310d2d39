"""A scheduled media pipeline that fans out over all four providers.

Every morning: swap a face (GoEnhance), generate artwork (TensorArt TAMS), lip-sync a clip
(Vozo) and upscale a video (TensorPix). Each job is one task: submitted, awaited in the triggerer,
and its outputs persisted (their URLs expire) by the same task when it resumes, to
``params.output_dir`` (default: the environment's
``MEDIAJOBS_OUTPUT_DIR``, else ``$AIRFLOW_HOME/mediajobs-outputs``), one folder per DAG run named
after its run id (made path-safe: run ids hold ``:`` and ``+``). The run id exists for every kind of
run, scheduled or triggered from the UI, the CLI or the REST API without a logical date, where
``{{ ds }}`` is undefined. The last task collects what finished and logs the run's total cost.
Inputs come from the DAG params.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Asset, task

from airflow_provider_mediajobs._compat import AirflowFailException
from airflow_provider_mediajobs.models import MediaJob, format_cost, total_cost
from airflow_provider_mediajobs.operators import (
    GoEnhanceSubmitJobOperator,
    TensorArtSubmitJobOperator,
    TensorPixSubmitJobOperator,
    VozoSubmitJobOperator,
)
from airflow_provider_mediajobs.operators.destinations import path_safe

MEDIA = "https://example.com/media"
OUTPUT_DIR = os.path.abspath(
    os.environ.get("MEDIAJOBS_OUTPUT_DIR")
    or os.path.join(os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow"), "mediajobs-outputs")
)

with DAG(
    dag_id="mediajobs_pipeline",
    start_date=datetime(2026, 1, 1),
    schedule="0 6 * * *",
    catchup=False,
    max_active_runs=1,
    tags=["mediajobs", "example"],
    params={
        "source_video": f"{MEDIA}/clip.mp4",
        "voice_over": f"{MEDIA}/voice.mp3",
        "face": f"{MEDIA}/face.jpg",
        "output_dir": OUTPUT_DIR,
    },
    default_args={"retries": 1},
    user_defined_filters={"path_safe": path_safe},
) as dag:
    # One task per job: each submit persists its job's files when it resumes, before their signed
    # URLs expire (identical files are skipped on a re-run), and records an event on the outputs
    # Asset with the files in its extra. A retry re-attaches to the job it created (Airflow 3.3's
    # task state store; TAMS on any version) and only downloads again.
    persist = {
        "destination": "{{ params.output_dir }}/{{ run_id | path_safe }}",
        "max_bytes": 2 * 2**30,
        "outlets": [Asset(name="mediajobs_outputs", uri=f"file://{OUTPUT_DIR}")],
    }
    face_swap = GoEnhanceSubmitJobOperator(
        task_id="goenhance_face_swap",
        payload={"args": {"reference_img": f"{MEDIA}/poster.jpg", "source_img": "{{ params.face }}"}},
        poll_interval=5,
        timeout=3600,
        **persist,
    )
    artwork = TensorArtSubmitJobOperator(
        task_id="tensorart_artwork",
        payload={
            "stages": [
                {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}},
                {
                    "type": "DIFFUSION",
                    "diffusion": {
                        "width": 512,
                        "height": 512,
                        "prompts": [{"text": "poster art"}],
                        "steps": 20,
                    },
                },
            ]
        },
        poll_interval=5,
        timeout=1800,
        **persist,
    )
    lipsync = VozoSubmitJobOperator(
        task_id="vozo_lipsync",
        payload={
            "reference_file_url": "{{ params.source_video }}",
            "audio_url": "{{ params.voice_over }}",
            "model": "standard_v1",
            "reference_file_type": "video",
        },
        poll_interval=15,
        max_poll_interval=120,
        timeout=4 * 3600,
        **persist,
    )
    upscale = TensorPixSubmitJobOperator(
        task_id="tensorpix_upscale",
        payload={"url": "{{ params.source_video }}", "ml_models": [1]},
        poll_interval=10,
        timeout=6 * 3600,
        **persist,
    )

    # the job dicts keep their signed output URLs (downstream tasks need them): not in the task log
    @task(trigger_rule="all_done", show_return_value_in_logs=False)
    def collect(jobs: list[dict | None]) -> list[dict]:
        finished = [job for job in jobs if job]
        for job in finished:
            cost = format_cost(total_cost([MediaJob.from_dict(job)])) if job.get("cost") is not None else "-"
            print(
                f"{job['provider']:<10} {job['job_id']:<40} {job['state']:<10} "
                f"{len(job['outputs'])} output(s), cost: {cost}"
            )
        # per unit: TAMS bills credits, TensorPix dollars; GoEnhance and Vozo report no cost
        print(f"Total cost of the run: {format_cost(total_cost(MediaJob.from_dict(j) for j in finished))}")
        if len(finished) < len(jobs):
            # the costs are logged; the run still fails when a job did not finish (this task is the
            # DAG's only leaf: one task per job leaves no outputs task whose failure would say so)
            raise AirflowFailException(
                f"{len(jobs) - len(finished)} of {len(jobs)} media job(s) did not finish."
            )
        return finished

    collect([face_swap.output, artwork.output, lipsync.output, upscale.output])
