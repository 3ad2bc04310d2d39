"""Issue 4, "done when": the example DAGs, run the way ``airflow dags test`` runs them, against the
emulator for all four providers — success, failed, canceled, timeout (and soft_fail), transient
faults — plus the scheduled pipeline and a TAMS retry.

Outcomes are scripted over HTTP (``POST /_emulator/script`` for the next job a DAG creates);
the DAG's own params reach the create body. Assertions read the metadata DB (task states,
XCom) and the emulator's request statistics. See conftest.py for how the DAGs are run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import DagResult, DagRunner, SentinelEmulator, error_lines

from support.connections import set_connections

pytestmark = pytest.mark.e2e

# Real seconds (the e2e emulator runs at speed 1): still queued when the task reads the job
# right after creating it, over well within the trigger's first few reads.
SCRIPT = {"queued_s": 0.6, "running_s": 0.6}
# A job created by one task and waited for by the next (the TensorPix example): it must outlast
# the hand-over, which takes up to ~5 s in Airflow 3.1's dag.test() (well under 1 s on 3.3).
TWO_STEP = {"queued_s": 8.0, "running_s": 0.6}
LONG = {"queued_s": 600.0, "running_s": 600.0}


@dataclass(frozen=True)
class Example:
    provider: str
    dag_id: str
    submit: str  # the task that creates the job and pushes its id
    wait: str  # the task that waits and returns the job dict
    use: str  # the task downstream that uses the outputs
    conf: dict[str, Any]
    outputs: tuple[str, ...]  # output kinds the job is scripted to produce
    reads_before_defer: int  # status reads the worker makes before the trigger takes over

    def sent(self, request: dict[str, Any]) -> Any:
        """Where the create body carries the first ``conf`` value (the DAG passes params through)."""
        if self.provider == "goenhance":
            return request["args"]["source_img"]
        if self.provider == "tensorart":
            return request["stages"][1]["diffusion"]["prompts"][0]["text"]
        if self.provider == "vozo":
            return request["target_language"]
        return request["url"]


EXAMPLES = {
    "goenhance": Example(
        "goenhance",
        "example_mediajobs_goenhance",
        "face_swap",
        "face_swap",
        "report",
        {"source_img": "https://e2e.test/my-face.jpg"},
        ("image",),
        0,  # a submit does not read the job it created a moment ago: the trigger does
    ),
    "tensorart": Example(
        "tensorart",
        "example_mediajobs_tensorart",
        "generate",
        "generate",
        "report",
        {"prompt": "an e2e lighthouse"},
        ("image", "image"),
        0,  # a first try's create is new: it is read back only on a retry (requestId of an earlier try)
    ),
    "vozo": Example(
        "vozo",
        "example_mediajobs_vozo",
        "translate_and_dub",
        "translate_and_dub",
        "report",
        {"target_language": "de", "media_url": "https://e2e.test/talk.mp4"},
        ("video", "audio", "subtitle"),
        0,
    ),
    "tensorpix": Example(
        "tensorpix",
        "example_mediajobs_tensorpix",
        "submit",
        "wait",
        "report",
        {"video_url": "https://e2e.test/in.mp4"},
        ("video",),
        1,  # the sensor reads the job once before deferring (it may have finished already)
    ),
}
ALL = list(EXAMPLES)
CANCELABLE = ("tensorart", "tensorpix")  # the only two APIs with a canceled state


def script(env: SentinelEmulator, provider: str, count: int = 1, **fields: Any) -> None:
    """Script the next ``count`` jobs ``provider`` creates, over the emulator's admin HTTP API."""
    response = httpx.post(
        f"{env.emulator.url}/_emulator/script", json={"provider": provider, "count": count, **fields}
    )
    assert response.status_code == 200, response.text


def setting(task_id: str, **attributes: Any) -> Any:
    """A ``tune`` for :meth:`DagRunner.run`: set attributes of one task of the loaded DAG."""

    def tune(dag: Any) -> None:
        for name, value in attributes.items():
            setattr(dag.task_dict[task_id], name, value)

    return tune


def fault(env: SentinelEmulator, provider: str, kind: str, count: int, **fields: Any) -> None:
    response = httpx.post(
        f"{env.emulator.url}/_emulator/faults",
        json={"provider": provider, "route": "status", "kind": kind, "count": count, **fields},
    )
    assert response.status_code == 200, response.text


def requests_seen(env: SentinelEmulator, provider: str, route: str) -> dict[str, int]:
    return env.emulator.stats()["requests"].get(f"{provider} {route}", {})


def created_job(env: SentinelEmulator, result: DagResult, example: Example) -> dict[str, Any]:
    job_id = result.xcom(example.submit, "job_id")
    assert job_id, result.tail()
    native = int(job_id) if example.provider == "tensorpix" else job_id
    job = env.emulator.job(example.provider, native)
    assert job is not None, job_id
    return job


def assert_waited_in_trigger(result: DagResult, example: Example, job_id: str) -> None:
    """Exactly one MediaJobTrigger row for the job, with JSON-primitive kwargs."""
    rows = [t for t in result.triggers if t["kwargs"].get("job_id") == str(job_id)]
    assert len(rows) == 1, result.triggers
    kwargs = rows[0]["kwargs"]
    assert rows[0]["classpath"] == "airflow_provider_mediajobs.triggers.MediaJobTrigger"
    assert kwargs["provider"] == example.provider
    assert kwargs["conn_id"] == f"{example.provider}_default"
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in kwargs.values()), kwargs


def assert_failed_run(result: DagResult, example: Example) -> None:
    assert result.state == "failed", result.tail()
    assert not error_lines(result.log, r"job None\b|job_id='None'"), "resumed without its job id"
    assert result.tasks[example.wait] == "failed", result.tail()
    assert result.tasks[example.use] == "upstream_failed"
    assert result.xcom(example.wait) is None


# ---- success ------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ALL)
def test_success(runner: DagRunner, e2e_env: SentinelEmulator, provider: str) -> None:
    example = EXAMPLES[provider]
    timing = SCRIPT if example.submit == example.wait else TWO_STEP
    script(e2e_env, provider, outputs=list(example.outputs), **timing)

    result = runner.run(example.dag_id, conf=example.conf)

    assert result.state == "success", result.tail()
    assert set(result.tasks.values()) == {"success"}, result.tasks
    emulated = created_job(e2e_env, result, example)
    assert example.sent(emulated["request"]) == next(iter(example.conf.values()))
    job = result.xcom(example.wait)
    assert job["provider"] == provider and job["state"] == "succeeded"
    assert job["job_id"] == str(emulated["job_id"]) == result.xcom(example.submit, "job_id")
    assert [o["kind"] for o in job["outputs"]] == [
        "other" if kind == "subtitle" else kind for kind in example.outputs
    ]
    assert job["output_urls"] == [o["url"] for o in job["outputs"]]
    assert all(url.startswith(f"{e2e_env.emulator.url}/cdn/{provider}/") for url in job["output_urls"])
    assert all(o["expires_at"] for o in job["outputs"])
    # the wait went through the trigger: it read the job until it ended
    calls = job["wait"]["status_calls"]
    assert calls >= 1, job["wait"]
    assert_waited_in_trigger(result, example, job["job_id"])
    used = result.xcom(example.use)
    if provider == "vozo":
        assert used == {
            "video": job["output_urls"][0],
            "audio": job["output_urls"][1],
            "subtitle": job["output_urls"][2],
        }
    else:
        assert used == job["output_urls"]
    # what the emulator saw: one create, and every status read accounted for
    assert sum(requests_seen(e2e_env, provider, "create").values()) == 1
    assert requests_seen(e2e_env, provider, "status") == {"200": example.reads_before_defer + calls}
    assert e2e_env.emulator.stats()["rate_limited"] == 0


# ---- the job fails ------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ALL)
def test_failed_job_fails_the_task_with_the_reason(
    runner: DagRunner, e2e_env: SentinelEmulator, provider: str
) -> None:
    example = EXAMPLES[provider]
    reason = f"{provider} e2e: the input has no usable face or frame"
    script(e2e_env, provider, outcome="failed", failure_reason=reason, failure_code="4101", **SCRIPT)

    result = runner.run(
        example.dag_id,
        conf=example.conf,
        tune=setting(example.wait, retries=0),
    )

    assert_failed_run(result, example)
    job_id = result.xcom(example.submit, "job_id")
    # GoEnhance, Vozo lip-sync and TensorPix report no reason: the error says so
    shown = {
        "goenhance": "reported status 'failed' without a reason",
        "tensorart": reason,
        "vozo": f"[4101] {reason}",
        "tensorpix": "TensorPix reported status -1 (Failed)",
    }[provider]
    failures = error_lines(result.log, "MediaJob(Failed|PermanentFailure)Error")  # TAMS: FATAL_ERROR
    assert failures, result.tail()
    assert any(shown in line and str(job_id) in line for line in failures), failures
    assert (
        e2e_env.emulator.job(provider, int(job_id) if provider == "tensorpix" else job_id)["state"]
        == "failed"
    )


# ---- the job is canceled ------------------------------------------------------------------------
@pytest.mark.parametrize("provider", CANCELABLE)
def test_canceled_job_fails_the_task(runner: DagRunner, e2e_env: SentinelEmulator, provider: str) -> None:
    example = EXAMPLES[provider]
    script(e2e_env, provider, outcome="canceled", **SCRIPT)

    result = runner.run(
        example.dag_id,
        conf=example.conf,
        tune=setting(example.wait, retries=0),
    )

    assert_failed_run(result, example)
    job_id = result.xcom(example.submit, "job_id")
    lines = error_lines(result.log, "MediaJobCanceledError")
    assert any(f"job {job_id} was canceled" in line for line in lines), result.tail()


# ---- the wait times out -------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ALL)
def test_timeout_fails_with_sensor_timeout(
    runner: DagRunner, e2e_env: SentinelEmulator, provider: str
) -> None:
    example = EXAMPLES[provider]
    script(e2e_env, provider, **LONG)

    result = runner.run(
        example.dag_id,
        conf=example.conf,
        tune=setting(example.wait, timeout=1.5),
    )

    assert_failed_run(result, example)
    assert result.tries[example.wait] == 1  # a timeout is not retried (TAMS has retries=2)
    job_id = result.xcom(example.submit, "job_id")
    # MediaJobTimeoutError is Airflow's AirflowSensorTimeout (a subclass: no retries, soft_fail skips)
    timeouts = error_lines(result.log, "AirflowSensorTimeout|MediaJobTimeoutError")
    assert any("Timed out after" in line and str(job_id) in line for line in timeouts), result.tail()
    job = created_job(e2e_env, result, example)
    if provider == "tensorart":  # the submit operator cancels what it started, where the API can
        assert requests_seen(e2e_env, provider, "cancel") == {"200": 1}, result.tail()
        assert job["state"] == "canceled"
    else:  # GoEnhance and Vozo cannot cancel; a sensor never cancels a job it did not start
        assert requests_seen(e2e_env, provider, "cancel") == {}
        assert job["state"] == "queued"
    if provider in ("goenhance", "vozo"):
        assert error_lines(result.log, "cannot cancel jobs"), result.tail()


def test_timeout_with_soft_fail_skips(runner: DagRunner, e2e_env: SentinelEmulator) -> None:
    example = EXAMPLES["tensorpix"]
    script(e2e_env, "tensorpix", **LONG)

    result = runner.run(example.dag_id, conf=example.conf, tune=setting("wait", timeout=1.5, soft_fail=True))

    assert result.state == "success", result.tail()
    assert result.tasks == {"submit": "success", "wait": "skipped", "report": "skipped"}
    assert error_lines(result.log, "Skipping on timeout"), result.tail()


# ---- transient faults on the status route -------------------------------------------------------
@pytest.mark.parametrize("provider", ALL)
def test_transient_faults_are_ridden_out(runner: DagRunner, e2e_env: SentinelEmulator, provider: str) -> None:
    example = EXAMPLES[provider]
    script(e2e_env, provider, outputs=list(example.outputs), **SCRIPT)
    # A status read in the worker is one attempt, then the trigger takes over: the 503 burst
    # outlasts it, so the trigger meets two 503s and then a 429 (Retry-After: 1).
    worker_reads = example.reads_before_defer
    fault(e2e_env, provider, "http_503", count=worker_reads + 2)
    fault(e2e_env, provider, "http_429", count=1, retry_after=1)

    result = runner.run(example.dag_id, conf=example.conf)

    assert result.state == "success", result.tail()
    job = result.xcom(example.wait)
    assert job["state"] == "succeeded" and job["output_urls"]
    status = requests_seen(e2e_env, provider, "status")
    assert status["503"] == worker_reads + 2 and status["429"] == 1, status
    # the trigger's reads: two 503s, the 429 and the reads until the job ended
    assert job["wait"]["status_calls"] >= 4
    assert sum(status.values()) == worker_reads + job["wait"]["status_calls"]
    assert error_lines(result.log, "status read failed, 2 in a row"), result.tail()


# ---- the pipeline: all four providers in one scheduled DAG, outputs persisted -----------------
def test_pipeline_all_four(
    runner: DagRunner, e2e_env: SentinelEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # TAMS with the Bearer key this time (the single-provider runs sign with the RSA key)
    set_connections(monkeypatch, {"tensorart_default": e2e_env.connections["tensorart_bearer"]})
    for provider in ALL:
        script(e2e_env, provider, **SCRIPT)

    result = runner.run(
        "mediajobs_pipeline", conf={"face": "https://e2e.test/face.jpg", "output_dir": str(tmp_path)}
    )

    assert result.state == "success", result.tail()
    assert set(result.tasks.values()) == {"success"}, result.tasks
    jobs = result.xcom("collect")
    assert sorted(j["provider"] for j in jobs) == sorted(ALL)
    for job in jobs:
        assert job["state"] == "succeeded" and job["output_urls"], job
        assert job["wait"]["status_calls"] >= 1, job
    waits = [t for t in result.triggers if t["classpath"].endswith(".MediaJobTrigger")]
    assert sorted(t["kwargs"]["provider"] for t in waits) == sorted(ALL)
    swap_id = result.xcom("goenhance_face_swap", "job_id")
    assert (
        e2e_env.emulator.job("goenhance", swap_id)["request"]["args"]["source_img"]
        == "https://e2e.test/face.jpg"
    )
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == sum(len(j["output_urls"]) for j in jobs), written
    assert e2e_env.emulator.stats()["cdn_authorization_headers"] == 0  # no key sent to the CDN


# ---- a retried TAMS task submits anew after its job failed --------------------------------------
def test_tams_retry_after_a_failed_job(runner: DagRunner, e2e_env: SentinelEmulator) -> None:
    example = EXAMPLES["tensorart"]
    script(
        e2e_env,
        "tensorart",
        outcome="failed",
        failure_reason="GPU lost",
        failure_code="TRANSITORY_ERROR",
        **SCRIPT,
    )
    script(e2e_env, "tensorart", outcome="succeeded", **SCRIPT)

    result = runner.run(example.dag_id, conf=example.conf)  # the example's own retries=2

    assert result.state == "success", result.tail()
    assert result.tries["generate"] == 2
    assert error_lines(result.log, "transient: resubmitting may succeed"), result.tail()
    job = result.xcom("generate")
    assert job["state"] == "succeeded"
    jobs = e2e_env.emulator.stats()["jobs"]
    assert jobs == {"tensorart": 2}  # the failed one and one new job, no duplicate
    assert len(result.triggers) == 2
