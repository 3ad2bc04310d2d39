"""The Media tab of a big run: how long the API server takes to render it.

A throwaway AIRFLOW_HOME (SQLite) gets one run of a DAG with ``--jobs`` mapped "submit" tasks (each
returns a TAMS job dict and records its inputs, like ``TensorArtSubmitJobOperator``) and as many
mapped "outputs" tasks (each writes a real 256x256 PNG and returns its record, like
``MediaJobOutputsOperator``, with the ``media_job`` XCom), every fifth job failed with a reason and a
cost. Two map indexes are run by ``dag.test()``; the rest are copies of their task-instance rows with
their own XComs (running 400 tasks would take many minutes on a loaded machine, the page reads the
same rows either way). Airflow's own API server app (``airflow.api_fastapi.app.create_app``, the plugin mounted as a
deployment mounts it) then serves ``GET /mediajobs/dags/<dag>/runs/<run>`` with a simple-auth-manager
token, ``--repeat`` times after one warm-up; the times are wall clock per request, in process (no
socket), on whatever else the machine is doing.

Run alone: ``python -m benchmarks.media_view --jobs 200`` (prints one JSON line;
``MEDIA_VIEW_PROFILE=1`` adds a profile of one request); ``make bench`` runs it as part of the report.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

DAG_ID = "bench_media_view"
SEED_JOBS = 2  # run by dag.test(); the other map indexes are copies of their rows
DAG_FILE = textwrap.dedent(
    """
    \"\"\"Mapped media jobs for the Media view benchmark (written by benchmarks/media_view.py).\"\"\"
    import pendulum
    from airflow.sdk import dag, get_current_context, task

    from benchmarks.media_view import job_xcoms, persist_xcoms


    @dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False)
    def bench():
        @task
        def generate(i):
            ti = get_current_context()["ti"]
            values = job_xcoms(i)
            for key in ("media_inputs", "job_id"):
                ti.xcom_push(key=key, value=values[key])
            return values["return_value"]

        @task
        def persist(job):
            ti = get_current_context()["ti"]
            values = persist_xcoms(job, {out!r}, {png!r})
            ti.xcom_push(key="media_job", value=values["media_job"])
            return values["return_value"]

        persist.expand(job=generate.expand(i=list(range({seed}))))


    bench()
    """
)


@functools.cache
def _batch_example() -> Any:
    """``example_dags/example_tensorart_batch.py``: its ``payload(prompt)`` is the TAMS job of a prompt."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "example_dags" / "example_tensorart_batch.py"
    spec = importlib.util.spec_from_file_location("example_tensorart_batch", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def job_xcoms(i: int) -> dict[str, Any]:
    """What a TAMS submit task of job ``i`` leaves in XCom; every fifth job failed (reason, cost)."""
    from datetime import datetime, timedelta, timezone

    from airflow_provider_mediajobs.dialects.registry import get_dialect

    payload = _batch_example().payload(f"prompt number {i}, a lighthouse at dawn, film photo")
    job_id = str(7 * 10**17 + i)
    failed = i % 5 == 4
    expires = (datetime.now(timezone.utc) + timedelta(hours=12)).isoformat()
    job = {
        "provider": "tensorart",
        "job_id": job_id,
        "state": "failed" if failed else "succeeded",
        "provider_status": "FAILED" if failed else "SUCCESS",
        "error": "The prompt was flagged by the content filter." if failed else None,
        "outputs": []
        if failed
        else [{"url": f"https://cdn.example/{i}.png?sig=x", "kind": "image", "expires_at": expires}],
        "cost": 3.2,
        "cost_unit": "credits",
        "job_kind": "job",
        "wait": {"waited_seconds": 42.0, "status_calls": 9},
    }
    inputs = get_dialect("tensorart").describe_inputs("job", payload).to_dict()
    return {"return_value": job, "media_inputs": inputs, "job_id": job_id}


def persist_xcoms(job: dict[str, Any], out: str, png: str) -> dict[str, Any]:
    """What the outputs task of ``job`` leaves in XCom (a real PNG written for each succeeded job)."""
    from airflow_provider_mediajobs.engine.download import Downloaded
    from airflow_provider_mediajobs.engine.storage import sha256_of
    from airflow_provider_mediajobs.operators.destinations import as_storage_path

    ref = {"provider": job["provider"], "job_id": job["job_id"]}
    if job["state"] != "succeeded":
        return {"return_value": [], "media_job": ref}
    target = as_storage_path(out) / f"tensorart-{job['job_id']}-0.png"
    with open(png, "rb") as src, target.fs.open(target.path, "wb") as dst:
        dst.write(src.read())
    url = job["outputs"][0]["url"].split("?")[0]
    record = Downloaded(url, str(target), target.stat().st_size, sha256_of(target), "image/png", "image")
    return {"return_value": [record.to_dict()], "media_job": ref}


def _clone(run_id: str, jobs: int, out: str, png: str) -> None:
    """Map indexes SEED_JOBS..jobs-1 of both tasks: copies of map index 0's rows, their own XComs."""
    import uuid

    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import insert, select

    table = TaskInstance.__table__
    with create_session() as session:
        for task_id in ("generate", "persist"):
            row = (
                session.execute(
                    select(table).where(
                        table.c.dag_id == DAG_ID,
                        table.c.run_id == run_id,
                        table.c.task_id == task_id,
                        table.c.map_index == 0,
                    )
                )
                .mappings()
                .one()
            )
            copies = []
            for i in range(SEED_JOBS, jobs):
                copy = dict(row)
                copy["id"] = uuid.uuid4()
                copy["map_index"] = i
                copies.append(copy)
            session.execute(insert(table), copies)
        session.flush()
        for i in range(SEED_JOBS, jobs):
            made = job_xcoms(i)
            stored = persist_xcoms(made["return_value"], out, png)
            for task_id, values in (("generate", made), ("persist", stored)):
                for key, value in values.items():
                    XComModel.set(
                        key,
                        value,
                        dag_id=DAG_ID,
                        task_id=task_id,
                        run_id=run_id,
                        map_index=i,
                        session=session,
                    )


def prepare(home: Path, jobs: int) -> str:
    """The DAG run: SEED_JOBS jobs run by Airflow itself (``dag.test()``), copied up to ``jobs``."""
    from airflow.utils import db
    from airflow.utils.cli import get_bagged_dag

    db.upgradedb()
    folder = home / "dags"
    out = home / "outputs"
    folder.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    png = home / "frame.png"
    png.write_bytes(_sample_png())
    dag_file = folder / "bench_media_view.py"
    dag_file.write_text(DAG_FILE.format(seed=SEED_JOBS, out=f"file://{out}", dag_id=DAG_ID, png=str(png)))
    dag = get_bagged_dag(None, DAG_ID, str(dag_file))
    run = dag.test()
    run_id = str(run.run_id)
    _clone(run_id, jobs, f"file://{out}", str(png))
    return run_id


def _sample_png() -> bytes:
    """A real 256x256 PNG (what the emulator's image outputs are)."""
    import struct
    import zlib

    row = b"\x00" + bytes(range(256)) * 3
    raw = row * 256

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def measure(run_id: str, repeat: int) -> dict[str, Any]:
    from urllib.parse import quote

    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    with TestClient(create_app()) as client:
        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="bench", role="viewer"))
        headers = {"Authorization": f"Bearer {token}"}
        url = f"/mediajobs/dags/{DAG_ID}/runs/{quote(run_id, safe='')}"
        first = time.perf_counter()
        response = client.get(url, headers=headers)
        cold = time.perf_counter() - first
        assert response.status_code == 200, response.text[:500]
        page = response.text
        if os.environ.get("MEDIA_VIEW_PROFILE"):  # where a request's time goes (to stderr)
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(client.get, url, headers=headers)
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append(time.perf_counter() - began)
            assert response.status_code == 200
    return {
        "cold_ms": round(cold * 1000, 1),
        "ms": [round(t * 1000, 1) for t in times],
        "median_ms": round(statistics.median(times) * 1000, 1),
        "min_ms": round(min(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "page_bytes": len(page.encode()),
        "cards": page.count("<article "),
    }


def child(jobs: int, repeat: int) -> dict[str, Any]:
    home = Path(os.environ["AIRFLOW_HOME"])
    began = time.perf_counter()
    run_id = prepare(home, jobs)
    setup_s = time.perf_counter() - began
    result = measure(run_id, repeat)
    return {
        "jobs": jobs,
        "repeat": repeat,
        "setup_s": round(setup_s, 1),
        **result,
        "load_avg": os.getloadavg(),
    }


def run(jobs: int = 200, repeat: int = 10, timeout: float = 1800) -> dict[str, Any]:
    """The benchmark in a fresh process and AIRFLOW_HOME (Airflow reads its config at import)."""
    with tempfile.TemporaryDirectory(prefix="bench-media-view-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
        env.update(
            AIRFLOW_HOME=home,
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(Path(home) / "dags"),
            AIRFLOW__CORE__UNIT_TEST_MODE="False",
            AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
            AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="False",
            AIRFLOW__API_AUTH__JWT_SECRET="bench-" + "x" * 64,
            AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST=json.dumps(
                [
                    {
                        "name": "dags-folder",
                        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                        "kwargs": {"path": str(Path(home) / "dags")},
                    }
                ]
            ),
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.media_view",
                "--child",
                "--jobs",
                str(jobs),
                "--repeat",
                str(repeat),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=Path(__file__).resolve().parents[1],
        )
    if os.environ.get("MEDIA_VIEW_PROFILE"):
        print(proc.stderr[-15000:], file=sys.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith("MEDIA_VIEW_JSON="):
            return dict(json.loads(line.removeprefix("MEDIA_VIEW_JSON=")))
    raise RuntimeError(
        f"media view benchmark failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print("MEDIA_VIEW_JSON=" + json.dumps(child(args.jobs, args.repeat)), flush=True)
        return 0
    print(json.dumps(run(args.jobs, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
