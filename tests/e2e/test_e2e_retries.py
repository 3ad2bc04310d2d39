"""Real task runs (``dag.test()``): what a retry cannot fix fails the task with its retries unspent;
transient failures and failures of unknown kind go up for retry.

Each task gets ``retries=2``: a failure without retries shows as ``tries == 1``, a retried one as
``tries == 3``. See conftest.py for how the DAGs run.
"""

from __future__ import annotations

import pytest
from e2e_support import DagRunner, SentinelEmulator, error_lines
from test_e2e_examples import EXAMPLES, SCRIPT, script, setting

from support.connections import set_connections

pytestmark = pytest.mark.e2e


def test_tams_fatal_error_fails_without_spending_retries(
    runner: DagRunner, e2e_env: SentinelEmulator
) -> None:
    example = EXAMPLES["tensorart"]
    script(
        e2e_env,
        "tensorart",
        outcome="failed",
        failure_reason="prompt refused",
        failure_code="FATAL_ERROR",
        **SCRIPT,
    )

    result = runner.run(example.dag_id, conf=example.conf, tune=setting("generate", retries=2))

    assert result.tasks["generate"] == "failed", result.tail()
    assert result.tries["generate"] == 1, result.tail()
    assert error_lines(result.log, "MediaJobPermanentFailureError.*prompt refused"), result.tail()
    assert e2e_env.emulator.stats()["jobs"] == {"tensorart": 1}  # no paid resubmit either


def test_tams_transitory_error_is_retried(runner: DagRunner, e2e_env: SentinelEmulator) -> None:
    example = EXAMPLES["tensorart"]
    failed = {"outcome": "failed", "failure_reason": "GPU lost", "failure_code": "TRANSITORY_ERROR"}
    script(e2e_env, "tensorart", count=3, **failed, **SCRIPT)

    result = runner.run(example.dag_id, conf=example.conf, tune=setting("generate", retries=2))

    assert result.tasks["generate"] == "failed", result.tail()
    assert result.tries["generate"] == 3, result.tail()  # up_for_retry twice
    assert e2e_env.emulator.stats()["jobs"] == {"tensorart": 3}


def test_a_failure_of_unknown_kind_is_retried(runner: DagRunner, e2e_env: SentinelEmulator) -> None:
    example = EXAMPLES["tensorpix"]
    script(e2e_env, "tensorpix", outcome="failed", **SCRIPT)

    result = runner.run(example.dag_id, conf=example.conf, tune=setting("wait", retries=2))

    assert result.tasks["wait"] == "failed", result.tail()
    assert result.tries["wait"] == 3, result.tail()


def test_a_refused_key_fails_without_spending_retries(
    runner: DagRunner, e2e_env: SentinelEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = EXAMPLES["tensorpix"]
    wrong = dict(e2e_env.connections["tensorpix_default"], password="not-the-key-0000")
    set_connections(monkeypatch, {"tensorpix_default": wrong})

    result = runner.run(example.dag_id, conf=example.conf, tune=setting("submit", retries=2))

    assert result.tasks["submit"] == "failed", result.tail()
    assert result.tries["submit"] == 1, result.tail()
    assert error_lines(result.log, "MediaJobAuthError"), result.tail()


def test_a_job_id_the_provider_does_not_know_fails_the_sensor_without_retries(
    runner: DagRunner, e2e_env: SentinelEmulator
) -> None:
    example = EXAMPLES["tensorpix"]
    script(e2e_env, "tensorpix", **SCRIPT)

    def tune(dag: object) -> None:
        setting("wait", retries=2, job_id="987654321")(dag)

    result = runner.run(example.dag_id, conf=example.conf, tune=tune)

    assert result.tasks["submit"] == "success", result.tail()
    assert result.tasks["wait"] == "failed", result.tail()
    assert result.tries["wait"] == 1, result.tail()
    assert error_lines(result.log, "MediaJobNotFoundError.*987654321"), result.tail()


def test_a_missing_connection_fails_without_spending_retries(
    runner: DagRunner, e2e_env: SentinelEmulator
) -> None:
    example = EXAMPLES["tensorpix"]

    result = runner.run(
        example.dag_id, conf=example.conf, tune=setting("submit", retries=2, conn_id="no_such_conn")
    )

    assert result.tasks["submit"] == "failed", result.tail()
    assert result.tries["submit"] == 1, result.tail()
    assert error_lines(result.log, "MediaJobConfigError.*no_such_conn"), result.tail()
