"""The job model: the XCom form is JSON, and ``from_dict(to_dict())`` gives back the same job."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind

from support.constants import PROVIDERS
from support.seed_examples import CASES
from support.wire import Reply, Wire, make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider


def roundtrip(job: MediaJob) -> MediaJob:
    data = job.to_dict()
    text = json.dumps(data, allow_nan=False)  # strict JSON, as XCom stores it
    return MediaJob.from_dict(json.loads(text))


def assert_same(job: MediaJob, again: MediaJob) -> None:
    assert again == job
    assert again.raw == job.raw  # raw is not part of ==
    assert again.to_dict() == job.to_dict()
    for before, after in zip(job.outputs, again.outputs, strict=True):
        assert after.expires_at == before.expires_at
        assert (after.expires_at is None) or after.expires_at.tzinfo is not None


@pytest.mark.parametrize("name", list(CASES))
async def test_every_seed_job_roundtrips_through_xcom(wire: Wire, name: str) -> None:
    case = CASES[name]
    wire.reply(Reply(json=case.body))
    job = await wire.get_job(make_hook(case.provider), case.job_id, case.kind)
    data = job.to_dict()
    assert type(data["state"]) is str and data["state"] == job.state.value
    assert data["output_urls"] == job.output_urls == [o.url for o in job.outputs]
    assert all(type(o["kind"]) is str for o in data["outputs"])
    assert_same(job, roundtrip(job))


def test_to_dict_is_plain_json_with_state_and_output_urls() -> None:
    expires = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    job = MediaJob(
        provider="tensorart",
        job_id="18446744073709551557",
        state=JobState.SUCCEEDED,
        provider_status="SUCCESS",
        progress=1.0,
        outputs=(
            MediaOutput("https://cdn.example/a.png", OutputKind.IMAGE, expires, "901"),
            MediaOutput("https://cdn.example/b.mp4", OutputKind.VIDEO),
        ),
        cost=1.5,
        cost_unit="credits",
        job_kind="job",
        raw={"job": {"id": "18446744073709551557", "nested": [1, {"a": None}]}},
    )
    data = job.to_dict()
    assert data["state"] == "succeeded" and type(data["state"]) is str
    assert data["output_urls"] == ["https://cdn.example/a.png", "https://cdn.example/b.mp4"]
    assert data["outputs"][0] == {
        "url": "https://cdn.example/a.png",
        "kind": "image",
        "expires_at": "2030-05-06T05:08:09.123456+00:00",  # normalized to UTC
        "name": "901",
    }
    assert json.loads(json.dumps(data)) == data
    assert_same(job, roundtrip(job))
    assert job.is_terminal and not MediaJob("vozo", "1", JobState.RUNNING).is_terminal


def test_from_dict_ignores_output_urls_and_accepts_older_minimal_dicts() -> None:
    job = MediaJob.from_dict({"provider": "vozo", "job_id": 7, "state": "queued", "output_urls": ["x"]})
    assert job == MediaJob("vozo", "7", JobState.QUEUED)
    assert job.output_urls == []


def test_a_job_and_its_outputs_are_immutable() -> None:
    job = MediaJob("vozo", "1", JobState.RUNNING, outputs=(MediaOutput("https://x"),))
    with pytest.raises(AttributeError):
        job.state = JobState.FAILED  # type: ignore[misc]
    with pytest.raises(AttributeError):
        job.outputs[0].url = "https://y"  # type: ignore[misc]


# ---- property: any job the model can hold survives the XCom round trip -----------------------------
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(
        [timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
    ),
)
outputs = st.builds(
    MediaOutput,
    url=st.text(min_size=1, max_size=40),
    kind=st.sampled_from(list(OutputKind)),
    expires_at=st.none() | aware_datetimes,
    name=st.none() | st.text(max_size=10),
)
finite = st.floats(allow_nan=False, allow_infinity=False)
jobs = st.builds(
    MediaJob,
    provider=st.sampled_from(PROVIDERS),
    job_id=st.text(min_size=1, max_size=30),
    state=st.sampled_from(list(JobState)),
    provider_status=st.one_of(st.none(), st.text(max_size=12), st.integers(min_value=-5, max_value=5)),
    progress=st.none() | st.floats(min_value=0, max_value=1),
    eta_seconds=st.none() | finite,
    queue_position=st.none() | st.integers(min_value=0, max_value=2**40),
    outputs=st.lists(outputs, max_size=4).map(tuple),
    error=st.none() | st.text(max_size=30),
    retryable=st.booleans(),
    cost=st.none() | finite,
    cost_unit=st.none() | st.sampled_from(["usd", "credits"]),
    job_kind=st.none() | st.text(max_size=10),
    raw=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(job=jobs)
def test_property_to_dict_is_json_and_roundtrips_exactly(job: MediaJob) -> None:
    data: dict[str, Any] = job.to_dict()
    assert type(data["state"]) is str
    assert data["output_urls"] == [o.url for o in job.outputs]
    assert_same(job, roundtrip(job))
