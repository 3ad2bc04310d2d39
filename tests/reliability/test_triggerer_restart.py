"""Triggerer restarts: SIGKILL a process running many waits, rebuild every trigger from its stored
kwargs in a new process (as Airflow reassigns them), and every wait still ends in the right state.

The waits are what sensors and submit operators defer with: all four providers (Vozo lip-sync and
translate), jobs that succeed, fail or are canceled, some behind transient 503s, some whose
deadline passes while no triggerer runs them, and ``cancel_on_kill`` set where a submit operator
would set it. The first process is killed while most waits are in flight; the second runs all of
them again (those that had already fired too: a trigger that runs twice, one after the other), and
a tenth of them twice at once. Every event must match the emulator's scripted outcome; duplicate
runs must agree; and the emulator must have seen no create and no cancel call: waiting, even twice,
has no side effects.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    CLASSPATH,
    FULL,
    as_triggerer_would,
    emulator_connection_env,
    expected_status,
    normalized_event,
    run_trigger,
    scale,
    secrets_of,
    stored_kwargs,
    write_results,
)

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.airflow_compat import FakeSupervisor, bind_task_instance
from support.constants import PROVIDERS

CHILD = Path(__file__).with_name("triggerer_child.py")
WAITS = scale(200, 2000)
POLL, MAX_POLL = scale((0.25, 1.5), (1.0, 5.0))
DURATION = scale((0.5, 4.0), (3.0, 25.0))  # real seconds queued, and again running (uniform)
KILL_AFTER_FIRED = 0.15  # SIGKILL once this share of the waits has fired
GAP = scale(0.5, 2.0)  # seconds with no triggerer, as between a crash and the reassignment
DEADLINE_PASSES = scale(6.0, 30.0)  # the deadline of the "timeout" waits: after the kill
SPEED = 1000.0


def _plan(emu: Emulator, rng: random.Random) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The stored triggers, and what each one must end with."""
    items, expected = [], {}
    now = time.time()
    for index in range(WAITS):
        provider = PROVIDERS[index % len(PROVIDERS)]
        kind = "translate" if provider == "vozo" and index % 8 == 2 else None
        roll = rng.random()
        outcome = "succeeded" if roll < 0.7 else ("failed" if roll < 0.85 else "canceled")
        never_ends = rng.random() < 0.05
        script: dict[str, Any] = {
            "outcome": outcome,
            "queued_s": 10**8 if never_ends else rng.uniform(*DURATION) * SPEED,
            "running_s": rng.uniform(*DURATION) * SPEED,
        }
        if kind:
            script["kind"] = kind
        if outcome == "failed":
            script["failure_reason"] = f"emulated failure {index}"
            if provider == "tensorart":
                script["failure_code"] = rng.choice(["TRANSITORY_ERROR", "FATAL_ERROR"])
        job_id = str(emu.add_job(provider, **script))
        if rng.random() < 0.1:  # some waits also meet a short 503 burst
            emu.inject_fault(provider=provider, job_id=job_id, route="status", kind="http_503", count=2)
        trigger = MediaJobTrigger(
            provider=provider,
            conn_id=f"rst_{provider}",
            job_id=job_id,
            job_kind=kind,
            poll_interval=POLL,
            max_poll_interval=MAX_POLL,
            deadline=now + (DEADLINE_PASSES if never_ends else 3600),
            max_consecutive_failures=10,
            cancel_on_kill=provider in ("tensorart", "tensorpix"),
            started_at=now,
        )
        classpath, stored = stored_kwargs(trigger)
        assert classpath == CLASSPATH
        items.append({"index": index, "classpath": classpath, "kwargs": stored, "copies": 1})
        expected[index] = {
            "provider": provider,
            "job_id": job_id,
            "status": "timeout" if never_ends else expected_status(provider, outcome),
            "outputs": 0
            if never_ends or outcome != "succeeded"
            else len(emu.job(provider, job_id)["outputs"]),
        }
    return items, expected


class Child:
    """One stand-in triggerer process; stdout/stderr go to files (nothing to deadlock on)."""

    def __init__(self, tmp: Path, name: str, plan: Path, events: Path, env: dict[str, str]) -> None:
        self.out = tmp / f"{name}.out"
        self.err = tmp / f"{name}.err"
        self.events = events
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD), str(plan), str(events)], stdout=out, stderr=err, env=env
            )
        self.started = time.monotonic()

    def fired(self) -> list[dict[str, Any]]:
        if not self.events.exists():
            return []
        lines = self.events.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def said(self, word: str) -> bool:
        return any(line.split(" ")[0] == word for line in self.out.read_text(errors="replace").splitlines())

    def describe(self) -> str:
        tail = self.err.read_text(errors="replace")[-3000:]
        return f"exit code {self.proc.returncode}; stderr tail:\n{tail}"


def _wait_until(predicate: Any, limit: float, child: Child) -> None:
    until = time.monotonic() + limit
    while not predicate():
        if child.proc.poll() is not None:
            raise AssertionError(f"the child triggerer exited early: {child.describe()}")
        if time.monotonic() > until:
            raise AssertionError(f"gave up waiting after {limit}s: {child.describe()}")
        time.sleep(0.05)


def test_sigkill_mid_wait_and_rebuild_in_a_new_process(mediajobs_emulator: Emulator, tmp_path: Path) -> None:
    emu = mediajobs_emulator
    rng = random.Random(2026)
    env = {**os.environ, **emulator_connection_env(emu, "rst")}
    env.pop("PYTEST_CURRENT_TEST", None)
    plan = tmp_path / "plan.json"

    # ---- first triggerer: killed mid-wait -----------------------------------------------------
    first = Child(tmp_path, "first", plan, tmp_path / "first.jsonl", env)
    _wait_until(lambda: first.said("imported"), 120, first)
    items, expected = _plan(emu, rng)  # the jobs' clocks start now, with the process up
    staged = plan.with_suffix(".tmp")
    staged.write_text(json.dumps({"triggers": items}))
    staged.rename(plan)
    _wait_until(lambda: first.said("ready"), 120, first)
    ready_after = time.monotonic() - first.started
    _wait_until(lambda: len(first.fired()) >= WAITS * KILL_AFTER_FIRED, 300, first)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=30)
    killed_at = time.monotonic()
    fired_before_kill = {e["index"]: e["event"] for e in first.fired()}
    assert 0 < len(fired_before_kill) < WAITS, "the kill must land mid-wait"
    in_flight_at_kill = WAITS - len(fired_before_kill)
    calls_first = _status_calls(emu)
    time.sleep(GAP)  # no triggerer: the reassignment takes a moment

    # ---- second triggerer: every trigger rebuilt from its stored kwargs, a tenth of them twice ---
    doubled = set(rng.sample(range(WAITS), WAITS // 10))
    plan2 = tmp_path / "plan2.json"
    plan2.write_text(
        json.dumps({"triggers": [{**item, "copies": 2 if item["index"] in doubled else 1} for item in items]})
    )
    second = Child(tmp_path, "second", plan2, tmp_path / "second.jsonl", env)
    try:
        second.proc.wait(timeout=scale(240, 900))
    except subprocess.TimeoutExpired:
        second.proc.kill()
        raise AssertionError(
            f"the second triggerer did not finish: {len(second.fired())}/{WAITS} fired"
        ) from None
    finished_in = time.monotonic() - killed_at
    assert second.proc.returncode == 0, second.describe()

    # ---- every wait ended right, once per copy ----------------------------------------------
    events: dict[tuple[int, int], dict[str, Any]] = {}
    for line in second.fired():
        key = (line["index"], line["copy"])
        assert key not in events, f"trigger {key} fired twice"
        events[key] = line["event"]
    wrong: list[str] = []
    secrets = secrets_of(emu)
    for index, want in expected.items():
        event = events.get((index, 0))
        if event is None:
            wrong.append(f"{index}: no event")
            continue
        where = f"{index} {want['provider']} {want['job_id']}"
        if event["status"] != want["status"]:
            wrong.append(f"{where}: {event['status']} ({event.get('message')}), expected {want['status']}")
        elif want["status"] == "succeeded" and len(event["job"]["outputs"]) != want["outputs"]:
            wrong.append(f"{where}: {len(event['job']['outputs'])} outputs, expected {want['outputs']}")
        if any(secret in json.dumps(event) for secret in secrets):
            wrong.append(f"{where}: a key leaked into the event")
        if index in doubled and normalized_event(events.get((index, 1)) or {}) != normalized_event(event):
            wrong.append(f"{where}: the two concurrent copies disagree")
        if index in fired_before_kill and normalized_event(fired_before_kill[index]) != normalized_event(
            event
        ):
            wrong.append(f"{where}: the rerun disagrees with the first run")
    for index, event in fired_before_kill.items():
        if event["status"] != expected[index]["status"]:
            wrong.append(f"{index}: first run ended {event['status']}, expected {expected[index]['status']}")
    assert not wrong, f"{len(wrong)} wrong:\n" + "\n".join(wrong[:25])

    # ---- no side effects: only status reads reached the provider -----------------------------
    requests = emu.stats()["requests"]
    side_effects = {k: v for k, v in requests.items() if not k.endswith(" status") and k != "admin"}
    assert side_effects == {}, f"waiting caused {side_effects}"
    calls_total = _status_calls(emu)
    write_results(
        "triggerer_restart",
        {
            "waits": WAITS,
            "copies_run_concurrently": len(doubled),
            "expected": dict(Counter(w["status"] for w in expected.values())),
            "first_process_ready_s": round(ready_after, 1),
            "fired_before_sigkill": len(fired_before_kill),
            "in_flight_at_sigkill": in_flight_at_kill,
            "gap_without_triggerer_s": GAP,
            "all_finished_after_kill_s": round(finished_in, 1),
            "finished": sum((i, 0) in events for i in expected),
            "wrongly_ended": len(wrong),
            "status_calls_first_process": calls_first,
            "status_calls_total": calls_total,
            "status_calls_per_wait": round(calls_total / WAITS, 2),
            "create_calls": 0,
            "cancel_calls": 0,
            "poll_interval_s": [POLL, MAX_POLL],
            "job_duration_s": f"{DURATION[0]}-{DURATION[1]} queued + {DURATION[0]}-{DURATION[1]} running",
            "profile_full": FULL,
        },
    )


def _status_calls(emu: Emulator) -> int:
    return sum(sum(v.values()) for k, v in emu.stats()["requests"].items() if k.endswith(" status"))


# ---- the same in one process: cancellation is not a kill ------------------------------------------
@pytest.mark.parametrize("provider", ["tensorart", "tensorpix"])
async def test_a_trigger_cancelled_by_a_restart_cancels_nothing_remote(
    mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    """A triggerer that stops (or hands a trigger to another triggerer) cancels the trigger's task;
    only a user's kill calls ``on_kill``. Neither a cancelled run, nor a rerun, nor a concurrent
    second instance may cancel or create anything; ``on_kill`` cancels exactly once."""
    emu = mediajobs_emulator
    for name, value in emulator_connection_env(emu, "rst").items():
        monkeypatch.setenv(name, value)
    job_id = str(emu.add_job(provider, outcome="succeeded", queued_s=10**6, running_s=500))
    now = time.time()
    original = MediaJobTrigger(
        provider=provider,
        conn_id=f"rst_{provider}",
        job_id=job_id,
        poll_interval=0.05,
        max_poll_interval=0.2,
        deadline=now + 60,
        cancel_on_kill=True,
        started_at=now,
    )
    # 1. run, and cancel the task mid-wait, as a stopping triggerer does
    task = asyncio.create_task(run_trigger(as_triggerer_would(original)))
    while _status_calls(emu) < 2 and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert not task.done(), f"the wait ended before it could be cancelled: {task.result()}"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # 2. the rebuilt trigger, twice at once, then once more after both finished (the job's
    #    queue ends now: the emulated clock jumps to its end)
    emu.advance(10**6)
    first, second = await asyncio.gather(
        run_trigger(as_triggerer_would(original)), run_trigger(as_triggerer_would(original))
    )
    third = await run_trigger(as_triggerer_would(original))
    assert first["status"] == second["status"] == third["status"] == "succeeded"
    assert normalized_event(first) == normalized_event(second) == normalized_event(third)
    requests = emu.stats()["requests"]
    assert {k for k in requests if k != "admin"} == {f"{provider} status"}, requests
    # 3. a kill while the task is still deferred (the trigger moved to another triggerer) cancels
    #    nothing; a user's kill (the task marked failed) is the one thing that cancels (here: the
    #    job already finished -> no-op answer)
    from airflow.sdk.execution_time import task_runner

    supervisor = FakeSupervisor({("run-1", "submit"): "deferred"})
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
    await bind_task_instance(as_triggerer_would(original)).on_kill()
    assert f"{provider} cancel" not in emu.stats()["requests"]
    supervisor.states[("run-1", "submit")] = "failed"
    await bind_task_instance(as_triggerer_would(original)).on_kill()
    assert sum(emu.stats()["requests"].get(f"{provider} cancel", {}).values()) == 1
