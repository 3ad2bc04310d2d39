"""What a media job costs across a real Airflow deployment: one task per job vs two, vs a trivial task.

A throwaway Airflow 3 deployment from this venv (api-server, scheduler with the LocalExecutor,
dag-processor, triggerer; SQLite; 127.0.0.1, free ports) and the emulator (in this process, real
time; TensorPix jobs queued 3 s, running 12 s, one 1 MB output each, read every 5 s). In one run, after a warm-up
run of each shape and an idle baseline, it runs ``--repeat`` rounds of three DAG runs
(``benchmarks/pipeline_dags.py``), the order rotated each round:

- ``two_task``: N mapped TensorPix submit tasks (deferred to the triggerer), then N mapped
  ``MediaJobOutputsOperator`` tasks (the peers' way, and ours before issue 29);
- ``one_task``: N mapped submit tasks with ``destination=`` (submit, defer, resume, persist);
- ``trivial``: N mapped ``@task`` returning their argument: what one task start costs.

CPU comes from /proc: for each Airflow process, its own utime+stime plus everything below it
(reaped children through cutime/cstime, live descendants read directly), sampled right before a
DAG run is triggered and right after the metadata DB says it finished. The idle rate of each
process (measured before the runs) times the run's duration is subtracted. The task processes are
children of the scheduler (LocalExecutor workers, task supervisors, tasks) and are shown as
``tasks``, apart from the scheduler's own loop. The run's state is read from the SQLite file, not
through the API server, so watching costs the deployment nothing.
"""

from __future__ import annotations

import compileall
import contextlib
import importlib.util
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DAG_FILE = Path(__file__).resolve().with_name("pipeline_dags.py")
SHAPES = ("two_task", "one_task", "trivial")
COLUMNS = ("api-server", "scheduler", "tasks", "dag-processor", "triggerer")
OUTPUT_BYTES = 1_000_000
TICKS = os.sysconf("SC_CLK_TCK")

# Targets of issue 29: per job, the one-task way costs at most 3.5 trivial task starts and at most
# 0.75 of the two-task way, measured in the same run.
TARGET_TRIVIAL_RATIO = 3.5
TARGET_TWO_TASK_RATIO = 0.75


# ---- /proc --------------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own CPU s, reaped children's CPU s) of ``pid``, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return ppid, (utime + stime) / TICKS, (cutime + cstime) / TICKS


def _processes() -> dict[int, tuple[int, float, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                found[int(entry.name)] = stat
    return found


def cpu_by_process(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process tree; the scheduler's descendants as ``tasks``."""
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)

    def below(pid: int) -> Iterator[int]:
        for child in children.get(pid, ()):
            yield child
            yield from below(child)

    out: dict[str, float] = {}
    for name, root in roots.items():
        if root not in procs:
            out[name] = float("nan")
            continue
        _, own, reaped = procs[root]
        descendants = sum(procs[p][1] + procs[p][2] for p in below(root))
        if name == "scheduler":
            out["scheduler"] = own
            out["tasks"] = reaped + descendants
        else:
            out[name] = own + reaped + descendants
    return out


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---- the deployment -----------------------------------------------------------------------------
def _demo_ui() -> Any:
    """``scripts/demo_ui.py`` (``make demo-ui``'s deployment) as a module: it is a script."""
    spec = importlib.util.spec_from_file_location("demo_ui", ROOT / "scripts" / "demo_ui.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo_ui = _demo_ui()


class Deployment(demo_ui.Deployment):  # type: ignore[name-defined]
    """``make demo-ui``'s deployment (api-server, scheduler, dag-processor, triggerer; each in its own
    session, stopped with everything it started) with the benchmark's DAGs, connection and settings."""

    def __init__(self, work: Path, n: int, poll: float, connections: dict[str, dict[str, Any]]) -> None:
        super().__init__(work, demo_ui.free_port(), uuid.uuid4().hex, dag_files=(DAG_FILE,))
        self.outputs = work / "outputs"
        self.db = self.home / "airflow.db"
        self.env.update(
            {
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",  # Airflow's default, as deployed
                # a shared, loaded machine: a task's execution-API call may wait longer than 5 s
                # for the API server (a timed-out call fails the task); costs no CPU
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
                # the DAG file is parsed at start, then every 10 min (default 30 s): its periodic
                # parse, no part of any job, would land at random in the runs and the idle baseline
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
                "MEDIAJOBS_BENCH_N": str(n),
                "MEDIAJOBS_BENCH_OUT": str(self.outputs),
                "MEDIAJOBS_BENCH_POLL": str(poll),
            }
        )
        for conn_id, conn in connections.items():
            self.env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)

    @property
    def roots(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.procs.items()}

    # ---- REST (triggering only) and the metadata DB (watching) ----------------------------------
    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)) as conn:
            try:
                return list(conn.execute(sql, params))
            except sqlite3.OperationalError:  # locked or not migrated yet: ask again
                return []

    def parsed(self, dag_ids: list[str]) -> bool:
        found = {r[0] for r in self.rows("SELECT dag_id FROM serialized_dag")}
        return set(dag_ids) <= found

    def trigger(self, dag_id: str) -> str:
        run = self.rest("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        found = self.rows("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
        return str(found[0][0]) if found else None

    def task_states(self, dag_id: str, run_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task_id, state in self.rows(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id
        ):
            key = f"{task_id}:{state}"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def files(self, dag_id: str) -> list[Path]:
        folder = self.outputs / dag_id
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ---- measuring ----------------------------------------------------------------------------------
def run_dag(dep: Deployment, dag_id: str, timeout: float) -> dict[str, Any]:
    """Trigger one run and wait for it; CPU per process over the run (not yet baseline-subtracted)."""
    files_before = len(dep.files(dag_id))
    before, t0 = cpu_by_process(dep.roots), time.monotonic()
    run_id = dep.trigger(dag_id)
    state = dep.wait_until(
        lambda: (s := dep.run_state(dag_id, run_id)) in ("success", "failed") and s,
        timeout,
        f"{dag_id} run {run_id}",
    )
    after, t1 = cpu_by_process(dep.roots), time.monotonic()
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "state": state,
        "seconds": round(t1 - t0, 2),
        "cpu": {name: after[name] - before[name] for name in after},
        "tasks": dep.task_states(dag_id, run_id),
        "files_written": len(dep.files(dag_id)) - files_before,
    }


def idle_rates(dep: Deployment, seconds: float) -> dict[str, float]:
    """CPU seconds per wall second of each process while nothing runs."""
    before, t0 = cpu_by_process(dep.roots), time.monotonic()
    time.sleep(seconds)
    after, t1 = cpu_by_process(dep.roots), time.monotonic()
    return {name: (after[name] - before[name]) / (t1 - t0) for name in after}


def per_job(run: dict[str, Any], idle: dict[str, float], n: int) -> dict[str, float]:
    """CPU-s per job (or trivial task) of each process, the idle rate over the run subtracted."""
    cpu = {name: (run["cpu"][name] - idle.get(name, 0.0) * run["seconds"]) / n for name in COLUMNS}
    cpu["total"] = sum(cpu[name] for name in COLUMNS)
    return {k: round(v, 4) for k, v in cpu.items()}


def summarize(runs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Mean and spread per shape; ratios per round (same round = same machine load), then their spread."""
    out: dict[str, Any] = {}
    for shape in SHAPES:
        mine = [r["per_job"] for r in runs if r["shape"] == shape]
        out[shape] = {
            name: {
                "mean": round(statistics.mean(m[name] for m in mine), 4),
                "min": round(min(m[name] for m in mine), 4),
                "max": round(max(m[name] for m in mine), 4),
            }
            for name in (*COLUMNS, "total")
        }
    rounds = sorted({r["round"] for r in runs})
    ratios: dict[str, list[float]] = {"two_task_vs_trivial": [], "one_task_vs_trivial": [], "one_vs_two": []}
    for rnd in rounds:
        total = {r["shape"]: r["per_job"]["total"] for r in runs if r["round"] == rnd}
        if total.get("trivial", 0) > 0 and total.get("two_task", 0) > 0:
            ratios["two_task_vs_trivial"].append(total["two_task"] / total["trivial"])
            ratios["one_task_vs_trivial"].append(total["one_task"] / total["trivial"])
            ratios["one_vs_two"].append(total["one_task"] / total["two_task"])
    out["ratios"] = {
        k: {"per_round": [round(x, 3) for x in v], "mean": round(statistics.mean(v), 3) if v else None}
        for k, v in ratios.items()
    }
    mean_trivial = out["trivial"]["total"]["mean"]
    out["ratios_of_means"] = {
        "two_task_vs_trivial": round(out["two_task"]["total"]["mean"] / mean_trivial, 3),
        "one_task_vs_trivial": round(out["one_task"]["total"]["mean"] / mean_trivial, 3),
        "one_vs_two": round(out["one_task"]["total"]["mean"] / out["two_task"]["total"]["mean"], 3),
    }
    return out


def evaluate(summary: dict[str, Any], runs: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    ratios = summary["ratios_of_means"]
    persisted = all(
        r["files_written"] == n and r["state"] == "success" for r in runs if r["shape"] != "trivial"
    )
    return [
        {
            "target": f"one task <= {TARGET_TRIVIAL_RATIO} trivial task starts per job",
            "value": ratios["one_task_vs_trivial"],
            "met": ratios["one_task_vs_trivial"] <= TARGET_TRIVIAL_RATIO,
        },
        {
            "target": f"one task <= {TARGET_TWO_TASK_RATIO}x the two-task way",
            "value": ratios["one_vs_two"],
            "met": ratios["one_vs_two"] <= TARGET_TWO_TASK_RATIO,
        },
        {"target": "every output persisted (N files of 1 MB per run)", "value": persisted, "met": persisted},
    ]


def byte_compile_package() -> None:
    """Write the provider's bytecode, as installing its wheel does (pip compiles every module).

    Run from a checkout (an editable install) where ``PYTHONDONTWRITEBYTECODE`` is set, every task
    process would otherwise compile the provider's modules from source: tens of ms per task start
    that no installed deployment pays, and that the trivial task (whose DAG file imports them too)
    pays at a different rate than a media task.
    """
    import airflow_provider_mediajobs

    compileall.compile_dir(str(Path(airflow_provider_mediajobs.__file__).parent), quiet=1)


def measure(n: int, repeat: int, idle_seconds: float, poll: float, work: Path | None) -> dict[str, Any]:
    from airflow_provider_mediajobs.emulator import Emulator

    owned = work is None
    work = work or Path(tempfile.mkdtemp(prefix="mediajobs-bench-pipeline-"))
    emulator = Emulator(port=0, seed=29, speed=1.0)
    emulator.start()
    # every TensorPix job created from now on: queued 3 s, running 12 s, one 1 MB output. Not
    # shorter: a trigger that fires before the scheduler has processed the deferral's executor event
    # makes Airflow fail the task ("finished with state success, but ... queued") on a loaded machine.
    emulator.script(
        "tensorpix", count=(2 * 3 + n * repeat * 2) * 2, queued_s=3, running_s=12, output_bytes=OUTPUT_BYTES
    )
    byte_compile_package()
    dep = Deployment(
        work, n, poll, {"tensorpix_default": emulator.connection("tensorpix", allow_private_hosts=True)}
    )
    report: dict[str, Any] = {"n": n, "repeat": repeat, "poll_interval": poll, "runs": []}
    try:
        t0 = time.monotonic()
        print(f"[pipeline] Airflow in {work} (logs: {dep.logs}); N={n}, {repeat} round(s)", flush=True)
        dep.prepare()
        dep.start()
        dep.wait_until(dep.healthy, 300, "the API server")
        dag_ids = [f"{prefix}_{shape}" for prefix in ("bench", "warm") for shape in SHAPES]
        dep.wait_until(lambda: dep.parsed(dag_ids), 300, "the dag-processor to parse the benchmark DAGs")
        print(f"[pipeline] deployment up in {time.monotonic() - t0:.0f}s; warming up ...", flush=True)
        for shape in SHAPES:
            warm = run_dag(dep, f"warm_{shape}", 600)
            if warm["state"] != "success":
                raise RuntimeError(
                    f"warm-up run of {shape} {warm['state']}: {warm['tasks']}; logs {dep.home}"
                )
        time.sleep(5)  # let the last run's bookkeeping settle before measuring idle
        idle = idle_rates(dep, idle_seconds)
        report["idle_cpu_per_s"] = {k: round(v, 4) for k, v in idle.items()}
        print(f"[pipeline] idle CPU-s per s: {report['idle_cpu_per_s']}", flush=True)
        for rnd in range(1, repeat + 1):
            order = SHAPES[rnd - 1 :] + SHAPES[: rnd - 1]  # rotated: no shape always runs first
            for shape in order:
                load = load_avg()
                run = run_dag(dep, f"bench_{shape}", 900)
                run.update(shape=shape, round=rnd, load_avg=load, per_job=per_job(run, idle, n))
                report["runs"].append(run)
                print(
                    f"[pipeline] round {rnd} {shape:<8} {run['state']} in {run['seconds']:.0f}s, "
                    f"{run['per_job']['total']:.3f} CPU-s per job {run['per_job']} "
                    f"files {run['files_written']}, load {load}",
                    flush=True,
                )
                if run["state"] != "success":
                    raise RuntimeError(f"bench_{shape} {run['state']}: {run['tasks']}; logs {dep.home}")
                time.sleep(3)
        report["summary"] = summarize(report["runs"], n)
        report["targets"] = evaluate(report["summary"], report["runs"], n)
    except BaseException:
        owned = False  # keep the logs of a failed run
        raise
    finally:
        dep.stop()
        emulator.stop()
        if owned:
            shutil.rmtree(work, ignore_errors=True)
    return report


# ---- report -------------------------------------------------------------------------------------
NAMES = {
    "two_task": "two tasks (submit, then `MediaJobOutputsOperator`)",
    "one_task": "one task (submit with `destination=`)",
    "trivial": "trivial `@task` (one task start)",
}


def table(report: dict[str, Any]) -> str:
    s = report["summary"]
    head = "| per job, CPU-s | " + " | ".join(COLUMNS) + " | **total** | x trivial |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    trivial = s["trivial"]["total"]["mean"]
    for shape in SHAPES:
        row = s[shape]
        cells = [f"{row[c]['mean']:.3f}" for c in COLUMNS]
        total = row["total"]
        spread = f" ({total['min']:.3f}-{total['max']:.3f})" if report["repeat"] > 1 else ""
        lines.append(
            f"| {NAMES[shape]} | " + " | ".join(cells) + f" | **{total['mean']:.3f}**{spread} | "
            f"{total['mean'] / trivial:.2f} |"
        )
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    m = report.get("machine", {})
    ratios = s["ratios"]
    lines = [
        f"Run: {m.get('date', '')}, commit {m.get('commit', '')}, {m.get('nproc')} CPUs ({m.get('cpu', '')}), "
        f"Airflow {report.get('airflow', '')}; N = {report['n']} jobs per DAG run, {report['repeat']} "
        f"round(s); load average {m.get('load_avg_start')} at the start, "
        f"{[r['load_avg'] for r in report['runs']]} at each run's start.",
        "",
        table(report),
        "",
        "Means over the rounds; the total's range across rounds in brackets. Per round (same load for "
        "the three shapes): one task / trivial "
        f"{ratios['one_task_vs_trivial']['per_round']}, two tasks / trivial "
        f"{ratios['two_task_vs_trivial']['per_round']}, one task / two tasks {ratios['one_vs_two']['per_round']}.",
        f"Idle CPU-s per second subtracted: {report['idle_cpu_per_s']}.",
        "",
        "| target (issue 29) | measured | met |",
        "|---|---|---|",
    ]
    for t in report["targets"]:
        value = t["value"] if isinstance(t["value"], bool) else f"{t['value']:.2f}"
        lines.append(f"| {t['target']} | {value} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines)


BEGIN = "<!-- pipeline-results:begin (written by python -m benchmarks --pipeline --markdown) -->"
END = "<!-- pipeline-results:end -->"
