"""Real Airflow 3 on SQLite: SIGKILL the triggerer while every wait is deferred, start a new one.

One Airflow (api-server, scheduler with the LocalExecutor, triggerer) against the emulator runs:
- three runs of the restart DAG (a deferrable sensor per provider on hour-long jobs),
- a run with jobs that fail or do not exist (error paths, for the secret scan),
- the example pipeline (all four providers submitted and awaited; TAMS signs with RSA).
Once every wait is deferred and has read its job, the triggerer's process group gets SIGKILL and a new
triggerer starts; the jobs only finish (emulator clock advanced) after it has taken the triggers over.
Then every file Airflow wrote and every column of every table are scanned for the sentinel keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mediajobs_cluster import (
    PIPELINE_DAG,
    RESTART_DAG,
    RESTART_DAG_ID,
    AirflowCluster,
    SentinelEmulator,
    Waits,
    add_long_jobs,
    scan_files,
    wait_until,
)

from airflow_provider_mediajobs.models import MediaJob

from support.constants import PROVIDERS

pytestmark = [pytest.mark.airflow_processes, pytest.mark.timeout(900)]

RUNS = 3
PIPELINE_DAG_ID = "mediajobs_pipeline"
FAILURES_RUN = "failures"
TERMINAL = ("success", "failed")


@dataclass
class Outcome:
    cluster: AirflowCluster
    waits: Waits
    old_triggerer: int
    new_triggerer: int
    failures_conf: dict[str, str]
    before_kill: list[dict[str, Any]]
    db_while_deferred: list[tuple[str, str, str]]
    timings: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def outcome(
    sentinel_emulator: SentinelEmulator, record_timings: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    emu = sentinel_emulator.emulator
    root = tmp_path_factory.mktemp("airflow-sqlite")
    # The pipeline's jobs (created by its submit tasks) take ~20 s; two each in case of a retry.
    for provider in PROVIDERS:
        emu.script(provider, count=2, queued_s=2, running_s=18)
    runs = add_long_jobs(emu, RUNS, "restart-")
    failures_conf = {
        "goenhance": str(emu.add_job("goenhance", outcome="failed", queued_s=1, running_s=1)),
        "tensorart": str(
            emu.add_job("tensorart", outcome="failed", failure_code="FATAL_ERROR", queued_s=2, running_s=3600)
        ),
        "vozo": "no-such-task-0000",
        "tensorpix": "999999999",
    }
    cluster = AirflowCluster(
        root,
        db_url=f"sqlite:///{root / 'airflow.db'}",
        dag_files=[RESTART_DAG, PIPELINE_DAG],
        connections=sentinel_emulator.connections,
        # The most verbose logs for the secret scan; asyncio names any callback holding the loop.
        log_level="DEBUG",
        asyncio_debug=True,
    )
    t: dict[str, Any] = {}
    try:
        began = time.monotonic()
        cluster.prepare()
        cluster.start_core()
        cluster.start_triggerer("triggerer-1")
        t["airflow_up_s"] = time.monotonic() - began
        for run_id, conf in runs.items():
            cluster.trigger(RESTART_DAG_ID, run_id, conf)
        cluster.trigger(RESTART_DAG_ID, FAILURES_RUN, failures_conf)
        waits = Waits(cluster, runs)
        triggered = time.monotonic()

        def deferred_and_polling() -> list[dict[str, Any]] | None:
            rows = waits.deferred()
            return rows if rows and waits.polling(rows) else None

        before = wait_until(
            deferred_and_polling, 300, "every wait deferred and polling", diagnose=cluster.diagnose
        )
        t["all_deferred_s"] = time.monotonic() - triggered
        old = {r["triggerer_id"] for r in before}
        assert len(old) == 1, old
        db_while_deferred = list(cluster.dump_text())

        killed_at = cluster.kill("triggerer-1")
        cluster.start_triggerer("triggerer-2")

        def taken_over() -> list[dict[str, Any]] | None:
            cluster.check_alive()
            rows = waits.states()
            if all(r["state"] == "deferred" and r["triggerer_id"] not in (None, *old) for r in rows):
                return rows
            return None

        after = wait_until(
            taken_over, 240, "the new triggerer to take every trigger", diagnose=cluster.diagnose
        )
        t["takeover_after_sigkill_s"] = time.time() - killed_at
        new = {r["triggerer_id"] for r in after}
        assert len(new) == 1, new

        emu.advance(3600)  # every job ends now, while the new triggerer owns the waits
        advanced = time.monotonic()

        def all_done() -> bool:
            cluster.check_alive()
            restart = cluster.run_states(RESTART_DAG_ID)
            pipeline = cluster.run_states(PIPELINE_DAG_ID)
            return (
                len(restart) == RUNS + 1
                and len(pipeline) >= 1
                and all(s in TERMINAL for s in (*restart.values(), *pipeline.values()))
            )

        wait_until(all_done, 300, "every DAG run to finish", diagnose=cluster.diagnose)
        t["runs_done_after_jobs_end_s"] = time.monotonic() - advanced
        t["total_s"] = time.monotonic() - began
        slow = cluster.slow_trigger_callbacks()
        t["trigger_callbacks_over_100ms"] = len(slow)
        name, seconds = max(slow, key=lambda item: item[1], default=("-", 0.0))
        t["slowest_trigger_callback_s"] = seconds
        t["slowest_trigger_callback"] = name
        record_timings("sqlite, one triggerer SIGKILLed and replaced", t)
        yield Outcome(
            cluster=cluster,
            waits=waits,
            old_triggerer=old.pop(),
            new_triggerer=new.pop(),
            failures_conf=failures_conf,
            before_kill=before,
            db_while_deferred=db_while_deferred,
            timings=t,
        )
    finally:
        cluster.stop_all()


def test_every_run_succeeds_after_the_triggerer_is_killed(outcome: Outcome) -> None:
    states = outcome.cluster.run_states(RESTART_DAG_ID)
    assert {run: states.get(run) for run in outcome.waits.runs} == dict.fromkeys(
        outcome.waits.runs, "success"
    )
    tis = outcome.waits.states()
    assert len(tis) == RUNS * len(PROVIDERS)
    # Nothing was retried: the waits survived the restart, no try was spent on it.
    assert {(r["state"], r["try_number"]) for r in tis} == {("success", 1)}


def test_the_new_triggerer_finished_the_waits_the_old_one_started(outcome: Outcome) -> None:
    waits = outcome.waits
    for row in outcome.before_kill:
        assert row["triggerer_id"] == outcome.old_triggerer
        old_log = waits.trigger_log(row, outcome.old_triggerer).read_text()
        assert waits.job_id(row) in old_log, f"{row['task_id']} never read its job before the kill"
        assert "Trigger fired event" not in old_log, f"{row['task_id']} ended before the kill"
        assert waits.finished_by(row, outcome.new_triggerer), (
            f"{row['run_id']}/{row['task_id']}: the new triggerer's log shows no succeeded job"
        )


def test_xcom_holds_the_right_job_for_every_wait(outcome: Outcome) -> None:
    for run_id, conf in outcome.waits.runs.items():
        for provider, job_id in conf.items():
            value = outcome.cluster.xcom(RESTART_DAG_ID, run_id, f"wait_{provider}")
            assert isinstance(value, dict), (run_id, provider, value)
            assert (value["provider"], value["job_id"], value["state"]) == (provider, job_id, "succeeded")
            assert value["output_urls"] and all(
                u.startswith("http://127.0.0.1:") for u in value["output_urls"]
            )
            assert value["wait"]["status_calls"] >= 1
            job = MediaJob.from_dict(value)
            assert job.is_terminal and job.job_id == job_id


def test_the_example_pipeline_succeeds_on_all_four_providers(outcome: Outcome) -> None:
    runs = outcome.cluster.run_states(PIPELINE_DAG_ID)
    assert runs and set(runs.values()) == {"success"}, runs
    run_id = next(iter(runs))
    tis = [r for r in outcome.cluster.task_states(PIPELINE_DAG_ID) if r["run_id"] == run_id]
    # (other tasks may join the pipeline; these five are the ones this test knows)
    assert {"goenhance_face_swap", "tensorart_artwork", "vozo_lipsync", "tensorpix_upscale", "collect"} <= {
        r["task_id"] for r in tis
    }
    assert {(r["state"], r["try_number"]) for r in tis} == {("success", 1)}, tis
    collected = outcome.cluster.xcom(PIPELINE_DAG_ID, run_id, "collect")
    assert sorted(job["provider"] for job in collected) == sorted(PROVIDERS)
    assert {job["state"] for job in collected} == {"succeeded"}


def test_failed_and_unknown_jobs_fail_their_tasks_with_a_clear_error(outcome: Outcome) -> None:
    assert outcome.cluster.run_states(RESTART_DAG_ID)[FAILURES_RUN] == "failed"
    tis = {
        r["task_id"]: r for r in outcome.cluster.task_states(RESTART_DAG_ID) if r["run_id"] == FAILURES_RUN
    }
    assert {r["state"] for r in tis.values()} == {"failed"}, tis
    logs = outcome.cluster.home / "logs" / f"dag_id={RESTART_DAG_ID}" / f"run_id={FAILURES_RUN}"
    for provider, job_id in outcome.failures_conf.items():
        text = "".join(
            p.read_text(errors="replace") for p in (logs / f"task_id=wait_{provider}").glob("attempt=*.log")
        )
        # Every error names the provider, the connection and the job.
        assert job_id in text and f"{provider}_default" in text, (provider, text[-3000:])


def test_no_secret_in_logs_xcom_trigger_rows_or_any_table(
    outcome: Outcome, sentinel_emulator: SentinelEmulator
) -> None:
    sentinels = sentinel_emulator.sentinels
    cluster = outcome.cluster
    # Everything Airflow wrote: task logs, trigger logs, the processes' output, the SQLite file itself.
    scanned, hits = scan_files(cluster.root, sentinels)
    task_logs = list((cluster.home / "logs").rglob("attempt=*.log"))
    trigger_logs = [p for p in task_logs if ".log.trigger." in p.name]
    assert len(trigger_logs) >= 2 * RUNS * len(PROVIDERS)  # both triggerers' logs of every wait
    assert scanned > len(task_logs)
    # Every column of every table, now and while the triggers were deferred (trigger rows are
    # deleted once their task resumes, so their kwargs are only visible then).
    rows_now = list(cluster.dump_text())
    for table, column, text in (*outcome.db_while_deferred, *rows_now):
        hits.extend(f"{table}.{column}: {label}" for label in sentinels.find(text))
    tables_then = {t for t, _, _ in outcome.db_while_deferred}
    assert {"trigger", "xcom", "task_instance", "dag_run", "log"} <= tables_then | {t for t, _, _ in rows_now}
    assert any(t == "trigger" and c == "kwargs" for t, c, _ in outcome.db_while_deferred)
    assert sum(1 for t, c, _ in rows_now if t == "xcom") >= RUNS * len(PROVIDERS)
    assert hits == []
    # The outputs were downloaded (pipeline) without ever sending an Authorization header.
    stats = sentinel_emulator.emulator.stats()
    assert sum(stats["requests"].get("cdn", {}).values()) >= len(PROVIDERS)
    assert stats["cdn_authorization_headers"] == 0
