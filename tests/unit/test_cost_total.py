"""The total cost of a run's jobs per unit, and the example pipeline's ``collect`` task that logs it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediajobs.models import JobState, MediaJob, format_cost, total_cost

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

PIPELINE = Path(__file__).resolve().parents[2] / "example_dags" / "example_pipeline.py"


def job(
    provider: str, cost: float | None, unit: str | None, state: JobState = JobState.SUCCEEDED
) -> MediaJob:
    return MediaJob(provider=provider, job_id=f"{provider}-1", state=state, cost=cost, cost_unit=unit)


def test_costs_are_summed_per_unit() -> None:
    jobs = [
        job("tensorart", 3.5, "credits"),
        job("tensorpix", 0.1, "usd"),
        job("tensorart", 2, "credits"),
        job("tensorpix", 0.2, "usd", JobState.FAILED),  # a failed job may still be billed
        job("goenhance", None, None),  # reports no cost: left out, not counted as 0
    ]
    assert total_cost(jobs) == {"credits": 5.5, "usd": 0.3}  # 0.3, not 0.30000000000000004
    assert format_cost(total_cost(jobs)) == "5.5 credits, 0.3 usd"


def test_no_cost_reported_and_unknown_units() -> None:
    assert total_cost([]) == {} and total_cost([job("vozo", None, None)]) == {}
    assert format_cost({}) == "none reported"
    assert total_cost([job("x", 1.25, None), job("y", 0.0, "usd")]) == {"unknown unit": 1.25, "usd": 0.0}
    assert format_cost({"usd": 1234567.5, "credits": 3.0}) == "1234567.5 usd, 3 credits"  # no 1.23e+06


def test_total_cost_reads_the_xcom_form() -> None:
    stored = [job("tensorpix", 0.35, "usd").to_dict(), job("tensorpix", 1.15, "usd").to_dict()]
    assert total_cost(MediaJob.from_dict(d) for d in stored) == {"usd": 1.5}


@pytest.fixture(scope="module")
def pipeline() -> Any:
    spec = importlib.util.spec_from_file_location("example_pipeline_under_test", PIPELINE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def test_collect_prints_each_job_and_the_total_cost_of_the_run(
    pipeline: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = [
        job("goenhance", None, None).to_dict(),
        job("tensorart", 4, "credits").to_dict(),
        None,  # a submit that failed: no XCom
        job("tensorpix", 0.75, "usd").to_dict(),
    ]
    collect = pipeline.task_dict["collect"].python_callable
    finished = [j for j in jobs if j]
    assert [j["provider"] for j in collect(finished)] == ["goenhance", "tensorart", "tensorpix"]
    capsys.readouterr()
    # a job that did not finish still has the others' costs logged, then fails the run
    with pytest.raises(Exception, match="1 of 4 media job"):
        collect(jobs)
    out = capsys.readouterr().out
    assert "Total cost of the run: 4 credits, 0.75 usd" in out
    lines = out.splitlines()
    assert any(line.startswith("tensorart") and line.endswith("cost: 4 credits") for line in lines), out
    assert any(line.startswith("goenhance") and line.endswith("cost: -") for line in lines), out
