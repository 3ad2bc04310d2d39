"""What keeps DAG parsing and polling cheap: lazy imports, the cadence's last hop, the paced limiter."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_mediajobs.dialects.registry import specs
from airflow_provider_mediajobs.engine.cadence import END_MARGIN, Cadence
from airflow_provider_mediajobs.engine.ratelimit import HEADROOM, AsyncRateLimiter
from airflow_provider_mediajobs.hooks import hook_class
from airflow_provider_mediajobs.models import JobState, MediaJob

from support.credentials import rsa_pem

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import airflow.sdk
before = set(sys.modules)
{statement}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def loaded_after(statement: str, **env: str) -> set[str]:
    """The modules ``statement`` imports in a fresh interpreter beyond ``import airflow.sdk``."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
    )
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


HEAVY = {
    "airflow_provider_mediajobs.hooks",
    "airflow_provider_mediajobs.dialects.base",  # the registry (pure data) is not heavy
    "airflow_provider_mediajobs.engine.transport",
    "airflow_provider_mediajobs.engine.limits",
    "aiohttp",
    "airflow_provider_mediajobs.engine.download",
    "airflow_provider_mediajobs.dialects.tensorart_signing",
}


def test_parsing_a_dag_does_not_load_the_http_engine() -> None:
    # one interpreter for both (each costs an `import airflow.sdk`): neither may load them
    loaded = loaded_after(
        "import airflow_provider_mediajobs.sensors\n"
        "from airflow_provider_mediajobs.operators import GoEnhanceSubmitJobOperator"
    )
    assert "airflow_provider_mediajobs.operators.submit" in loaded
    assert loaded & HEAVY == set()


def test_building_an_outputs_task_does_not_load_the_http_engine() -> None:
    # the pipeline DAG builds one: the download engine, dialects and hooks load when it runs
    loaded = loaded_after(
        "from airflow_provider_mediajobs.operators import MediaJobOutputsOperator\n"
        "MediaJobOutputsOperator(task_id='keep', job_id='1', provider='tensorpix', destination='/tmp/x')"
    )
    assert "airflow_provider_mediajobs.operators.outputs" in loaded
    assert loaded & HEAVY == set()


# cryptography's RSA and key-loading half (~30 ms); airflow.sdk itself loads only its ciphers
RSA_SIGNING = {
    "airflow_provider_mediajobs.dialects.tensorart_signing",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "cryptography.hazmat.primitives.serialization",
}


DIALECT_MODULES = {spec.dialect.partition(":")[0] for spec in specs()}


def test_importing_hooks_sensors_triggers_and_operators_does_not_load_tams_signing() -> None:
    loaded = loaded_after(
        "import airflow_provider_mediajobs.hooks, airflow_provider_mediajobs.sensors\n"
        "import airflow_provider_mediajobs.triggers, airflow_provider_mediajobs.operators"
    )
    assert "airflow_provider_mediajobs.hooks" in loaded
    assert loaded & RSA_SIGNING == set()
    # a task loads the dialect of its own provider only, when it first uses it
    assert loaded & DIALECT_MODULES == set()


def test_a_hook_loads_its_own_dialect_only() -> None:
    loaded = loaded_after(
        "from airflow_provider_mediajobs.hooks import hook_class\n"
        "hook_class('tensorpix')(conn_id='x').dialect"
    )
    assert loaded & DIALECT_MODULES == {"airflow_provider_mediajobs.dialects.tensorpix"}


SIGNING_CONFIG = """
import os
from airflow_provider_mediajobs.dialects.registry import get_dialect
from airflow_provider_mediajobs.engine.config import build_config
extras = {"app_id": "app-1", "private_key": os.environ.get("MJ_PEM")}
build_config(get_dialect("tensorart"), conn_id="c", conn_type="tensorart", host="https://tams.example",
             port=None, schema=None, password="bearer-key", extras=extras)
"""


def test_only_a_connection_that_signs_loads_tams_signing() -> None:

    pem = rsa_pem()
    assert loaded_after(SIGNING_CONFIG) & RSA_SIGNING == set()  # Bearer mode
    assert loaded_after(SIGNING_CONFIG, MJ_PEM=pem) >= RSA_SIGNING


def test_the_default_conn_ids_of_a_dag_file_are_the_hooks() -> None:
    assert all(hook_class(s.name).default_conn_name == s.default_conn_id for s in specs())


def running(progress: float) -> MediaJob:
    return MediaJob(provider="tensorpix", job_id="1", state=JobState.RUNNING, progress=progress)


def test_cadence_halves_far_from_the_end_then_reads_just_after_it() -> None:
    cadence = Cadence(5.0, 60.0, rng=random.Random(1))
    cadence.next_delay(running(0.50), now=0.0)  # first progress seen
    far = cadence.next_delay(running(0.60), now=10.0)  # 1 %/s: 40 s left -> about half of it
    assert 18.0 <= far <= 22.0
    close = cadence.next_delay(running(0.93), now=43.0)  # 7 s left (< 2 x poll_interval)
    assert close == pytest.approx(7.0 * (1 + END_MARGIN))


def test_cadence_trusts_the_measured_rate_over_a_longer_provider_eta() -> None:
    cadence = Cadence(1.0, 600.0, rng=random.Random(1))
    job = MediaJob(provider="tensorpix", job_id="1", state=JobState.RUNNING, progress=0.2, eta_seconds=1000.0)
    cadence.next_delay(job, now=0.0)
    later = MediaJob(
        provider="tensorpix", job_id="1", state=JobState.RUNNING, progress=0.4, eta_seconds=1000.0
    )
    assert cadence.update_estimate(later, now=20.0) == pytest.approx(60.0)  # 1 %/s, 60 % left


def test_limiter_paces_below_the_limit_without_a_burst() -> None:
    limiter = AsyncRateLimiter(5.0, start_share=1.0)  # past its slow start
    waits = [limiter.reserve(now=100.0) for _ in range(6)]
    spacing = 1 / (5.0 * HEADROOM)
    assert waits == pytest.approx([i * spacing for i in range(6)])
