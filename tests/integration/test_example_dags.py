"""Every example DAG parses with zero import errors."""

from __future__ import annotations

from pathlib import Path

from support.airflow_compat import DagBag

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def test_example_dags_parse_without_import_errors() -> None:
    files = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert files, EXAMPLES

    bag = DagBag(dag_folder=EXAMPLES, safe_mode=False)

    assert bag.import_errors == {}
    parsed = {Path(dag.fileloc).name for dag in bag.dags.values()}
    assert parsed == set(files)  # every file defines at least one DAG
    assert all(dag.tasks for dag in bag.dags.values())
