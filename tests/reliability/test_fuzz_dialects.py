"""Fuzz every dialect parser: whatever a provider (or a proxy in front of it) answers, only the
project's typed errors may escape — never KeyError, TypeError, JSONDecodeError, ...

Profiles: ``fast`` (default, part of ``make test``) and ``full`` (``make reliability``:
HYPOTHESIS_PROFILE=full, >= 10,000 examples per dialect and shape).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mediajobs.dialects import DIALECTS, ApiResponse, CallContext
from airflow_provider_mediajobs.exceptions import MediaJobError
from airflow_provider_mediajobs.models import MediaJob

settings.register_profile(
    "fast", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "full", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
anything = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def field(values: list[Any]) -> st.SearchStrategy[Any]:
    """A documented value most of the time, anything else sometimes."""
    return st.one_of(st.sampled_from(values), anything)


url = st.one_of(
    st.just("https://cdn.test/out.mp4?Expires=1900000000"),
    st.just("https://cos.test/x.jpg?q-sign-time=1;9999999999"),
    st.text(max_size=40),
    anything,
)
output_list = st.lists(st.fixed_dictionaries({"type": field(["image", "video"]), "value": url}), max_size=3)

SHAPED: dict[str, st.SearchStrategy[Any]] = {
    "goenhance": st.fixed_dictionaries(
        {
            "code": field([0, 0, 0, 401, 404, 500, "0"]),
            "msg": field(["Success", ""]),
            "data": st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {
                        "img_uuid": field(["5334c57d-8443-4b79-ba24-8539c2163c74"]),
                        "status": field(["pending", "processing", "success", "completed", "failed", "weird"]),
                        "json": st.one_of(st.none(), output_list, anything),
                        "img_url": url,
                        "end_time": field(["2024-10-11T10:56:00.338Z", "not a time"]),
                    }
                ),
                anything,
            ),
        }
    ),
    "tensorart": st.fixed_dictionaries(
        {
            "job": st.one_of(
                st.fixed_dictionaries(
                    {
                        "id": field(["794323827366354822"]),
                        "status": field(
                            ["DEFAULT", "CREATED", "WAITING", "RUNNING", "SUCCESS", "FAILED", "CANCELED"]
                        ),
                        "credits": field([1.5, "2"]),
                        "waitingInfo": st.one_of(
                            st.fixed_dictionaries({"queueRank": field(["3", 3]), "queueLen": field(["9"])}),
                            anything,
                        ),
                        "failedInfo": st.one_of(
                            st.fixed_dictionaries(
                                {"reason": anything, "code": field(["TRANSITORY_ERROR", "FATAL_ERROR"])}
                            ),
                            anything,
                        ),
                        "runningInfo": anything,
                        "successInfo": st.one_of(
                            st.fixed_dictionaries(
                                {
                                    "images": st.lists(
                                        st.fixed_dictionaries(
                                            {
                                                "url": url,
                                                "expiredIn": field(["3600", "1900000000", "-5", "1e400"]),
                                            }
                                        ),
                                        max_size=3,
                                    ),
                                    "videos": anything,
                                }
                            ),
                            anything,
                        ),
                    }
                ),
                anything,
            )
        }
    ),
    "vozo": st.fixed_dictionaries(
        {
            "status": field(["pending", "processing", "done", "failed", "queuing", "dubbing"]),
            "video_url": url,
            "err_code": anything,
            "err_message": anything,
            "result": st.one_of(
                st.fixed_dictionaries({"video_url": url, "audio_url": url, "subtitle_url": url}), anything
            ),
        }
    ),
    "tensorpix": st.fixed_dictionaries(
        {
            "id": field([42, "42"]),
            "status": field([0, 1, 2, -1, -2, "IN_QUEUE", "2", True]),
            "processing_progress": field([0.5, 50, -1]),
            "eta_s": field([12.5, None]),
            "cost_usd": field(["1.2300", "x"]),
            "output_video": st.one_of(
                st.none(), st.fixed_dictionaries({"file": url, "name": anything}), anything
            ),
        }
    ),
}

statuses = st.one_of(
    st.sampled_from([200, 200, 200, 400, 401, 403, 404, 429, 500, 502]), st.integers(100, 599)
)
headers = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {"retry-after": st.one_of(st.text(max_size=30), st.sampled_from(["5", "-1", "1e999"]))}
    ),
)


def check(provider: str, status: int, body: bytes, hdrs: dict[str, str], kind: str | None = None) -> None:
    dialect = DIALECTS[provider]
    ctx = CallContext(provider, "fuzz_conn", "job-1")
    kind = dialect.normalize_kind(kind, ctx)
    try:
        job = dialect.parse_status("42", kind, ApiResponse(status, body, hdrs), ctx)
    except MediaJobError as err:
        assert "fuzz_conn" in str(err)
        return
    assert isinstance(job, MediaJob)
    json.dumps(job.to_dict())  # always XCom-serializable
    assert MediaJob.from_dict(job.to_dict()) == job


@pytest.mark.parametrize("provider", sorted(DIALECTS))
@given(data=st.data())
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_shaped_bodies(provider: str, data: st.DataObject) -> None:
    body = data.draw(SHAPED[provider])
    status = data.draw(statuses)
    kinds = DIALECTS[provider].job_kinds
    check(
        provider,
        status,
        json.dumps(body, default=str).encode(),
        data.draw(headers),
        data.draw(st.sampled_from(kinds)),
    )


@pytest.mark.parametrize("provider", sorted(DIALECTS))
@given(body=anything, status=statuses)
def test_arbitrary_json(provider: str, body: Any, status: int) -> None:
    try:
        raw = json.dumps(body).encode()
    except ValueError:
        raw = b"{}"
    check(provider, status, raw, {})


@pytest.mark.parametrize("provider", sorted(DIALECTS))
@given(body=st.binary(max_size=200), status=statuses)
def test_arbitrary_bytes(provider: str, body: bytes, status: int) -> None:
    check(provider, status, body, {"content-type": "text/html"})
