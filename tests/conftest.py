"""Test-wide setup: an isolated AIRFLOW_HOME so tests never touch ~/airflow, and no examples."""

from __future__ import annotations

import os
import tempfile

_home = tempfile.mkdtemp(prefix="mediajobs-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
