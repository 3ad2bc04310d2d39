"""Test-wide setup: an isolated AIRFLOW_HOME so tests never touch ~/airflow, no examples, and the
shared fixtures (tests/support) registered once for every suite."""

from __future__ import annotations

import os
import tempfile

_home = tempfile.mkdtemp(prefix="mediajobs-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

# Imported after the environment above is set: these modules import Airflow.
pytest_plugins = [
    "support.connections",  # provider_connections
    "support.wire",  # wire: one test through the sync and the async path
    "support.task_context",  # make_context, store_class, bodies, no_sleep
    "support.outputs",  # emulator (with connections), finished, served, dest, files, no_backoff
    "support.media_view",  # plugin_db, media_run, client, viewer, no_role
    "support.stats",  # recording_stats
]
