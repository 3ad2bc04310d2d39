"""The benchmark harness end to end at toy size (N=20), over HTTPS: emulator process, client processes, report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_harness_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    doc = tmp_path / "bench.md"
    doc.write_text("# Benchmarks\n\nintro stays\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--n",
            "20",
            "--speed",
            "1000",
            "--cadence-speed",
            "200",
            "--hold",
            "0.2",
            "--tams-n",
            "0",
            "--no-imports",
            "--media-view-jobs",
            "0",  # a run of its own in a fresh AIRFLOW_HOME; run by make bench
            "--variants",
            "mediajobs,floor",
            "--out",
            str(out),
            "--markdown",
            str(doc),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    ours = next(r for r in report["runs"] if r["variant"] == "mediajobs")
    assert "error" not in ours, ours.get("error")
    assert ours["failed_waits"] == 0 and not ours["crashed"]
    assert ours["status_calls"] >= 20  # at least one read per wait, counted by the emulator
    assert ours["client_calls"] == ours["status_calls"]  # every read the triggers made reached it
    # Pooled, never a connection per call: at most 8 at a time, though a pool whose last wait ended
    # is closed and a wait that starts after that opens a new one (on Airflow 3.1, outside a
    # triggerer, each wait resolves its connection in a thread, so they start staggered).
    assert 1 <= ours["connections"] <= 16 and ours["connections"] < ours["status_calls"] / 2
    assert ours["loop_lag_ms"]["samples"] > 0 and ours["detection_latency_s"]["p50"] >= 0
    floor = next(r for r in report["runs"] if r["variant"] == "floor")
    if "skipped" in floor:
        assert "aiohttp" in floor["skipped"]
    else:  # the floor replays exactly the trigger's calls
        assert floor["status_calls"] == ours["status_calls"]
    assert report["machine"]["scheme"] == "https"  # the emulator's TLS mode, its CA trusted by the clients
    assert "CPU ms/call" in proc.stdout and "CPU ms/wait" in proc.stdout
    assert any(t["target"].startswith("CPU per status read") for t in report["targets"])
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nintro stays") and "| scale | 20 | mediajobs |" in text
