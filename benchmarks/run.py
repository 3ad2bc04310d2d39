"""Orchestrates the benchmark: emulator process, one client process per (scenario, N, variant), report.

HTTPS by default: the emulator runs with ``--tls`` and every client process trusts its CA through
``SSL_CERT_FILE`` (httpx, aiohttp's default context) and ``REQUESTS_CA_BUNDLE``; ``--plain-http``
measures over plain HTTP as before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import media_view
from benchmarks.emulator_proc import Admin, EmulatorProcess
from benchmarks.report import evaluate, markdown, table, write_markdown
from benchmarks.workload import WORKLOADS, short_tams

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
REPEATED = ("mediajobs", "floor", "baseline")


def aiohttp_version() -> str | None:
    try:
        import aiohttp
    except ImportError:
        return None
    return str(aiohttp.__version__)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import httpx

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    # a run from an exported tree (git archive) names its commit through the environment
    commit = os.environ.get("MEDIAJOBS_BENCH_COMMIT") or commit
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "httpx": httpx.__version__,
        "aiohttp": aiohttp_version(),
        "commit": commit,
        "openssl": ssl.OPENSSL_VERSION,
    }


def client_env(ca_file: str | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(name, None)
    if ca_file:  # the emulator's CA, trusted by every client under test (and nothing else)
        env["SSL_CERT_FILE"] = env["REQUESTS_CA_BUNDLE"] = ca_file
    return env


def run_client(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mediajobs-bench-") as tmp:
        spec_path, result_path, log_path = (
            Path(tmp) / name for name in ("spec.json", "result.json", "client.log")
        )
        spec_path.write_text(json.dumps(spec))
        with open(log_path, "w") as log:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.client", str(spec_path), str(result_path)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
                env=client_env(spec.get("ca_file")),
            )
        if proc.returncode != 0 or not result_path.exists():
            tail = log_path.read_text()[-3000:]
            return {
                "variant": spec["variant"],
                "n": len(spec["jobs"]),
                "error": f"client exited {proc.returncode}: {tail}",
            }
        result: dict[str, Any] = json.loads(result_path.read_text())
        warnings = [
            line for line in log_path.read_text().splitlines() if "ERROR" in line or "Traceback" in line
        ]
        result["log_errors"] = warnings[:5]
        return result


def scale_runs(
    emu: EmulatorProcess,
    ns: list[int],
    variants: list[str],
    compare_max: int,
    args: argparse.Namespace,
    workload: str = "mix",
) -> list[dict[str, Any]]:
    """N waits of ``workload`` per variant; its runs are scenario ``scale`` (the mix) or
    ``scale-<workload>``."""
    admin = Admin(emu.url, emu.ca_file)
    scenario = "scale" if workload == "mix" else f"scale-{workload}"
    out = []
    for n in ns:
        jobs = [j.as_dict() for j in WORKLOADS[workload](n, args.seed)]
        ramp_batch = 50
        ramp_tick = ramp_batch / args.ramp_rate
        hold = n / args.ramp_rate + args.hold
        # Cadence (poll intervals) compressed like the jobs up to 1,000 waits; beyond, the aggregate
        # call rate would exceed what one emulator process serves, so the cadence stays at the 1,000
        # level per wait-second: N x calls/s per wait stays about constant.
        cadence_speed = args.cadence_speed or emu.speed * min(1.0, args.cadence_n / n)
        schedule = None
        # the ratios (trigger vs floor and vs baseline) are measured within one repeat, whose
        # variants run one after the other; further repeats give the run-to-run spread
        repeats = args.repeat if n == args.repeat_n else 1
        plan = [(1, v) for v in variants] + [
            (r, v) for r in range(2, repeats + 1) for v in variants if v in REPEATED
        ]
        for repeat, variant in plan:
            if variant != "mediajobs" and n > compare_max:
                continue
            if variant == "floor" and schedule is None:
                continue
            admin.reset()
            spec = {
                "variant": variant,
                "url": emu.url,
                "ca_file": emu.ca_file,
                "speed": emu.speed,
                "cadence_speed": cadence_speed,
                "jobs": jobs,
                "hold_s": hold,
                "ramp_batch": ramp_batch,
                "ramp_tick": ramp_tick,
                "deadline_s": args.deadline,
                "record_schedule": variant == "mediajobs" and "floor" in variants and n <= compare_max,
                "schedule": schedule,
                "log_level": args.log_level,
            }
            print(f"[bench] {scenario} N={n} {variant} (repeat {repeat}/{repeats}) ...", flush=True)
            t0 = time.time()
            result = run_client(spec, timeout=args.deadline + 600)
            result["scenario"] = scenario
            result["repeat"] = repeat
            result["cadence_speed"] = cadence_speed
            if variant == "mediajobs":
                schedule = result.pop("schedule", None)
            else:
                result.pop("schedule", None)
            print(f"[bench]   done in {time.time() - t0:.0f}s: {short(result)}", flush=True)
            out.append(result)
    admin.close()
    return out


def tams_run(emu: EmulatorProcess, n: int, args: argparse.Namespace) -> dict[str, Any]:
    admin = Admin(emu.url, emu.ca_file)
    admin.reset()
    admin.set_rate_limit("tensorart", 5)
    jobs = [j.as_dict() for j in short_tams(n, args.seed)]
    spec = {
        "variant": "mediajobs",
        "url": emu.url,
        "ca_file": emu.ca_file,
        "speed": emu.speed,
        "cadence_speed": args.cadence_speed or emu.speed,
        "jobs": jobs,
        "hold_s": 0.0,
        "ramp_batch": 50,
        "ramp_tick": 50 / args.ramp_rate,
        "deadline_s": args.deadline,
        "rate_limits": {"tensorart": None},
        "log_level": args.log_level,
    }
    print(f"[bench] tams-5qps N={n} ...", flush=True)
    t0 = time.time()
    result = run_client(spec, timeout=args.deadline + 600)
    result.pop("schedule", None)
    result["scenario"] = "tams_5qps"
    print(f"[bench]   done in {time.time() - t0:.0f}s: {short(result)}", flush=True)
    admin.set_rate_limit("tensorart", None)
    admin.close()
    return result


def short(r: dict[str, Any]) -> str:
    if "error" in r or "skipped" in r:
        return r.get("error") or r.get("skipped") or ""
    return (
        f"cpu/call {r['cpu_ms_per_call']} ms, {r['status_calls']} calls ({r['calls_per_s']}/s), "
        f"conns {r['connections']}, lag p99 {r['loop_lag_ms']['p99']} ms, rss/wait {r['rss_kb_per_wait']} KB, "
        f"failed {r['failed_waits']}, 429s {r['http_429']}"
    )


def import_times(repeat: int = 5) -> dict[str, Any]:
    """-X importtime of the sensors module over airflow.sdk (best of ``repeat``); DAG parse times."""
    from benchmarks.imports import dag_parse_times, dag_provider_shares, import_overhead

    return {
        "import": import_overhead(repeat),
        "dag_parse": dag_parse_times(max(1, repeat // 2)),
        "dag_parse_provider_ms": dag_provider_shares(max(1, repeat // 2)) if repeat > 2 else {},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--quick", action="store_true", help="CI-sized (about 2 min): N=200, TAMS N=100, faster emulator"
    )
    p.add_argument("--n", default=None, help="comma-separated N (default 1000,5000,10000; quick: 200)")
    p.add_argument("--variants", default="mediajobs,floor,fixed,baseline")
    p.add_argument(
        "--workloads",
        default="mix,short,long",
        help="comma-separated job sets, each run at every N (mix: the job mix, with jobs of many reads; "
        "short: 20-30 s jobs with hints; long: 5-15 min jobs without hints); see benchmarks/workload.py",
    )
    p.add_argument(
        "--compare-max",
        type=int,
        default=None,
        help="run fixed/baseline/floor only up to this N (default 1000; quick: all)",
    )
    p.add_argument(
        "--tams-n",
        type=int,
        default=None,
        help="TAMS 5 QPS scenario size (default 1000; quick: 200; 0 = skip)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=None,
        help="emulator speed, emulated s per real s (default 20; quick: 100)",
    )
    p.add_argument(
        "--cadence-speed",
        type=float,
        default=None,
        help="divide the triggers' poll intervals by this (default: --speed up to --cadence-n waits, then less)",
    )
    p.add_argument("--cadence-n", type=int, default=1000, help="see --cadence-speed")
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="run mediajobs/floor/baseline this many times at N=--repeat-n for the run-to-run spread "
        "(default 3; quick: 1)",
    )
    p.add_argument("--repeat-n", type=int, default=1000)
    p.add_argument(
        "--plain-http", action="store_true", help="plain HTTP instead of HTTPS (the emulator's --tls mode)"
    )
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--ramp-rate", type=float, default=500.0, help="waits started per second")
    p.add_argument(
        "--hold",
        type=float,
        default=None,
        help="real seconds every job stays queued after the ramp (default 3; quick: 1)",
    )
    p.add_argument("--deadline", type=float, default=900.0)
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--no-imports", action="store_true", help="skip the import-time measurement")
    p.add_argument(
        "--fleet",
        default=None,
        help="triggerer process counts of the fleet scenario, 48 TAMS waits each on one 5 QPS key "
        "(default 1,2,3; quick: 1,2; '' = skip)",
    )
    p.add_argument(
        "--fleet-seconds", type=float, default=None, help="length of each fleet run (default 60; quick: 30)"
    )
    p.add_argument(
        "--pipeline",
        action="store_true",
        help="run the pipeline benchmark instead (a real Airflow deployment; see benchmarks/pipeline.py)",
    )
    p.add_argument(
        "--pipeline-n", type=int, default=None, help="media jobs per DAG run (default 20; quick: 10)"
    )
    p.add_argument(
        "--pipeline-repeat", type=int, default=None, help="rounds of the three DAG runs (default 3; quick: 1)"
    )
    p.add_argument(
        "--pipeline-idle", type=float, default=None, help="seconds of idle baseline (default 60; quick: 30)"
    )
    p.add_argument(
        "--media-view-jobs",
        type=int,
        default=200,
        help="mapped jobs in the run whose Media tab is rendered (benchmarks/media_view.py; 0 = skip)",
    )
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/<mode>-<date>.json)")
    p.add_argument(
        "--markdown", default=None, help="write the report into this markdown file (between markers)"
    )
    args = p.parse_args(argv)
    if args.speed is None:
        args.speed = 100.0 if args.quick else 20.0
    if args.hold is None:
        args.hold = 1.0 if args.quick else 3.0
    if args.quick and args.cadence_speed is None:
        args.cadence_speed = 40.0
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.quick and args.n is None:
        args.repeat_n = 200
    ns = [int(x) for x in (args.n or ("200" if args.quick else "1000,5000,10000")).split(",") if x]
    compare_max = args.compare_max if args.compare_max is not None else (max(ns) if args.quick else 1000)
    tams_n = args.tams_n if args.tams_n is not None else (50 if args.quick else 1000)
    variants = [v for v in args.variants.split(",") if v]
    info = machine()
    if args.pipeline:
        return pipeline_main(args, info)
    if info["aiohttp"] is None:
        print(
            "[bench] aiohttp is NOT installed: the baseline and floor variants are skipped "
            "(install with: pip install -c constraints/constraints-3.11.txt -e '.[bench]').",
            flush=True,
        )
    info["scheme"] = "http" if args.plain_http else "https"
    print(
        f"[bench] {info['date']} {info['nproc']} CPUs ({info['cpu']}), load {info['load_avg_start']}, "
        f"{info['scheme'].upper()}",
        flush=True,
    )
    report: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "machine": info,
        "params": vars(args),
        "runs": [],
    }
    with EmulatorProcess(speed=args.speed, seed=args.seed, tams_qps=0, tls=not args.plain_http) as emu:
        for workload in (w for w in args.workloads.split(",") if w):
            # the short and long job sets compare with the dbt-style trigger: up to --compare-max
            sizes = ns if workload == "mix" else [n for n in ns if n <= compare_max]
            report["runs"] += scale_runs(emu, sizes, variants, compare_max, args, workload)
        if tams_n:
            report["runs"].append(tams_run(emu, tams_n, args))
    fleet = [
        int(x)
        for x in (("1,2" if args.quick else "1,2,3") if args.fleet is None else args.fleet).split(",")
        if x
    ]
    if fleet:
        from benchmarks.fleet import run as fleet_run

        seconds = args.fleet_seconds or (30.0 if args.quick else 60.0)
        report["fleet"] = fleet_run(fleet, 48, seconds, 1, not args.plain_http)
    if not args.no_imports:
        report["imports"] = import_times(2 if args.quick else 5)
    if args.media_view_jobs:
        print(f"[bench] media view: a run of {args.media_view_jobs} mapped jobs ...", flush=True)
        report["media_view"] = media_view.run(args.media_view_jobs, repeat=5 if args.quick else 10)
    info["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = evaluate(report)
    print(table(report), flush=True)
    if args.quick:
        print(
            "[bench] quick mode: the targets are set for the full run (N=1,000 / 10,000); shown for orientation."
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / f"{report['mode']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"[bench] wrote {out}", flush=True)
    if args.markdown:
        write_markdown(Path(args.markdown), markdown(report))
        print(f"[bench] wrote {args.markdown}", flush=True)
    return 0


def pipeline_main(args: argparse.Namespace, info: dict[str, Any]) -> int:
    """The pipeline benchmark (a real Airflow deployment), its JSON and its block of the markdown."""
    import signal

    from benchmarks import pipeline

    # SIGTERM (and SIGINT, which a background job ignores) unwinds: the deployment is stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    n = args.pipeline_n or (10 if args.quick else 20)
    repeat = args.pipeline_repeat or (1 if args.quick else 3)
    idle = args.pipeline_idle or (30.0 if args.quick else 60.0)
    print(f"[bench] pipeline: N={n}, {repeat} round(s), {info['nproc']} CPUs, load {info['load_avg_start']}")
    report = pipeline.measure(n, repeat, idle, poll=5.0, work=None)
    import airflow

    info["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    report.update(mode="quick" if args.quick else "full", machine=info, airflow=airflow.__version__)
    print(pipeline.table(report), flush=True)
    for target in report["targets"]:
        print(f"[bench] {target['target']}: {target['value']} {'met' if target['met'] else 'NOT met'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"pipeline-{report['mode']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"[bench] wrote {out}", flush=True)
    if args.markdown:
        write_markdown(Path(args.markdown), pipeline.markdown(report), pipeline.BEGIN, pipeline.END)
        print(f"[bench] wrote {args.markdown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
