"""The fleet figures: TAMS waits spread over 1, 2 and 3 triggerer processes against one 5 QPS key.

Each "triggerer" is a separate OS process (``python -m benchmarks.fleet worker``) with its own event
loop and its own rate limiter, running real ``MediaJobTrigger``\\ s rebuilt from their serialized
kwargs -- what a triggerer's trigger runner does, without Airflow's triggerer job around it (the
real-Airflow version of this, with two triggerers on PostgreSQL, is
tests/reliability/airflow/test_airflow_fleet_postgres.py). The waits poll far more often than
5/s allows, so the limiters set the pace; every job outlives the run, and each wait ends with its
timeout event at the run's deadline. The emulator's stats are sampled once a second: 429 share,
average and peak (1 s) QPS over the whole run and after the first ``WARMUP_S`` seconds.

``python -m benchmarks.fleet [--waits 48] [--seconds 60] [--triggerers 1,2,3]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.emulator_proc import Admin, EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
TAMS_QPS = 5.0
WARMUP_S = 10.0
CONN_ID = "bench_fleet_tams"


# ---- one triggerer process ------------------------------------------------------------------------
async def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_mediajobs.engine.ratelimit import limiter_for
    from airflow_provider_mediajobs.triggers import MediaJobTrigger

    deadline = spec["deadline"]
    kwargs = [
        MediaJobTrigger(
            provider="tensorart",
            conn_id=CONN_ID,
            job_id=job_id,
            poll_interval=1.0,
            max_poll_interval=2.0,
            deadline=deadline,
            outage_tolerance=3600,
        ).serialize()[1]
        for job_id in spec["jobs"]
    ]

    async def one(kw: dict[str, Any]) -> str:
        trigger = MediaJobTrigger(**json.loads(json.dumps(kw)))
        async for event in trigger.run():
            return str(event.payload["status"])
        return "none"

    statuses = await asyncio.gather(*(one(kw) for kw in kwargs))
    limiter = limiter_for(CONN_ID, spec["connection"]["host"], TAMS_QPS)
    return {
        "statuses": {s: statuses.count(s) for s in set(statuses)},
        "late_s": round(time.time() - deadline, 2),  # how long after the deadline the last wait ended
        "rate_end": round(limiter.current, 3),
        "decreases": limiter.decreases,
    }


def worker_main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(spec["connection"])
    import airflow_provider_mediajobs.hooks.tensorart
    import airflow_provider_mediajobs.triggers  # noqa: F401

    # imports done: say so, and start when every process is ready (a loaded machine starts them slowly)
    Path(spec["ready"]).write_text("ready")
    go = Path(spec["go"])
    while not go.exists():
        time.sleep(0.05)
    spec["deadline"] = float(go.read_text()) + spec["seconds"]
    Path(out_path).write_text(json.dumps(asyncio.run(_worker(spec))))


# ---- the orchestrator -----------------------------------------------------------------------------
def _counts(admin: Admin) -> tuple[int, int]:
    codes = admin.stats()["requests"].get("tensorart status", {})
    return sum(codes.values()), int(codes.get("429", 0))


def fleet_run(emu: EmulatorProcess, triggerers: int, waits: int, seconds: float, tmp: Path) -> dict[str, Any]:
    """``waits`` TAMS waits per triggerer process, ``triggerers`` processes, ``seconds`` long."""
    admin = Admin(emu.url, emu.ca_file)
    admin.reset()
    admin.set_rate_limit("tensorart", TAMS_QPS)
    creds = admin.credentials()["tensorart"]
    connection = {
        "conn_type": "tensorart",
        "host": f"{emu.url}/tensorart",
        "password": creds["api_key"],
        "extra": {"rate_limit": TAMS_QPS},
    }
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if emu.ca_file:
        env["SSL_CERT_FILE"] = env["REQUESTS_CA_BUNDLE"] = emu.ca_file
    procs = []
    go = tmp / f"go-{triggerers}"
    go.unlink(missing_ok=True)
    for k in range(triggerers):
        jobs = [admin.add_job("tensorart", queued_s=1, running_s=36_000)[0] for _ in range(waits)]
        ready = tmp / f"ready-{triggerers}-{k}"
        ready.unlink(missing_ok=True)
        spec = {
            "connection": connection,
            "jobs": jobs,
            "seconds": seconds,
            "ready": str(ready),
            "go": str(go),
        }
        spec_path, out_path = tmp / f"spec-{triggerers}-{k}.json", tmp / f"out-{triggerers}-{k}.json"
        spec_path.write_text(json.dumps(spec))
        procs.append(
            (
                out_path,
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.fleet", "worker", str(spec_path), str(out_path)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(tmp / f"log-{triggerers}-{k}.txt").open("w"),
                ),
            )
        )
    while not all((tmp / f"ready-{triggerers}-{k}").exists() for k in range(triggerers)):
        if any(p.poll() is not None for _, p in procs):
            raise RuntimeError(f"a fleet worker exited early; see {tmp}/log-{triggerers}-*.txt")
        time.sleep(0.1)
    go.write_text(repr(time.time()))
    samples: list[tuple[float, int, int]] = []
    while any(p.poll() is None for _, p in procs):
        calls, limited = _counts(admin)
        samples.append((time.time(), calls, limited))
        time.sleep(1.0)
    samples.append((time.time(), *_counts(admin)))
    workers = []
    for out_path, proc in procs:
        workers.append(json.loads(out_path.read_text()) if out_path.exists() else {"exit": proc.returncode})
    admin.set_rate_limit("tensorart", None)
    admin.close()
    return {
        "triggerers": triggerers,
        "waits_per_triggerer": waits,
        "seconds": seconds,
        "whole": _figures(samples),
        "after_warmup": _figures([s for s in samples if s[0] >= samples[0][0] + WARMUP_S]),
        "workers": workers,
    }


def _figures(samples: list[tuple[float, int, int]]) -> dict[str, Any]:
    if len(samples) < 2:
        return {}
    (t0, c0, l0), (t1, c1, l1) = samples[0], samples[-1]
    calls, limited = c1 - c0, l1 - l0
    peaks = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples) if b[0] > a[0]]
    return {
        "calls": calls,
        "http_429": limited,
        "share_429": round(limited / calls, 4) if calls else None,
        "avg_qps": round(calls / (t1 - t0), 2),
        "ok_qps": round((calls - limited) / (t1 - t0), 2),
        "peak_qps_1s": round(max(peaks, default=0.0), 2),
        "seconds": round(t1 - t0, 1),
    }


def run(triggerers: list[int], waits: int, seconds: float, repeat: int, tls: bool) -> list[dict[str, Any]]:
    import tempfile

    out = []
    with (
        tempfile.TemporaryDirectory(prefix="mediajobs-fleet-") as tmp,
        EmulatorProcess(speed=1.0, seed=8, tams_qps=0, tls=tls) as emu,
    ):
        for r in range(1, repeat + 1):
            for n in triggerers:
                print(
                    f"[bench] fleet: {n} triggerer process(es) x {waits} TAMS waits, {seconds:.0f}s (repeat {r}) ...",
                    flush=True,
                )
                result = fleet_run(emu, n, waits, seconds, Path(tmp))
                result["repeat"] = r
                w = result["whole"]
                print(
                    f"[bench]   429 share {w.get('share_429')}, avg {w.get('avg_qps')} QPS, "
                    f"peak {w.get('peak_qps_1s')} QPS; workers {result['workers']}",
                    flush=True,
                )
                out.append(result)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        worker_main(argv[1], argv[2])
        return 0
    p = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    p.add_argument("--triggerers", default="1,2,3")
    p.add_argument("--waits", type=int, default=48, help="TAMS waits per triggerer process")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--plain-http", action="store_true")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    results = run(
        [int(x) for x in args.triggerers.split(",") if x],
        args.waits,
        args.seconds,
        args.repeat,
        not args.plain_http,
    )
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "runs": results,
    }
    out = (
        Path(args.out)
        if args.out
        else ROOT / "benchmarks" / "results" / f"fleet-{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"[bench] wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
