"""Fault matrix: real ``MediaJobTrigger.run()`` instances against the emulator, per provider and fault.

Every trigger is built as a sensor builds it, stored and inflated the way the triggerer does
(serde kwargs -> ``import_string(classpath)(**kwargs)``), and resolves its connection from an
``AIRFLOW_CONN_*`` JSON variable (TAMS in signature mode). The faults (docs/emulator.md) are
installed per job right after the wait's first successful read, so they hit a wait in progress.

Each scenario says how the wait must end: ``success`` when the fault is transient and the job
succeeds, ``error`` (with a message naming provider, conn id and job, once failing reads have
lasted the outage tolerance) when it is permanent, ``timeout`` when the deadline passes. Counted per
scenario and provider: waits wrongly ended (must be 0), status calls (emulator stats) against a
fault-free run of the same jobs, failed reads, and the time from the fault's end to the next
successful read. ``make reliability`` renders the table into docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from reliability_support import (
    Call,
    RecordingTransport,
    Tally,
    as_triggerer_would,
    emulator_connection_env,
    percentile,
    run_trigger,
    scale,
    secrets_of,
    write_results,
)

from airflow_provider_mediajobs import exceptions
from airflow_provider_mediajobs.dialects.registry import all_dialects
from airflow_provider_mediajobs.dialects.wire import ApiResponse, CallContext
from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.engine.transport import override_async_transport
from airflow_provider_mediajobs.engine.wait import MAX_BACKOFF, OUTAGE_TOLERANCE
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.constants import PROVIDERS

DIALECTS = all_dialects()
SPEED = 1000.0  # the plugin's emulator: 1 real second = 1000 emulated seconds
POLL, MAX_POLL = 0.05, 0.2  # trigger cadence (s)
QUEUED_S, RUNNING_S = 300.0, 600.0  # emulated: 0.3 s queued, 0.6 s running
TOLERANCE = 1.0  # outage tolerance of the waits (s): failing reads for this long end a wait
BACKOFF_CAP = 0.2  # longest pause between two failing reads (s)
FAST_TIMEOUT = 0.3  # client timeout of the "slow responses" connection (s)
WAITS = scale(2, 8)  # waits per provider in one round
ROUNDS = scale(1, 3)
BURST = 3  # faulted reads in a transient burst (well within TOLERANCE)


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    faults: tuple[Mapping[str, Any], ...] = ()
    expect: str = "succeeded"
    providers: tuple[str, ...] = PROVIDERS
    window: float | None = None  # an outage: the faults are removed after this many seconds
    client_timeout: float = 10.0
    job: Mapping[str, Any] = field(default_factory=dict)
    deadline: float = 30.0
    max_poll: float = MAX_POLL
    tolerance: float = TOLERANCE
    error_type: str | None = None
    reference: str = "baseline"  # the fault-free scenario with the same jobs ("extra" calls)


def burst(kind: str, count: int = BURST, **options: Any) -> tuple[dict[str, Any], ...]:
    return ({"kind": kind, "count": count, **options},)


def forever(kind: str, **options: Any) -> tuple[dict[str, Any], ...]:
    return ({"kind": kind, "count": None, **options},)


LONG_RUNNING_S = 3000.0  # for faults that last seconds (Retry-After, timeouts): the job outlasts them
SCENARIOS = [
    Scenario("baseline", "no fault"),
    Scenario("baseline_long", "no fault (3 s running)", job={"running_s": LONG_RUNNING_S}),
    Scenario(
        "5xx_burst",
        "5xx burst: 500, 502, 503",
        faults=(
            {"kind": "http_500", "count": 1},
            {"kind": "http_502", "count": 1},
            {"kind": "http_503", "count": 1},
        ),
    ),
    Scenario(
        "429_storm",
        f"429 storm x{BURST}, Retry-After 1 s (3 s job)",
        faults=burst("http_429", retry_after=1),
        job={"running_s": LONG_RUNNING_S},
        reference="baseline_long",
        tolerance=5.0,  # three Retry-After: 1 s in a row outlast the default 1 s
    ),
    Scenario(
        "slow",
        f"slow responses (1 s) past a {FAST_TIMEOUT} s client timeout x2 (3 s job)",
        faults=burst("latency", 2, delay_s=1.0),
        client_timeout=FAST_TIMEOUT,
        job={"running_s": LONG_RUNNING_S},
        reference="baseline_long",
        tolerance=3.0,
    ),
    Scenario("reset", f"connection resets x{BURST}", faults=burst("reset")),
    Scenario("truncated", f"truncated bodies x{BURST}", faults=burst("truncated")),
    Scenario("non_json", f"HTTP 200 non-JSON bodies x{BURST}", faults=burst("non_json")),
    Scenario("html", f"HTML 502 proxy pages x{BURST}", faults=burst("html")),
    Scenario(
        "goenhance_code_5xx",
        f"GoEnhance code 500 in HTTP 200 x{BURST}",
        faults=burst("goenhance_code", code=500, msg="server busy"),
        providers=("goenhance",),
    ),
    Scenario(
        "flap",
        "status flapping running ↔ queued (3 s job)",
        faults=forever("flap"),
        job={"running_s": LONG_RUNNING_S},
        reference="baseline_long",
    ),
    Scenario(
        "long_queue",
        "stays queued 3 s (TAMS rank 20), then runs",
        job={"queued_s": 3000.0, "queue_rank": 20},
        max_poll=1.0,
    ),
    Scenario(
        "outage", "5xx outage of 1.5 s", faults=forever("http_503"), window=1.5, tolerance=OUTAGE_TOLERANCE
    ),
    Scenario(
        "5xx_forever",
        "permanent 503",
        faults=forever("http_503"),
        expect="error",
        error_type="MediaJobTransientError",
    ),
    Scenario(
        "429_forever",
        "permanent 429, Retry-After 1 s",
        faults=forever("http_429", retry_after=1),
        expect="error",
        error_type="MediaJobRateLimitedError",
    ),
    Scenario(
        "reset_forever",
        "permanent connection resets",
        faults=forever("reset"),
        expect="error",
        error_type="MediaJobTransientError",
    ),
    Scenario(
        "slow_forever",
        f"permanently slower than the {FAST_TIMEOUT} s timeout",
        faults=forever("latency", delay_s=1.0),
        client_timeout=FAST_TIMEOUT,
        expect="error",
        error_type="MediaJobTransientError",
    ),
    Scenario(
        "truncated_forever",
        "permanently truncated bodies",
        faults=forever("truncated"),
        expect="error",
        error_type="MediaJobTransientError",
    ),
    Scenario(
        "non_json_forever",
        "permanently non-JSON",
        faults=forever("non_json"),
        expect="error",
        error_type="MediaJobBadResponseError",
    ),
    Scenario(
        "html_forever",
        "permanently HTML 502",
        faults=forever("html"),
        expect="error",
        error_type="MediaJobTransientError",
    ),
    Scenario(
        "goenhance_code_4xx",
        "GoEnhance code 400 in HTTP 200 (refused)",
        faults=forever("goenhance_code", code=400, msg="insufficient credits"),
        providers=("goenhance",),
        expect="error",
        error_type="MediaJobApiError",
    ),
    Scenario(
        "queued_past_deadline",
        "stays queued past a 1.5 s deadline",
        job={"queued_s": 10**7},
        deadline=1.5,
        max_poll=0.5,
        expect="timeout",
    ),
]
BY_NAME = {s.name: s for s in SCENARIOS}


@dataclass
class Wait:
    provider: str
    job_id: str
    trigger: MediaJobTrigger
    outputs: int
    fault_ids: list[str] = field(default_factory=list)
    fault_started: float | None = None  # monotonic
    fault_removed: float | None = None
    event: dict[str, Any] | None = None
    ended: float | None = None


@dataclass
class RoundResult:
    scenario: Scenario
    waits: list[Wait]
    calls: list[Call]
    stats: dict[str, Any]


# ---- running a scenario ---------------------------------------------------------------------------
def _conn_id(provider: str, scenario: Scenario) -> str:
    return f"{'relslow' if scenario.client_timeout < 1 else 'rel'}_{provider}"


def _scenario_for(provider: str, scenario: Scenario) -> Scenario:
    """A scenario for some providers only (GoEnhance's code field) runs the others fault-free next
    to it, so that every round puts the same load on the emulator and the machine."""
    return scenario if provider in scenario.providers else BY_NAME[scenario.reference]


def _new_wait(emu: Emulator, provider: str, scenario: Scenario) -> Wait:
    script: dict[str, Any] = {"outcome": "succeeded", "queued_s": QUEUED_S, "running_s": RUNNING_S}
    script.update(scenario.job)
    if provider != "tensorart":
        script.pop("queue_rank", None)
    job_id = str(emu.add_job(provider, **script))
    now = time.time()
    trigger = MediaJobTrigger(
        provider=provider,
        conn_id=_conn_id(provider, scenario),
        job_id=job_id,
        poll_interval=POLL,
        max_poll_interval=scenario.max_poll,
        deadline=now + scenario.deadline,
        outage_tolerance=scenario.tolerance,
        max_backoff=BACKOFF_CAP,
        started_at=now,
    )
    outputs = len((emu.job(provider, job_id) or {}).get("outputs", []))
    return Wait(provider, job_id, as_triggerer_would(trigger), outputs)


async def _drive(emu: Emulator, wait: Wait, scenario: Scenario, recorder: RecordingTransport) -> None:
    task = asyncio.create_task(run_trigger(wait.trigger))
    if scenario.faults:
        # mid-wait: right after the first successful read of this job
        while not task.done() and not any(c.ok for c in recorder.of(wait.provider, wait.job_id)):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        if not task.done():
            for fault in scenario.faults:
                wait.fault_ids.append(
                    emu.inject_fault(provider=wait.provider, job_id=wait.job_id, route="status", **fault)
                )
            wait.fault_started = time.monotonic()
            if scenario.window is not None:
                await asyncio.wait({task}, timeout=scenario.window)
                for fault_id in wait.fault_ids:
                    emu.remove_fault(fault_id)
                wait.fault_removed = time.monotonic()
    wait.event = await task
    wait.ended = time.monotonic()


async def run_round(emu: Emulator, scenario: Scenario) -> RoundResult:
    emu.reset()
    waits = [_new_wait(emu, p, _scenario_for(p, scenario)) for p in PROVIDERS for _ in range(WAITS)]
    recorder = RecordingTransport()
    try:
        with override_async_transport(recorder):
            await asyncio.gather(
                *(_drive(emu, w, _scenario_for(w.provider, scenario), recorder) for w in waits)
            )
        await _settle(emu, recorder)
    finally:
        await recorder.close_for_real()
        emu.clear_faults()
    return RoundResult(scenario, waits, list(recorder.calls), emu.stats())


async def _settle(emu: Emulator, recorder: RecordingTransport, limit: float = 15.0) -> None:
    """Wait until the emulator has answered every request it will answer, so that none is counted
    in the next round: a read the client gave up on (timeout) is still delayed server-side (or,
    if the server never read it, is never answered at all)."""
    timed_out = [c for c in recorder.calls if "Timeout" in c.outcome]
    until = time.monotonic() + limit
    while time.monotonic() < until:
        answered = sum(sum(v.values()) for k, v in emu.stats()["requests"].items() if k.endswith(" status"))
        if answered >= len(recorder.calls) - len(timed_out):
            break
        await asyncio.sleep(0.05)
    if timed_out:  # the emulator's latency faults hold a request for delay_s (1 s here)
        await asyncio.sleep(max(0.0, max(c.started for c in timed_out) + 1.3 - time.monotonic()))


# ---- what each wait must look like ------------------------------------------------------------------
def _problems(wait: Wait, scenario: Scenario, calls: list[Call], secrets: list[str]) -> list[str]:
    event = wait.event
    assert event is not None
    where = f"{scenario.name}/{wait.provider}/{wait.job_id}"
    problems: list[str] = []
    status = event["status"]
    if status != scenario.expect:
        return [f"{where}: ended {status!r} ({event.get('message')}), expected {scenario.expect!r}"]
    text = json.dumps(event)
    if any(secret in text for secret in secrets):
        problems.append(f"{where}: a key leaked into the event")
    if status == "succeeded":
        job = event["job"]
        if job["state"] != "succeeded" or len(job["outputs"]) != wait.outputs:
            problems.append(f"{where}: job {job['state']} with {len(job['outputs'])} outputs")
        if not all(url.startswith("http://127.0.0.1:") for url in job["output_urls"]):
            problems.append(f"{where}: unexpected output URLs {job['output_urls']}")
    elif status == "error":
        message = event["message"]
        for needed in (wait.provider, _conn_id(wait.provider, scenario), wait.job_id):
            if needed not in message:
                problems.append(f"{where}: error message does not name {needed!r}: {message}")
        if event.get("error_type") != scenario.error_type:
            problems.append(f"{where}: error type {event.get('error_type')}, expected {scenario.error_type}")
        if not hasattr(exceptions, str(event.get("error_type"))):
            problems.append(f"{where}: untyped error {event.get('error_type')}")
        after = [c for c in calls if wait.fault_started is not None and c.started >= wait.fault_started]
        retryable = scenario.error_type != "MediaJobApiError"
        if any(c.ok for c in after) or not after or (not retryable and len(after) != 1):
            problems.append(f"{where}: {len(after)} reads after the fault ({sum(c.ok for c in after)} good)")
        if retryable:
            if "Gave up after" not in message or "failed status reads in a row" not in message:
                problems.append(f"{where}: message does not say it gave up: {message}")
            # the bound is time: the first failed read plus the tolerance, then one last read
            # (a Retry-After floor may push that read out by up to its value + jitter)
            span = max(c.ended for c in after) - min(c.ended for c in after)
            slack = max(BACKOFF_CAP, 1.2 if "429" in scenario.name else 0.0) + scenario.client_timeout + 0.5
            if not scenario.tolerance <= span + 1e-3 <= scenario.tolerance + slack:
                problems.append(f"{where}: gave up {span:.2f}s after the first failed read")
        if event.get("job") is None or event["job"]["job_id"] != wait.job_id:
            problems.append(f"{where}: the error event lost the last seen job")
    elif status == "timeout" and (
        # the last seen state, if a read made it before the deadline on a loaded machine
        "Timed out after" not in event["message"]
        or (event.get("job") or {"state": "queued"})["state"] != "queued"
    ):
        problems.append(f"{where}: timeout event {event}")
    return problems


def _retry_after_honoured(calls: list[Call]) -> list[str]:
    """After a 429 with Retry-After: 1, the same wait's next read starts at least 1 s later."""
    problems = []
    for job_id in {c.job_id for c in calls}:
        mine = sorted((c for c in calls if c.job_id == job_id), key=lambda c: c.started)
        for before, after in itertools.pairwise(mine):
            if before.outcome == "429" and after.started - before.ended < 1.0:
                gap = after.started - before.ended
                problems.append(f"{before.provider}/{job_id}: came back {gap:.3f}s after a 429")
    return problems


def _recovery(wait: Wait, calls: list[Call]) -> float | None:
    """Seconds from the fault's end (last failed read, or the outage's end) to the next good read."""
    if wait.fault_started is None:
        return None
    after = [c for c in calls if c.started >= wait.fault_started]
    failed = [c for c in after if not c.ok]
    if not failed:
        return None
    fault_end = max(c.ended for c in failed)
    if wait.fault_removed is not None:
        fault_end = max(fault_end, wait.fault_removed)
    good = [c for c in after if c.ok and c.ended >= fault_end]
    return round(min(c.ended for c in good) - fault_end, 3) if good else None


def _check_flap(results: list[RoundResult], provider: str) -> list[str]:
    """The fault really flapped: some job was read queued after it had been read running."""
    dialect = DIALECTS[provider]
    kind = dialect.job_kinds[0]
    flapped = 0
    for result in results:
        for wait in (w for w in result.waits if w.provider == provider):
            ctx = CallContext(provider, "rel", wait.job_id)
            states = [
                dialect.parse_status(wait.job_id, kind, ApiResponse(200, c.body), ctx).state.value
                for c in result.calls
                if c.provider == provider and c.job_id == wait.job_id and c.ok
            ]
            flapped += any(a == "running" and b == "queued" for a, b in itertools.pairwise(states))
    return [] if flapped else [f"flap/{provider}: no job was ever read queued after running"]


# ---- the module's table ---------------------------------------------------------------------------
ROWS: list[dict[str, Any]] = []
BASELINE: dict[str, dict[str, float]] = {}  # fault-free scenario -> provider -> calls per wait


@pytest.fixture(scope="module")
def emulator(mediajobs_emulator_session: Emulator) -> Iterator[Emulator]:
    mp = pytest.MonkeyPatch()
    for name, value in {
        **emulator_connection_env(mediajobs_emulator_session, "rel"),
        **emulator_connection_env(mediajobs_emulator_session, "relslow", timeout=FAST_TIMEOUT),
    }.items():
        mp.setenv(name, value)
    mediajobs_emulator_session.reset()
    asyncio.run(_warm_up(mediajobs_emulator_session))  # first-use costs must not skew the baseline
    mediajobs_emulator_session.reset()
    yield mediajobs_emulator_session
    mediajobs_emulator_session.reset()
    mp.undo()
    write_results("fault_matrix", _summary())


async def _warm_up(emu: Emulator) -> None:
    """One finished job per provider, read once: the process's first connection lookup and pool."""
    for provider in PROVIDERS:
        job_id = str(emu.add_job(provider, outcome="succeeded", queued_s=0, running_s=0))
        trigger = MediaJobTrigger(provider=provider, conn_id=f"rel_{provider}", job_id=job_id)
        await run_trigger(as_triggerer_would(trigger))


def _summary() -> dict[str, Any]:
    return {
        "settings": {
            "waits_per_provider_per_round": WAITS,
            "rounds": ROUNDS,
            "poll_interval_s": POLL,
            "max_poll_interval_s": MAX_POLL,
            "outage_tolerance_s": TOLERANCE,
            "max_backoff_s": BACKOFF_CAP,
            "job": f"{QUEUED_S / SPEED:g} s queued + {RUNNING_S / SPEED:g} s running (real time)",
            "faults_installed": "per job, right after the wait's first successful read",
        },
        "waits": sum(r["waits"] for r in ROWS),
        "wrongly_ended": sum(r["wrongly_ended"] for r in ROWS),
        "rows": ROWS,
        "default_outage_tolerance": _default_outage_tolerance(),
    }


def _default_outage_tolerance() -> dict[str, Any]:
    """What a wait with default settings rides out: failing reads for ``outage_tolerance`` seconds
    (never past its deadline), with backoff from the provider's poll interval up to ``max_backoff``."""
    return {
        provider: {
            "poll_interval_s": dialect.default_poll_interval,
            "outage_tolerance_s": OUTAGE_TOLERANCE,
            "max_backoff_s": MAX_BACKOFF,
        }
        for provider, dialect in sorted(DIALECTS.items())
    }


# ---- the tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
async def test_fault_matrix(name: str, emulator: Emulator) -> None:
    """Scenarios run in order: ``baseline`` first, it is the reference for 'extra calls'."""
    scenario = BY_NAME[name]
    secrets = secrets_of(emulator)
    results = [await run_round(emulator, scenario) for _ in range(ROUNDS)]

    problems: list[str] = []
    for provider in PROVIDERS:
        own = _scenario_for(provider, scenario)  # fault-free fillers are checked too, not tabled
        tally = Tally()
        status_calls: list[int] = []
        failed_reads: list[int] = []
        recoveries: list[float] = []
        ends: list[float] = []
        trigger_calls: list[int] = []
        for result in results:
            waits = [w for w in result.waits if w.provider == provider]
            emulator_calls = sum(result.stats["requests"].get(f"{provider} status", {}).values())
            status_calls.append(emulator_calls)
            # the trigger's own count agrees with what the emulator (or the client) saw
            trigger_calls.append(sum(int(w.event["status_calls"]) for w in waits if w.event))
            for wait in waits:
                calls = [c for c in result.calls if c.provider == provider and c.job_id == wait.job_id]
                found = _problems(wait, own, calls, secrets)
                problems.extend(found)
                tally.check(not found, f"{provider}/{wait.job_id}")
                failed_reads.append(sum(not c.ok for c in calls))
                recovery = _recovery(wait, calls)
                if recovery is not None:
                    recoveries.append(recovery)
                if wait.fault_started is not None and wait.ended is not None and own.expect != "succeeded":
                    ends.append(round(wait.ended - wait.fault_started, 3))
            if scenario.name == "429_storm" or scenario.name == "429_forever":
                problems.extend(_retry_after_honoured([c for c in result.calls if c.provider == provider]))
            side_effects = {
                k: v for k, v in result.stats["requests"].items() if " create" in k or " cancel" in k
            }
            if side_effects:
                problems.append(f"{scenario.name}: waits caused side effects {side_effects}")
        waits_total = tally.total
        per_wait = sum(status_calls) / waits_total
        if not scenario.faults and scenario.name.startswith("baseline"):
            BASELINE.setdefault(scenario.name, {})[provider] = per_wait
        if scenario.name == "flap":
            problems.extend(_check_flap(results, provider))
        # the trigger's count matches the emulator's (no hidden retries below the trigger), except
        # reads the client gave up on before the server saw them
        timeouts = sum("Timeout" in c.outcome for r in results for c in r.calls if c.provider == provider)
        if not sum(trigger_calls) - timeouts <= sum(status_calls) <= sum(trigger_calls):
            problems.append(
                f"{scenario.name}/{provider}: trigger counted {sum(trigger_calls)} reads "
                f"({timeouts} timed out), emulator {sum(status_calls)}"
            )
        if provider not in scenario.providers:
            continue
        base = BASELINE.get(scenario.reference, {}).get(provider)
        ROWS.append(
            {
                "scenario": scenario.name,
                "fault": scenario.label,
                "provider": provider,
                "expected": scenario.expect,
                "waits": waits_total,
                "wrongly_ended": len(tally.wrong),
                "status_calls_per_wait": round(per_wait, 2),
                "extra_calls_per_wait": None
                if base is None or scenario.expect != "succeeded" or not scenario.faults
                else round(per_wait - base, 2),
                "failed_reads_per_wait": round(statistics.mean(failed_reads), 2),
                "fixed_interval_calls_per_wait": round(
                    (float(scenario.job.get("queued_s", QUEUED_S)) + RUNNING_S) / SPEED / POLL
                )
                if scenario.name == "long_queue"
                else None,
                "recovery_p50_s": percentile(recoveries, 0.5),
                "recovery_max_s": max(recoveries) if recoveries else None,
                "ended_after_fault_p50_s": percentile(ends, 0.5),
                "example_message": next(
                    (
                        w.event["message"]
                        for r in results
                        for w in r.waits
                        if w.provider == provider and w.event
                    ),
                    None,
                ),
            }
        )
    assert not problems, "\n".join(problems[:20])
