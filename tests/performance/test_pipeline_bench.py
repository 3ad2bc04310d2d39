"""The pipeline benchmark's accounting (benchmarks/pipeline.py), without a deployment: CPU of a process
tree read from /proc (live and reaped descendants), idle subtraction, ratios and targets."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import pipeline

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_descendants_cpu_counts_while_it_runs_and_after_it_was_reaped() -> None:
    # a parent (standing in for the scheduler) whose child burns 0.4 CPU-s, exits and is reaped
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time\nsubprocess.run([sys.executable, '-c', {BURN!r}])\ntime.sleep(30)",
        ]
    )
    try:
        roots = {"scheduler": parent.pid}
        before = pipeline.cpu_by_process(roots)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = pipeline.cpu_by_process(roots)
            if after["tasks"] - before["tasks"] >= 0.35:
                break
            time.sleep(0.2)
        assert after["tasks"] - before["tasks"] >= 0.35, (before, after)  # the child, as "tasks"
        assert after["scheduler"] < 0.35  # the parent's own loop is apart
    finally:
        parent.kill()
        parent.wait()


def run(shape: str, rnd: int, total: float, seconds: float = 10.0, files: int = 4) -> dict[str, object]:
    cpu = {name: total / len(pipeline.COLUMNS) for name in pipeline.COLUMNS}
    return {
        "shape": shape,
        "round": rnd,
        "seconds": seconds,
        "cpu": cpu,
        "state": "success",
        "files_written": files,
    }


def test_per_job_subtracts_the_idle_rate_over_the_run() -> None:
    r = run("one_task", 1, total=5.0, seconds=10.0)
    idle = {name: 0.01 for name in pipeline.COLUMNS}

    per = pipeline.per_job(r, idle, n=4)

    assert per["total"] == pytest.approx((5.0 - 0.01 * 10 * len(pipeline.COLUMNS)) / 4)


def test_targets_compare_within_the_run_and_require_every_output() -> None:
    n = 4
    runs = []
    for rnd, (two, one, trivial) in enumerate([(4.0, 2.4, 0.8), (4.4, 2.6, 0.8)], start=1):
        for shape, total in (("two_task", two), ("one_task", one), ("trivial", trivial)):
            r = run(shape, rnd, total, files=0 if shape == "trivial" else n)
            r["per_job"] = pipeline.per_job(r, {}, n)
            runs.append(r)

    summary = pipeline.summarize(runs, n)
    targets = {t["target"]: t for t in pipeline.evaluate(summary, runs, n)}

    assert summary["ratios"]["one_vs_two"]["per_round"] == [0.6, round(2.6 / 4.4, 3)]
    assert summary["ratios_of_means"]["one_task_vs_trivial"] == pytest.approx(2.5 / 0.8, abs=1e-3)
    assert all(t["met"] for t in targets.values())
    runs[1]["files_written"] = n - 1  # one output not persisted: the target fails
    assert not all(t["met"] for t in pipeline.evaluate(summary, runs, n))
    assert "| one task" in pipeline.table({"summary": summary, "repeat": 2})
