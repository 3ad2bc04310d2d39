"""`make demo`: run the example media pipeline through real Airflow against the local emulator.

1. starts the emulator (all four providers on 127.0.0.1, time sped up),
2. points the four default connections at it (environment variables, nothing persisted),
3. runs ``airflow dags test mediajobs_pipeline`` on a throw-away SQLite metadata DB (the
   deferrable tasks go through MediaJobTrigger, run in-process by ``dags test``),
4. prints one line per job: provider, job id, final state, wait time, status calls, outputs,
   the run's total cost per unit, then the files each job's task persisted (under ``.demo/outputs``):
   path, bytes, sha256.

Exits non-zero when the DAG run or any job did not succeed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".demo"
DAG_ID = "mediajobs_pipeline"
SPEED = float(os.environ.get("MEDIAJOBS_DEMO_SPEED", "60"))


def airflow_env(emulator: Any, home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIRFLOW_CONN_") and not k.startswith("AIRFLOW__")
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        MEDIAJOBS_OUTPUT_DIR=str(WORK / "outputs"),  # where the pipeline persists the job outputs
    )
    for provider in ("goenhance", "tensorart", "vozo", "tensorpix"):
        # TAMS signs requests like a production TAMS app would; every extra holds all form keys
        conn = emulator.connection(provider, allow_private_hosts=True)  # its CDN is on 127.0.0.1
        env[f"AIRFLOW_CONN_{provider.upper()}_DEFAULT"] = json.dumps(conn)
    return env


def run(cmd: list[str], env: dict[str, str], log: Path) -> int:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.call(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def collect(env: dict[str, str]) -> list[dict[str, Any]]:
    """Read the finished run's XComs from the demo's metadata DB (in a child: fresh Airflow config)."""
    code = f"""
import json
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
with create_session() as s:
    run = s.query(DagRun).filter(DagRun.dag_id == {DAG_ID!r}).order_by(DagRun.id.desc()).first()
    tis = s.query(TaskInstance).filter(TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id).all()
    out = {{"run_state": str(run.state), "tasks": []}}
    for ti in tis:
        row = s.query(XComModel).filter_by(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id,
                                            key="return_value").first()
        value = XComModel.deserialize_value(row) if row else None
        out["tasks"].append({{"task_id": ti.task_id, "state": str(ti.state), "value": value}})
print("DEMO_JSON=" + json.dumps(out, default=str))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, check=False
    )
    for line in result.stdout.splitlines():
        if line.startswith("DEMO_JSON="):
            return [json.loads(line.removeprefix("DEMO_JSON="))]
    print(result.stdout[-2000:], result.stderr[-4000:], file=sys.stderr)
    return []


def table(header: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> list[str]:
    """``rows`` under ``header`` in columns as wide as their widest cell (``right``: right-aligned)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(header), *(line(row) for row in rows)]


def jobs_table(jobs: list[dict[str, Any]]) -> list[str]:
    """One row per job, then one per further output URL; URLs without their signed query string."""
    from airflow_provider_mediajobs.engine.urls import shown_url
    from airflow_provider_mediajobs.models import MediaJob, format_cost, total_cost

    rows = []
    for job in jobs:
        wait = job.get("wait") or {}
        waited = wait.get("waited_seconds")
        calls = wait.get("status_calls")
        urls = [shown_url(url) for url in job.get("output_urls") or []] or ["-"]
        cost = format_cost(total_cost([MediaJob.from_dict(job)])) if job.get("cost") is not None else "-"
        rows.append(
            [
                job["provider"],
                str(job["job_id"]),
                job["state"],
                f"{waited:.1f}s" if waited is not None else "-",
                str(calls) if calls is not None else "-",
                cost,
                urls[0],
            ]
        )
        rows += [["", "", "", "", "", "", url] for url in urls[1:]]
    header = [
        "provider",
        "job id",
        "state",
        "wait",
        "calls",
        "cost",
        "outputs (signed query strings not shown)",
    ]
    return table(header, rows, right=frozenset({3, 4}))


def cost_line(jobs: list[dict[str, Any]]) -> str:
    """The run's cost per unit, each unit with the providers it comes from, and who reports none."""
    from airflow_provider_mediajobs.dialects.registry import get_spec
    from airflow_provider_mediajobs.models import MediaJob, format_cost, total_cost

    parts = []
    for unit, amount in total_cost(MediaJob.from_dict(job) for job in jobs).items():
        names = sorted(
            {
                get_spec(job["provider"]).display_name
                for job in jobs
                if (job.get("cost_unit") or "unknown unit") == unit and job.get("cost") is not None
            }
        )
        parts.append(f"{format_cost({unit: amount})} ({', '.join(names)})")
    silent = sorted({get_spec(job["provider"]).display_name for job in jobs if job.get("cost") is None})
    text = "total cost of the run: " + ("; ".join(parts) or "none reported")
    if silent:
        text += f"; not included, their APIs report no cost: {', '.join(silent)}"
    return text


def files_table(persisted: list[dict[str, Any]]) -> tuple[list[str], bool]:
    """The files each outputs task wrote (path, bytes, content type, full sha256); False when a task
    failed or wrote nothing."""
    rows, ok, problems = [], True, []
    for task in sorted(persisted, key=lambda t: t["task_id"]):
        files = task["value"] if isinstance(task["value"], list) else []
        if task["state"] != "success" or not files:
            problems.append(f"{task['task_id']}: {task['state']}, no files")
            ok = False
        for item in files:
            path = Path(str(item["path"]).removeprefix("file://"))
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            note = " (unchanged, skipped)" if item.get("skipped") else ""
            rows.append(
                [f"{shown}{note}", str(item["bytes"]), str(item.get("content_type") or "-"), item["sha256"]]
            )
    lines = table(["files persisted", "bytes", "content type", "sha256"], rows, right=frozenset({1}))
    return [*lines, *problems], ok


def main() -> int:
    from airflow_provider_mediajobs.emulator import Emulator

    if WORK.exists():
        shutil.rmtree(WORK)
    home = WORK / "airflow"
    home.mkdir(parents=True)
    log = WORK / "airflow.log"
    airflow = str(Path(sys.executable).with_name("airflow"))

    with Emulator(port=0, seed=7, speed=SPEED) as emulator:
        print(f"emulator: {emulator.url} (x{SPEED:g} speed; GoEnhance, TensorArt TAMS, Vozo, TensorPix)")
        env = airflow_env(emulator, home)
        print("airflow: migrating a fresh SQLite metadata DB in .demo/airflow ...")
        if run([airflow, "db", "migrate"], env, log) != 0:
            print(f"airflow db migrate failed; see {log}")
            return 1
        print(f"airflow: dags test {DAG_ID} (deferred waits run through MediaJobTrigger) ...")
        started = time.monotonic()
        code = run([airflow, "dags", "test", DAG_ID], env, log)
        elapsed = time.monotonic() - started
        stats = emulator.stats()

    results = collect(env)
    if not results:
        print(f"could not read the run's results; see {log}")
        return 1
    summary = results[0]
    jobs = [t for t in summary["tasks"] if isinstance(t["value"], dict) and "job_id" in t["value"]]
    failed = code != 0 or not summary["run_state"].endswith("success")
    job_dicts = sorted((task["value"] for task in jobs), key=lambda job: job["provider"])
    print()
    print("\n".join(jobs_table(job_dicts)))
    print(cost_line(job_dicts))
    failed = failed or any(job["state"] != "succeeded" for job in job_dicts)
    # one task per job: each submit task persisted its job's files (the job dict's "files")
    persisted = [{**t, "value": t["value"].get("files") or []} for t in jobs]
    print()
    lines, files_ok = files_table(persisted)
    print("\n".join(lines))
    failed = failed or not files_ok
    others = [t for t in summary["tasks"] if t not in jobs]
    for task in others:
        print(f"task {task['task_id']}: {task['state']}")
    requests = stats.get("requests", {})
    status_calls = sum(sum(codes.values()) for route, codes in requests.items() if route.endswith(" status"))
    print()
    print(
        f"DAG run {summary['run_state']} in {elapsed:.1f}s; the emulator answered {status_calls} status calls "
        f"and accepted {stats.get('connections')} TCP connections. Logs: {log.relative_to(ROOT)}"
    )
    print(
        "(those connections include the worker's creates, reads and downloads; `airflow dags test` also "
        "runs each deferred wait in an event loop of its own, where a triggerer shares one pool across "
        "all its waits: docs/benchmarks.md)"
    )
    print()
    print("To look at these images and videos in the Airflow UI (the Media view), run: make demo-ui")
    return 1 if failed or len(jobs) != 4 else 0


if __name__ == "__main__":
    sys.exit(main())
