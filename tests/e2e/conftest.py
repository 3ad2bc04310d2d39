"""End-to-end fixtures: a migrated metadata DB, the emulator with sentinel keys, and a DAG runner.

How the example DAGs run: ``DAG.test()`` in this process — the very function ``airflow dags test``
calls (``airflow/cli/commands/dag_command.py: dag_test -> dag.test``). It runs each task through
the Task SDK's in-process supervisor and the Execution API (so a deferral writes a real row to
the ``trigger`` table), then, for a deferred task, imports and instantiates the trigger from its
serialized kwargs and runs ``trigger.run()`` on a fresh event loop
(``InProcessTestSupervisor.run_trigger_in_process``) before resuming the task with the event.
In-process, the tests can shorten poll intervals and timeouts on the loaded DAG objects; one test
(``test_dags_test_cli.py``) runs the real ``airflow dags test`` command in a subprocess.

The metadata DB is SQLite in the test session's isolated ``AIRFLOW_HOME`` (tests/conftest.py),
migrated once per session. The emulator accepts a random key per provider and a fresh TAMS key
pair, so any leak of a credential into the DB, XCom or logs can be found by searching for it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import BUNDLES, DagRunner, SentinelEmulator, Sentinels

from airflow_provider_mediajobs.emulator import Emulator

from support.connections import set_connections
from support.constants import PROVIDERS
from support.credentials import sentinel_keys, tams_key_pair


@pytest.fixture(scope="session")
def sentinel_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelEmulator]:
    """The emulator in real time (``speed=1``) accepting distinctive keys nobody else uses."""
    keys = sentinel_keys("mje2e", PROVIDERS, 12)
    public = tmp_path_factory.mktemp("tams") / "public.pem"
    pem = tams_key_pair(public)
    # keys nobody else uses instead of the documented defaults
    with Emulator(port=0, seed=5, speed=1.0, tams_qps=0, tams_public_key=public, api_keys=keys) as emu:
        sentinels = Sentinels()
        connections: dict[str, dict[str, Any]] = {}
        for provider in PROVIDERS:
            sentinels.add(f"{provider} API key", keys[provider])
            connections[f"{provider}_default"] = {
                "conn_type": provider,
                "host": emu.base_url(provider),
                "password": keys[provider],
                "extra": {"allow_private_hosts": True},  # the emulator's CDN is on 127.0.0.1
            }
        app_id = emu.credentials("tensorart")["app_id"]
        # TAMS signs every request by default, like a production app; the Bearer form is kept too.
        connections["tensorart_bearer"] = connections["tensorart_default"]
        connections["tensorart_default"] = {
            "conn_type": "tensorart",
            "host": emu.base_url("tensorart"),
            "extra": {"app_id": app_id, "private_key": pem, "allow_private_hosts": True},
        }
        sentinels.add_pem("TAMS private key", pem)
        yield SentinelEmulator(emu, connections, sentinels)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """Migrate the session's SQLite metadata DB once (a fresh one takes ~6-20 s)."""
    home = os.environ.get("AIRFLOW_HOME", "")
    if not Path(home).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve()):
        pytest.fail(
            f"AIRFLOW_HOME={home!r} is not a throw-away directory; the e2e tests write a metadata DB "
            "there. Unset AIRFLOW_HOME so tests/conftest.py gives the session a temporary one."
        )
    from airflow import settings
    from airflow.utils import db

    assert str(settings.SQL_ALCHEMY_CONN).startswith("sqlite:"), settings.SQL_ALCHEMY_CONN
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(BUNDLES))
        db.upgradedb()
        yield


@pytest.fixture(scope="module")
def e2e_env(airflow_db: None, sentinel_emulator: SentinelEmulator) -> Iterator[SentinelEmulator]:
    """Connections (env JSON) to the emulator and the example DAGs as the one DAG bundle."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(BUNDLES))
        set_connections(mp, sentinel_emulator.connections)
        yield sentinel_emulator


@pytest.fixture
def runner(capfd: pytest.CaptureFixture[str], e2e_env: SentinelEmulator) -> DagRunner:
    e2e_env.emulator.reset()
    return DagRunner(capfd, e2e_env)
