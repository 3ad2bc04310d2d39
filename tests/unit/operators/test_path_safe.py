"""``path_safe``: a run id as one folder name, and the example pipeline's destination without ``ds``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediajobs.operators.destinations import path_safe

PIPELINE = Path(__file__).resolve().parents[3] / "example_dags" / "example_pipeline.py"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("manual__2026-12-03T07:10:17.921583+00:00", "manual__2026-12-03T07_10_17.921583_00_00"),
        ("scheduled__2026-12-03T06:00:00+00:00", "scheduled__2026-12-03T06_00_00_00_00"),
        ("asset_triggered__2026-12-03T06:00:00+00:00", "asset_triggered__2026-12-03T06_00_00_00_00"),
        ("my-run_1.v2", "my-run_1.v2"),  # already safe: unchanged
        ("../etc/passwd", "_.._etc_passwd"),
        ("..", "_.."),
        (".", "_."),
        (".hidden", "_.hidden"),
        ("", "_"),
        ("a b\\c/d~e%f", "a_b_c_d_e_f"),
        ("ünïcode", "_n_code"),
        (12, "12"),
    ],
)
def test_path_safe(value: Any, name: str) -> None:
    assert path_safe(value) == name


def test_the_pipeline_persists_under_the_run_id_when_there_is_no_logical_date(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("example_pipeline_destination", PIPELINE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    run_id = "manual__2026-12-03T07:10:17.921583+00:00"
    # What a run triggered with `airflow dags trigger` (no logical date) offers templates: no ds.
    context = {"params": {"output_dir": str(tmp_path)}, "run_id": run_id, "dag": dag}
    env = dag.get_template_env()
    for submit in ("goenhance_face_swap", "tensorart_artwork", "vozo_lipsync", "tensorpix_upscale"):
        task = dag.task_dict[submit]  # one task per job: the submit persists
        rendered = task.render_template(task.destination, context, jinja_env=env)
        assert rendered == f"{tmp_path}/manual__2026-12-03T07_10_17.921583_00_00", (submit, rendered)
