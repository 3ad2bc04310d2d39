"""The DAGs of the pipeline benchmark (copied into the deployment's dags folder by benchmarks.pipeline).

Each shape exists twice: ``bench_<shape>`` with ``MEDIAJOBS_BENCH_N`` mapped tasks (measured) and
``warm_<shape>`` with two (the warm-up run, so the measured runs find every import cached):

- ``two_task``: N TensorPix submit tasks (deferred), then N ``MediaJobOutputsOperator`` tasks;
- ``one_task``: N TensorPix submit tasks given ``destination=`` (submit, defer, resume, persist);
- ``trivial``: N ``@task`` that return their argument (what one task start costs).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_mediajobs.operators import MediaJobOutputsOperator, TensorPixSubmitJobOperator
from airflow_provider_mediajobs.operators.destinations import path_safe

N = int(os.environ.get("MEDIAJOBS_BENCH_N", "10"))
OUT = os.environ.get("MEDIAJOBS_BENCH_OUT", "/tmp/mediajobs-bench-outputs")
POLL = float(os.environ.get("MEDIAJOBS_BENCH_POLL", "2"))


def payloads(n: int) -> list[dict[str, object]]:
    return [{"url": f"https://example.com/media/clip-{i}.mp4", "ml_models": [1]} for i in range(n)]


def make(shape: str, dag_id: str, n: int) -> DAG:
    with DAG(
        dag_id=dag_id,
        start_date=datetime(2026, 1, 1),
        schedule=None,
        catchup=False,
        max_active_runs=1,
        tags=["mediajobs", "benchmark"],
        user_defined_filters={"path_safe": path_safe},
    ) as dag:
        destination = f"{OUT}/{dag_id}/{{{{ run_id | path_safe }}}}"
        if shape == "two_task":
            submit = TensorPixSubmitJobOperator.partial(
                task_id="submit", poll_interval=POLL, max_poll_interval=POLL, timeout=900
            ).expand(payload=payloads(n))
            MediaJobOutputsOperator.partial(task_id="outputs", destination=destination).expand(
                job_id=submit.output
            )
        elif shape == "one_task":
            TensorPixSubmitJobOperator.partial(
                task_id="submit",
                poll_interval=POLL,
                max_poll_interval=POLL,
                timeout=900,
                destination=destination,
            ).expand(payload=payloads(n))
        else:

            @task
            def trivial(i: int) -> int:
                return i

            trivial.expand(i=list(range(n)))
    return dag


for _shape in ("two_task", "one_task", "trivial"):
    globals()[f"bench_{_shape}"] = make(_shape, f"bench_{_shape}", N)
    globals()[f"warm_{_shape}"] = make(_shape, f"warm_{_shape}", 2)
