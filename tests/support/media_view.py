"""Fixtures of the Media view's API tests: a real DAG run with media XComs and the API server app.

The XComs are written by Airflow itself: ``dag.test()`` runs a small DAG whose tasks return what
the media tasks return (the outputs operator's ``Downloaded.to_dict()`` records of files written
to a ``file://`` destination, a submit operator's ``MediaJob.to_dict()``). The API server app is
Airflow's own (``airflow.api_fastapi.app.create_app``), so the plugin is mounted the way a
deployment mounts it and every request goes through the simple auth manager.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.media_run import DAG_ID, HOSTILE_JOB_ID, HOSTILE_REASON, SIGNATURE, MediaRun

# the DAG file: each task returns the XCom its media task would
DAG_FILE = textwrap.dedent(
    '''
    """Media XComs for the plugin API tests (written by tests/support/media_view.py)."""
    from datetime import datetime, timedelta, timezone

    import pendulum
    from airflow.sdk import dag, task

    OUT = {out!r}


    @dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False)
    def media():
        @task
        def persisted():
            from airflow_provider_mediajobs.engine.download import Downloaded
            from airflow_provider_mediajobs.engine.storage import sha256_of
            from airflow_provider_mediajobs.operators.destinations import as_storage_path

            files = [
                ("frame.png", b"\\x89PNG\\r\\n\\x1a\\n" + bytes(range(64)), "image/png", "image"),
                ("clip.webm", b"\\x1aE\\xdf\\xa3" + bytes(range(200)), "video/webm", "video"),
                ("report.html", b"<script>alert(1)</script>", "text/html", "other"),
                ("resized.png", b"\\x89PNG\\r\\n\\x1a\\n" + b"a" * 40, "image/png", "image"),
                ("swapped.png", b"\\x89PNG\\r\\n\\x1a\\n" + b"b" * 40, "image/png", "image"),
            ]
            destination = as_storage_path(OUT)
            destination.fs.makedirs(destination.path, exist_ok=True)
            records = []
            for name, body, content_type, kind in files:
                target = destination / name
                with target.fs.open(target.path, "wb") as handle:
                    handle.write(body)
                records.append(
                    Downloaded(
                        "https://cdn.example/outputs/" + name, str(target), len(body),
                        sha256_of(target), content_type, kind,
                    ).to_dict()
                )
            return records

        @task
        def provider_job():
            from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind

            now = datetime.now(timezone.utc)
            return MediaJob(
                provider="goenhance",
                job_id={hostile_job_id!r},
                state=JobState.SUCCEEDED,
                provider_status={hostile_reason!r},
                outputs=(
                    MediaOutput(
                        url="https://cdn.example/old/late.png?{signature}",
                        kind=OutputKind.IMAGE,
                        expires_at=now - timedelta(hours=1),
                    ),
                    MediaOutput(
                        url="https://cdn.example/new/fresh.png?{signature}",
                        kind=OutputKind.IMAGE,
                        expires_at=now + timedelta(hours=1),
                    ),
                ),
            ).to_dict()

        persisted()
        provider_job()


    media()
    '''
)


@pytest.fixture(scope="session")
def plugin_db() -> Iterator[None]:
    """The session's SQLite metadata DB (tests/conftest.py's throw-away AIRFLOW_HOME), migrated."""
    home = os.environ.get("AIRFLOW_HOME", "")
    if not Path(home).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve()):
        pytest.fail(f"AIRFLOW_HOME={home!r} is not a throw-away directory; unset it for the tests.")
    from airflow import settings
    from airflow.utils import db

    assert str(settings.SQL_ALCHEMY_CONN).startswith("sqlite:"), settings.SQL_ALCHEMY_CONN
    db.upgradedb()
    yield


@pytest.fixture(scope="module")
def media_run(plugin_db: None, tmp_path_factory: pytest.TempPathFactory) -> MediaRun:
    """One DAG run with media XComs; two of its files are then changed behind the record's back."""
    from airflow.utils.cli import get_bagged_dag

    from support.airflow_compat import DagBag

    folder = tmp_path_factory.mktemp("plugin-dags")
    out = tmp_path_factory.mktemp("plugin-outputs")
    dag_file = folder / "media_dag.py"
    dag_file.write_text(
        DAG_FILE.format(
            out=f"file://{out}",
            dag_id=DAG_ID,
            hostile_job_id=HOSTILE_JOB_ID,
            hostile_reason=HOSTILE_REASON,
            signature=SIGNATURE,
        )
    )
    bundles = [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(folder)},
        }
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
        bag = DagBag(dag_folder=str(dag_file), safe_mode=False)
        assert not bag.import_errors, bag.import_errors
        # as `airflow dags test`: store the serialized DAG first (3.1's dag.test() needs it)
        dag = get_bagged_dag(None, DAG_ID, str(dag_file))
        run = dag.test()
    assert str(getattr(run.state, "value", run.state)) == "success", run.state
    (out / "resized.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"a" * 41)  # size differs
    (out / "swapped.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"c" * 40)  # same size, other bytes
    return MediaRun(DAG_ID, str(run.run_id), out)


@pytest.fixture(scope="module")
def client(plugin_db: None) -> Iterator[Any]:
    """Airflow's API server app (with the plugin mounted under /mediajobs) in-process."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app()) as test_client:
        yield test_client


def token(role: str | None) -> str:
    """A JWT the simple auth manager issues for a user with ``role`` (``None``: no permissions)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return str(get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=f"u-{role}", role=role)))


@pytest.fixture(scope="module")
def viewer(client: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('viewer')}"}


@pytest.fixture(scope="module")
def no_role(client: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(None)}"}
