"""Issue 4: the trigger never blocks the event loop.

50 ``MediaJobTrigger.run()`` at once — all four providers, TAMS signing every request with an RSA
key, Vozo both job families, a mix of outcomes and transient faults (503, 429 with Retry-After,
latency, connection resets) — on one event loop in asyncio debug mode with
``slow_callback_duration = 0.05``. A blocking call on the loop shows as an asyncio "Executing
<...> took N seconds" warning; there must be none that the trigger caused.

This machine is shared: the OS may deschedule the whole process in the middle of a 1 ms callback,
and asyncio then reports it as slow. So every callback is also measured here: its wall time, the
CPU time the loop thread spent in it, and how often a sampler thread (every 2 ms) saw the loop
thread inside it. A callback that blocked the loop either burned CPU (CPU time >= half the
threshold) or waited with the GIL released (the sampler saw it waiting, >= 5 samples); one that
did neither was not running at all (descheduled), which is reported but not held against the
trigger; nor is a pause of Python's garbage collector, nor the time debug mode itself spends
recording where each future was created: in debug mode every new future and handle captures a
stack (``traceback.extract_stack``), which stats and, the first time, reads each source file on
it. On a cold or slow disk that costs hundreds of ms (seen in CI on Airflow 3.1, whose async
connection lookup creates futures in files nothing had touched yet); a production triggerer
runs without debug mode and never pays it. Control tests prove the watch catches a sleeping and
a CPU-bound trigger, and does not blame a trigger for that capture on a slow disk.

The measured run includes everything a triggerer does on its loop: each trigger resolves its
connection asynchronously from ``AIRFLOW_CONN_*`` (its first lookup in this loop), loads the TAMS
private key (a PEM this process has never parsed), builds the shared TLS context (reset here, so
it is created during the run, while all 50 start) and the pooled clients, signs, sends, parses,
backs off. Only Airflow's triggerer module is imported beforehand, as in a triggerer process.

The emulator runs in its own process (``python -m airflow_provider_mediajobs.emulator``), as the
real APIs would, so its request handling never holds this process's GIL.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import importlib
import json
import logging
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from airflow.sdk._shared.secrets_masker import _secrets_masker  # airflow.sdk.log re-exports it on 3.2+

from airflow_provider_mediajobs.engine import transport
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections

pytestmark = pytest.mark.e2e

SPEED = 20.0  # emulated seconds per real second
SLOW = 0.05  # seconds: any callback slower than this is a blocking call
TRIGGERS = 50
ASYNCIO_DIR = str(Path(asyncio.__file__).parent)
AIOHTTP_DIR = str(Path(aiohttp.__file__).parent)
# debug mode's source tracebacks: asyncio's (futures, handles, tasks) and aiohttp's (connections,
# requests, responses record where they were made when loop.get_debug() is true)
DEBUG_CAPTURERS = (ASYNCIO_DIR, AIOHTTP_DIR)


def in_debug_capture(frame: Any) -> bool:
    """Is this loop-thread stack inside debug mode's record of where an object was made?

    asyncio calls ``traceback.extract_stack`` (C futures, from ``loop.create_future``) or
    ``asyncio.format_helpers.extract_stack`` (handles, Python futures and tasks) from its own
    modules; aiohttp calls ``traceback.extract_stack`` for its connections, requests and responses
    when the loop is in debug mode. Nothing else calls either from there.
    """
    while frame is not None:
        code, caller = frame.f_code, frame.f_back
        if (
            code.co_name == "extract_stack"
            and caller
            and caller.f_code.co_filename.startswith(DEBUG_CAPTURERS)
        ):
            return True
        frame = caller
    return False


@dataclass
class EmulatorProcess:
    url: str
    credentials: dict[str, Any]

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}{path}", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_emulator/stats", timeout=10).json())


@pytest.fixture(scope="module")
def emulator_process() -> Iterator[EmulatorProcess]:
    cmd = [sys.executable, "-m", "airflow_provider_mediajobs.emulator", "--port", "0", "--seed", "3"]
    cmd += ["--speed", str(SPEED), "--tams-qps", "0", "--print-credentials"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        listening = proc.stdout.readline()
        assert "listening on" in listening, listening + (proc.stderr.read() if proc.stderr else "")
        credentials = json.loads(proc.stdout.readline())
        yield EmulatorProcess(listening.rsplit(" ", 1)[1].strip(), credentials)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class SlowCallbacks(logging.Handler):
    """Collects asyncio's debug-mode "Executing <handle> took N seconds" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing") and " took " in message:
            self.messages.append(message)


@dataclass
class Slow:
    wall: float
    cpu: float
    gc: float  # of which Python's cyclic garbage collector
    samples: int
    handle: str
    stacks: collections.Counter[str]
    capture: int = 0  # of the samples, those inside asyncio debug mode's stack capture

    @property
    def blocked(self) -> bool:
        """Burned CPU on the loop (beyond a GC pass), or waited with the GIL released.

        Debug mode's own stack capture is not the trigger's: its share of the samples is taken
        off the samples and, in proportion, off the CPU time.
        """
        own = self.samples - self.capture
        cpu = self.cpu - self.gc
        if self.samples:
            cpu *= own / self.samples
        return cpu >= SLOW / 2 or own >= 5

    @property
    def kind(self) -> str:
        if self.blocked:
            return "BLOCKED"
        if self.capture and self.capture >= self.samples / 2:
            return "debug-mode stack capture"
        return "GC pause" if self.gc >= self.wall / 2 else "descheduled"

    def __str__(self) -> str:
        where = "; ".join(f"{n}x {stack}" for stack, n in self.stacks.most_common(2)) or "-"
        return (
            f"{self.kind}: {self.wall * 1000:.0f} ms wall, {self.cpu * 1000:.0f} ms CPU, {self.gc * 1000:.0f} ms GC, "
            f"{self.samples} samples ({self.capture} in debug capture): {self.handle} at {where}"
        )


class LoopWatch:
    """Times every callback of the loop (wall and loop-thread CPU) and samples where it is.

    A full garbage collection of a process this size takes ~150-200 ms and runs inside whatever
    callback happens to allocate; its time is measured (``gc.callbacks``) and not counted
    against the callback: it is the interpreter's pause, not a blocking call.
    """

    def __init__(self) -> None:
        self.slow: list[Slow] = []
        self.gc_pauses: list[float] = []
        self.worst = 0.0
        self.near_misses = 0  # callbacks just under SLOW here that asyncio's own timing may put over it
        self._current: tuple[float, collections.Counter[str]] | None = None
        self._samples = 0
        self._capture = 0
        self._gc_in_callback = 0.0
        self._gc_started = 0.0
        self._stop = threading.Event()
        self.asyncio_warnings = SlowCallbacks()

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if threading.get_ident() != self._loop_thread:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        pause = time.perf_counter() - self._gc_started
        self.gc_pauses.append(pause)
        if self._current is not None:
            self._gc_in_callback += pause

    def __enter__(self) -> LoopWatch:
        self._original = asyncio.events.Handle._run
        self._loop_thread = threading.get_ident()
        watch = self

        def timed(handle: asyncio.events.Handle) -> None:
            if threading.get_ident() == watch._loop_thread:
                watch._timed(handle)
            else:  # another thread's loop (an in-process emulator of another test module)
                watch._original(handle)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        logging.getLogger("asyncio").addHandler(self.asyncio_warnings)
        gc.callbacks.append(self._on_gc)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join()
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
        logging.getLogger("asyncio").removeHandler(self.asyncio_warnings)
        gc.callbacks.remove(self._on_gc)

    def _timed(self, handle: asyncio.events.Handle) -> None:
        stacks: collections.Counter[str] = collections.Counter()
        self._samples = 0
        self._capture = 0
        self._gc_in_callback = 0.0
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        self._current = (wall0, stacks)
        try:
            self._original(handle)
        finally:
            self._current = None
            wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
            self.worst = max(self.worst, wall)
            if wall >= SLOW:
                gc_s, samples, capture = self._gc_in_callback, self._samples, self._capture
                self.slow.append(Slow(wall, cpu, gc_s, samples, repr(handle)[:120], stacks, capture))
            elif wall >= SLOW * 0.8:
                self.near_misses += 1

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            current = self._current
            frame = sys._current_frames().get(self._loop_thread)
            if current is None or frame is None or current is not self._current:
                continue
            self._samples += 1
            if in_debug_capture(frame):
                self._capture += 1
            if time.perf_counter() - current[0] >= 0.01:
                stack = traceback.StackSummary.extract(
                    traceback.walk_stack(frame), limit=12, lookup_lines=False
                )
                current[1][" <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stack)] += 1

    @property
    def blocking(self) -> list[Slow]:
        return [s for s in self.slow if s.blocked]

    def report(self) -> str:
        gc_worst = max(self.gc_pauses, default=0.0)
        lines = [f"slowest callback {self.worst * 1000:.1f} ms; slowest GC pause {gc_worst * 1000:.1f} ms"]
        lines += [f"  {s}" for s in self.slow]
        return "\n".join(lines)


def run_watched(coro: Any) -> tuple[Any, LoopWatch]:
    """Run ``coro`` on a fresh debug-mode loop under a :class:`LoopWatch`."""
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW
    try:
        with LoopWatch() as watch:
            result = loop.run_until_complete(coro)
            loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    # asyncio's own warnings and this watch see the same slow callbacks; asyncio's timing also
    # includes this wrapper's bookkeeping, so a callback just under SLOW here can be over it there
    warned = len(watch.asyncio_warnings.messages)
    assert warned <= len(watch.slow) + watch.near_misses, watch.asyncio_warnings.messages
    return result, watch


def plan(
    emu: EmulatorProcess, monkeypatch: pytest.MonkeyPatch, count: int = TRIGGERS, faults: bool = True
) -> list[tuple[MediaJobTrigger, str]]:
    """``count`` triggers on scripted jobs, with the outcome each must report (and faults)."""
    emu.post("/_emulator/reset", {})
    tams = emu.credentials["tensorart"]
    connections = {
        "goenhance_loop": {"password": emu.credentials["goenhance"]["api_key"]},
        "vozo_loop": {"password": emu.credentials["vozo"]["api_key"]},
        "tensorpix_loop": {"password": emu.credentials["tensorpix"]["api_key"]},
        "tensorart_loop": {"extra": {"app_id": tams["app_id"], "private_key": tams["private_key"]}},
    }
    for conn_id, fields in connections.items():
        provider = conn_id.removesuffix("_loop")
        conn = {"conn_type": provider, "host": f"{emu.url}/{provider}", **fields}
        set_connections(monkeypatch, {conn_id: conn})

    outcomes = ("succeeded", "succeeded", "failed", "canceled")
    status_of = {"succeeded": "succeeded", "failed": "failed", "canceled": "canceled"}
    deadline = time.time() + 120
    planned = []
    for i in range(count):
        provider = ("tensorart", "tensorpix", "goenhance", "vozo")[i % 4]
        kind = ("lipsync", "translate")[i // 4 % 2] if provider == "vozo" else None
        outcome = outcomes[i // 4 % 4]
        script: dict[str, Any] = {
            "provider": provider,
            "outcome": outcome,
            "queued_s": 10 + (i * 7) % 30,  # emulated: 0.5 to 2 s real
            "running_s": 20 + (i * 11) % 40,
        }
        if kind:
            script["kind"] = kind
        job_id = str(emu.post("/_emulator/jobs", script)["job_id"])
        expected = status_of[outcome]
        if outcome == "canceled" and provider in ("goenhance", "vozo"):
            expected = "failed"  # neither API has a canceled state
        trigger = MediaJobTrigger(
            provider=provider,
            conn_id=f"{provider}_loop",
            job_id=job_id,
            job_kind=kind,
            poll_interval=0.05,
            max_poll_interval=0.2,
            deadline=deadline,
        )
        planned.append((trigger, expected))
    # transient trouble on the way: retries, backoff and Retry-After run on the loop too
    trouble = (
        ("tensorpix", "http_503", 6, {}),
        ("goenhance", "http_429", 3, {"retry_after": 1}),
        ("vozo", "latency", 6, {"delay_s": 0.3}),
        ("tensorart", "reset", 3, {}),
        ("tensorart", "truncated", 2, {}),
    )
    for provider, kind, times, extra in trouble if faults else ():
        emu.post(
            "/_emulator/faults",
            {"provider": provider, "route": "status", "kind": kind, "count": times, **extra},
        )
    return planned


async def first_event(trigger: MediaJobTrigger) -> dict[str, Any]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    return events[0]


async def run_all(triggers: list[MediaJobTrigger]) -> list[dict[str, Any]]:
    tasks = []
    for trigger in triggers:  # one per loop iteration, as a triggerer starts them
        tasks.append(asyncio.create_task(first_event(trigger)))
        await asyncio.sleep(0)
    return list(await asyncio.gather(*tasks))


def test_fifty_triggers_never_block_the_loop(
    emulator_process: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process a triggerer runs triggers in has Airflow's triggerer machinery imported (the
    # supervisor comms that an async connection lookup uses); nothing of this provider is warmed.
    importlib.import_module("airflow.jobs.triggerer_job_runner")
    # A fresh triggerer has masked no secret yet. Airflow 3.3.2's async connection lookup masks
    # the connection's secrets on the loop, and each new secret recompiles one regex over every
    # secret the process masked before (SecretsMasker.add_mask): ~2 ms with these 4 connections,
    # 100+ ms after the rest of this test suite, ~280 ms CPU with 1,000 keys and 40 PEM extras.
    # That growth is Airflow's, not the trigger's: it is measured from a fresh masker here.
    masker = _secrets_masker()
    monkeypatch.setattr(masker, "patterns", set())
    monkeypatch.setattr(masker, "replacer", None)
    planned = plan(emulator_process, monkeypatch)
    monkeypatch.setattr(transport, "_ssl_context", None)  # the TLS context is built during the run
    started = time.monotonic()

    events, watch = run_watched(run_all([t for t, _ in planned]))

    print(f"{TRIGGERS} triggers in {time.monotonic() - started:.1f}s; {watch.report()}")
    assert watch.blocking == [], f"blocking calls on the event loop:\n{watch.report()}"
    assert [e["status"] for e in events] == [expected for _, expected in planned], [
        e["message"] for e in events
    ]
    assert transport._ssl_context is not None  # built (off the loop) by the run
    requests = emulator_process.stats()["requests"]
    assert requests["tensorpix status"]["503"] == 6
    assert requests["goenhance status"]["429"] == 3
    assert requests["tensorart status"].get("reset") == 3
    # every read the triggers made reached the emulator (a connection it reset or cut short may
    # be re-sent once by the HTTP client)
    served = sum(sum(codes.values()) for route, codes in requests.items() if route.endswith(" status"))
    reads = sum(e["status_calls"] for e in events)
    assert reads <= served <= reads + 5, (reads, served)


def _blocking_read(kind: str) -> Any:
    """A status read that blocks the loop the way a careless hook would."""
    from airflow_provider_mediajobs.engine.api import StatusRead

    original = StatusRead.__call__

    async def read(self: Any) -> Any:
        if kind == "sleep":
            time.sleep(0.12)  # noqa: ASYNC251  (blocking: the GIL is released, the loop is not)
        else:
            end = time.thread_time() + 0.12  # CPU on the loop
            while time.thread_time() < end:
                pass
        return await original(self)

    return read


@pytest.mark.parametrize("kind", ["sleep", "cpu"])
def test_the_watch_catches_a_blocking_trigger(
    emulator_process: EmulatorProcess, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    from airflow_provider_mediajobs.engine.api import StatusRead

    planned = plan(emulator_process, monkeypatch, count=2, faults=False)
    monkeypatch.setattr(StatusRead, "__call__", _blocking_read(kind))

    events, watch = run_watched(run_all([t for t, _ in planned]))

    assert len(events) == 2
    assert watch.blocking, watch.report()
    assert watch.asyncio_warnings.messages  # asyncio's debug mode saw them too
    if kind == "sleep":
        assert any("test_trigger_event_loop.py" in str(s) for s in watch.blocking), watch.report()


def test_the_watch_does_not_blame_a_trigger_for_debug_modes_stack_capture(
    emulator_process: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A disk where every stat is slow: in debug mode each new future and handle stats the source
    # files on its stack (linecache.checkcache), so callbacks that create futures become slow.
    import linecache

    checkcache = linecache.checkcache

    def slow_checkcache(filename: str | None = None) -> None:
        time.sleep(0.004)  # stands for a slow stat; called from asyncio's debug-mode capture
        checkcache(filename)

    planned = plan(emulator_process, monkeypatch, count=2, faults=False)
    monkeypatch.setattr(linecache, "checkcache", slow_checkcache)

    events, watch = run_watched(run_all([t for t, _ in planned]))

    assert [e["status"] for e in events] == [expected for _, expected in planned]
    captured = [s for s in watch.slow if s.kind == "debug-mode stack capture"]
    assert captured, watch.report()  # the capture made callbacks slow, and the watch saw where
    assert watch.blocking == [], watch.report()
