"""The measured process: N waits of one variant in one event loop, against the emulator process.

Run by :mod:`benchmarks.run` as ``python -m benchmarks.client SPEC.json RESULT.json``. Variants:

- ``mediajobs``: :class:`MediaJobTrigger` instances rebuilt from ``serialize()`` kwargs (what a
  triggerer does), adaptive cadence between ``poll_interval`` and ``max_poll_interval``, the first
  read one ``poll_interval`` after the deferral (as a submit or a sensor defers it);
- ``fixed``: the same trigger with ``max_poll_interval == poll_interval`` (fixed interval);
- ``baseline``: :class:`benchmarks.baseline.DbtStyleTrigger` (needs aiohttp);
- ``floor``: one shared ``aiohttp.ClientSession`` replaying the ``mediajobs`` run's calls at the
  same times (same URLs, headers built once, body read and JSON-decoded, nothing else).

Jobs are created through the emulator's admin API before the measured window; the window (CPU
time, RSS, loop lag, emulator stats) covers starting the waits until the last one has its event.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import os
import sys
import time
from collections import defaultdict
from typing import Any

from benchmarks.emulator_proc import Admin, stats_delta
from benchmarks.probe import Probe, cpu_seconds, percentile, rss_bytes
from benchmarks.workload import CADENCE, JobSpec

CONN_IDS = {p: f"bench_{p}" for p in CADENCE}


def setup_connections(url: str, creds: dict[str, Any], rate_limits: dict[str, float]) -> None:
    for provider, conn_id in CONN_IDS.items():
        # 0 = no client-side rate limit; None = the provider's documented limit (TAMS: 5 QPS)
        limit = rate_limits.get(provider, 0)
        extra: dict[str, Any] = {} if limit is None else {"rate_limit": limit}
        conn = {
            "conn_type": provider,
            "host": f"{url}/{provider}",
            "password": creds[provider]["api_key"],
            "extra": extra,
        }
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)


def instantiate(classpath: str, kwargs: dict[str, Any]) -> Any:
    """What the triggerer does with a trigger row: import the class, call it with the kwargs."""
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


def make_trigger(variant: str, job: JobSpec, job_id: str, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Serialize a trigger as the deferring task would; the loop rebuilds it from these kwargs."""
    cadence_speed = spec.get("cadence_speed") or spec["speed"]
    low, high = CADENCE[job.provider]
    low, high = low / cadence_speed, high / cadence_speed
    deadline = time.time() + spec["deadline_s"]
    if variant in ("mediajobs", "fixed"):
        from airflow_provider_mediajobs.triggers import MediaJobTrigger

        trigger = MediaJobTrigger(
            provider=job.provider,
            conn_id=CONN_IDS[job.provider],
            job_id=job_id,
            job_kind=job.trigger_kind,
            poll_interval=low,
            max_poll_interval=high if variant == "mediajobs" else low,
            deadline=deadline,
            # as the deferring task hands it over: a submit has just created the job, a sensor has
            # just read it, so the first read is one poll interval away (the dbt-style trigger,
            # like dbt Cloud's, reads at once)
            first_read_at=time.time() + low,
        )
    else:
        from benchmarks.baseline import DbtStyleTrigger

        trigger = DbtStyleTrigger(
            job.provider, CONN_IDS[job.provider], job_id, job.trigger_kind, low, deadline
        )
    classpath, kwargs = trigger.serialize()
    return classpath, json.loads(json.dumps(kwargs))  # what the trigger table stores


class Recorder:
    def __init__(self, n: int) -> None:
        self.events: list[dict[str, Any] | None] = [None] * n
        self.started: list[float] = [0.0] * n
        self.calls: dict[str, list[float]] = defaultdict(list)  # job id -> loop times of status calls


async def run_trigger(i: int, classpath: str, kwargs: dict[str, Any], rec: Recorder, probe: Probe) -> None:
    trigger = instantiate(classpath, kwargs)
    probe.alive += 1
    try:
        async for event in trigger.run():
            payload = dict(event.payload)
            job = payload.get("job") or {}
            rec.events[i] = {
                "t": time.time(),
                "status": payload.get("status"),
                "state": job.get("state") if isinstance(job, dict) else None,
                "calls": payload.get("status_calls"),
                "message": str(payload.get("message", ""))[:300] if payload.get("status") == "error" else "",
            }
            break
    finally:
        await trigger.cleanup()
        probe.alive -= 1


async def floor_wait(
    i: int,
    session: Any,
    method: str,
    url: str,
    headers: dict[str, str],
    offsets: list[float],
    rec: Recorder,
    probe: Probe,
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    probe.alive += 1
    state = None
    try:
        for offset in offsets:
            delay = start + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            async with session.request(method, url, headers=headers) as response:
                body = await response.read()
            state = json.loads(body)
        rec.events[i] = {
            "t": time.time(),
            "status": "replayed",
            "state": None,
            "calls": len(offsets),
            "message": "" if state is not None else "no call",
        }
    finally:
        probe.alive -= 1


def floor_requests(
    jobs: list[JobSpec], ids: list[str], url: str, creds: dict[str, Any]
) -> list[tuple[str, str, dict[str, str]]]:
    """The same status requests the trigger sends (path and auth from the dialects), built once."""
    from airflow_provider_mediajobs.dialects.registry import get_dialect
    from airflow_provider_mediajobs.engine.config import build_config
    from airflow_provider_mediajobs.engine.transport import prepare

    out = []
    configs = {}
    for job, job_id in zip(jobs, ids, strict=True):
        dialect = get_dialect(job.provider)
        config = configs.get(job.provider)
        if config is None:
            config = configs[job.provider] = build_config(
                dialect,
                conn_id="floor",
                conn_type=job.provider,
                host=f"{url}/{job.provider}",
                port=None,
                schema=None,
                password=creds[job.provider]["api_key"],
                extras={},
            )
        request = dialect.status_request(job_id, dialect.normalize_kind(job.trigger_kind, config.context()))
        prepared = prepare(dialect, config, request)
        out.append((prepared.method, prepared.url, prepared.headers))
    return out


async def measure(spec: dict[str, Any]) -> dict[str, Any]:
    variant = spec["variant"]
    jobs = [JobSpec(**j) for j in spec["jobs"]]
    n = len(jobs)
    admin = Admin(spec["url"], spec.get("ca_file"))
    creds = admin.credentials()
    setup_connections(spec["url"], creds, spec.get("rate_limits", {}))
    speed = spec["speed"]
    loop = asyncio.get_running_loop()

    if variant in ("baseline", "floor"):
        try:
            import aiohttp
        except ImportError:
            return {"variant": variant, "skipped": "aiohttp is not installed: pip install -e '.[bench]'"}
    rec = Recorder(n)
    probe = Probe(interval=spec.get("lag_interval", 0.05))

    # Warm-up outside the window: one already finished job per provider through the same code path,
    # so imports, TLS/connection setup code and caches are paid before RSS/CPU are sampled.
    warm = [
        JobSpec(p, k, 0.0, 0.0, "succeeded")
        for p, k in (
            ("tensorart", "job"),
            ("goenhance", "faceswap"),
            ("vozo", "lipsync"),
            ("tensorpix", "enhance"),
        )
    ]
    if variant != "floor":
        for job in warm:
            job_id, _ = admin.add_job(job.provider, **job.script(0.0))
            classpath, kwargs = make_trigger(variant, job, job_id, spec)
            await run_trigger(0, classpath, kwargs, Recorder(1), probe)

    # Create the jobs (before the window). Finish time in real seconds = creation + duration / speed.
    hold = spec["hold_s"]
    ids: list[str] = []
    finish: list[float] = []
    for job in jobs:
        job_id, created = admin.add_job(job.provider, **job.script(hold * speed))
        ids.append(job_id)
        finish.append(created + (hold * speed + job.queued_s + job.running_s) / speed)
    before = admin.stats()

    session = None
    floor_reqs: list[tuple[str, str, dict[str, str]]] = []
    if variant == "floor":
        import aiohttp

        floor_reqs = floor_requests(jobs, ids, spec["url"], creds)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        schedule = spec["schedule"]
    elif variant == "mediajobs" and spec.get("record_schedule"):
        from airflow_provider_mediajobs.engine.api import StatusRead

        original = StatusRead.__call__

        async def recorded(self: Any) -> Any:
            rec.calls[self._job_id].append(loop.time())
            return await original(self)

        StatusRead.__call__ = recorded  # type: ignore[method-assign]

    triggers = (
        []
        if variant == "floor"
        else [make_trigger(variant, job, job_id, spec) for job, job_id in zip(jobs, ids, strict=True)]
    )
    gc.collect()
    rss0 = rss_bytes()
    probe_task = asyncio.create_task(probe.run())
    await asyncio.sleep(0.2)  # a few lag samples of the idle loop
    cpu0, wall0, loop0 = cpu_seconds(), time.time(), loop.time()
    tasks: list[asyncio.Task[None]] = []
    batch, tick = spec["ramp_batch"], spec["ramp_tick"]
    for start in range(0, n, batch):
        for i in range(start, min(n, start + batch)):
            rec.started[i] = loop.time()
            if variant == "floor":
                method, url, headers = floor_reqs[i]
                offsets = schedule.get(str(i), [])
                tasks.append(
                    asyncio.create_task(floor_wait(i, session, method, url, headers, offsets, rec, probe))
                )
            else:
                classpath, kwargs = triggers[i]
                tasks.append(asyncio.create_task(run_trigger(i, classpath, kwargs, rec, probe)))
        await asyncio.sleep(tick)
    ramp_s = loop.time() - loop0
    results = await asyncio.gather(*tasks, return_exceptions=True)
    cpu1, wall1 = cpu_seconds(), time.time()
    probe.stop()
    await probe_task
    if session is not None:
        await session.close()
    after = admin.stats()
    admin.close()

    crashed = [repr(r)[:300] for r in results if isinstance(r, BaseException)]
    delta = stats_delta(before, after)
    calls = delta["status_calls"]
    latencies = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    failed_waits = []
    for i, (job, event) in enumerate(zip(jobs, rec.events, strict=True)):
        if event is None:
            failed_waits.append({"job": i, "why": "no event"})
            continue
        if variant != "floor":
            expected = job.outcome
            if event["state"] != expected:
                failed_waits.append(
                    {"job": i, "why": f"{event['status']} {event['state']} {event['message']}"}
                )
                continue
        latencies.append(event["t"] - finish[i])
        by_kind[f"{job.provider} {job.kind}"].append(event["t"] - finish[i])
    peak = max(probe.rss_samples, key=lambda s: s[1]) if probe.rss_samples else (0, rss0, 0)
    max_alive = max((s[2] for s in probe.rss_samples), default=0)
    schedule_out = None
    if rec.calls:
        starts = {ids[i]: rec.started[i] for i in range(n)}
        index = {job_id: i for i, job_id in enumerate(ids)}
        schedule_out = {
            str(index[job_id]): [round(t - starts[job_id], 4) for t in ts]
            for job_id, ts in rec.calls.items()
            if job_id in index
        }
    calls_per_job = [e["calls"] for e in rec.events if e and e.get("calls") is not None]
    return {
        "variant": variant,
        "n": n,
        "speed": speed,
        "wall_s": round(wall1 - wall0, 3),
        "ramp_s": round(ramp_s, 3),
        "cpu_s": round(cpu1 - cpu0, 3),
        "status_calls": calls,
        "client_calls": sum(calls_per_job),
        "cpu_ms_per_call": round((cpu1 - cpu0) * 1000 / calls, 4) if calls else None,
        "cpu_ms_per_wait": round((cpu1 - cpu0) * 1000 / n, 3) if n else None,
        "calls_per_s": round(calls / (wall1 - wall0), 1),
        "rss0_mb": round(rss0 / 2**20, 1),
        "peak_rss_mb": round(peak[1] / 2**20, 1),
        "max_alive": max_alive,
        "alive_at_peak": peak[2],
        "rss_kb_per_wait": round((peak[1] - rss0) / 1024 / max(1, max_alive), 2),
        "loop_lag_ms": {
            "p50": round(1000 * (percentile(probe.lags, 50) or 0), 2),
            "p99": round(1000 * (percentile(probe.lags, 99) or 0), 2),
            "max": round(1000 * max(probe.lags, default=0), 2),
            "samples": len(probe.lags),
        },
        "connections": delta["connections"],
        "connections_per_1000_calls": round(1000 * delta["connections"] / calls, 2) if calls else None,
        "calls_per_job": round(calls / n, 2) if n else None,
        "detection_latency_s": {
            "p50": round(percentile(latencies, 50) or 0, 3),
            "p95": round(percentile(latencies, 95) or 0, 3),
            "max": round(max(latencies, default=0), 3),
        }
        if variant != "floor"
        else None,
        "detection_p50_by_kind_s": {k: round(percentile(v, 50) or 0, 3) for k, v in sorted(by_kind.items())}
        if variant != "floor"
        else None,
        "http_429": delta["status_429"],
        "rate_limited": delta["rate_limited"],
        "failed_waits": len(failed_waits),
        "failed_examples": failed_waits[:5],
        "crashed": crashed[:5],
        "emulator_requests": delta["requests"],
        "schedule": schedule_out,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec_path, result_path = args
    with open(spec_path) as f:
        spec = json.load(f)
    logging.basicConfig(level=getattr(logging, spec.get("log_level", "INFO")), stream=sys.stderr)
    profile_path = os.environ.get("MEDIAJOBS_BENCH_PROFILE")
    if profile_path:  # developer aid: cProfile the whole client run
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, measure(spec))
        profiler.dump_stats(profile_path)
    else:
        result = asyncio.run(measure(spec))
    with open(result_path, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
