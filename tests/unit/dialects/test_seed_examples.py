"""Every documented example of the seed documents, read through both paths (sync and async).

Each case runs once through ``Hook.get_job`` (requests + requests-mock) and once through
``await Hook.aget_job`` (httpx + MockTransport) via the ``wire`` fixture, and must give the same,
fully specified :class:`MediaJob` (``==`` compares every field but ``raw``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobAuthError,
    MediaJobError,
    MediaJobNotFoundError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)

from support.constants import BASE_URLS, CONN_IDS, SENTINEL
from support.seed_examples import (
    CASES,
    GOENHANCE_401,
    GOENHANCE_500,
    GOENHANCE_PENDING,
    GOENHANCE_SUCCESS,
    GOENHANCE_SUCCESS_URL,
    TAMS_ERROR_EXAMPLE,
    TAMS_JOB_EXAMPLE,
    TAMS_STATUSES,
    VOZO_DONE,
    VOZO_ERROR,
    VOZO_FAILED,
    VOZO_PENDING,
    VOZO_PROCESSING,
    tensorpix_job,
)
from support.wire import Reply, Wire, assert_error_context, make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

SEEDS = Path(__file__).resolve().parents[2] / "seeds"  # the providers' documents, vendored


@pytest.mark.parametrize("name", list(CASES))
async def test_documented_example_parses(wire: Wire, name: str) -> None:
    case = CASES[name]
    wire.reply(Reply(json=case.body))
    job = await wire.get_job(make_hook(case.provider), case.job_id, case.kind)

    assert job == case.expected
    assert job.raw == (case.body["data"] if case.provider == "goenhance" else case.body.get("job", case.body))
    # exactly one request, to the documented endpoint, with the documented auth scheme
    assert [(s.method, s.url) for s in wire.sent] == [("GET", BASE_URLS[case.provider] + case.path)]
    scheme = "Token" if case.provider == "tensorpix" else "Bearer"
    assert wire.sent[0].headers["authorization"] == f"{scheme} {SENTINEL}"


# ---- the documented error examples ---------------------------------------------------------------
ERROR_CASES: dict[str, tuple[str, str, Reply, type[MediaJobError], str]] = {
    # (provider, job id, reply, error class, text the message must carry)
    "goenhance-401-example": (
        "goenhance",
        "5334c57d",
        Reply(401, json=GOENHANCE_401),
        MediaJobAuthError,
        "Token is required",
    ),
    "goenhance-500-example": (
        "goenhance",
        "5334c57d",
        Reply(500, json=GOENHANCE_500),
        MediaJobTransientError,
        "500",
    ),
    "tams-default-error-example-400": (
        "tensorart",
        "1234",
        Reply(400, json=TAMS_ERROR_EXAMPLE),
        MediaJobApiError,
        "HTTP 400: string",
    ),
    "tams-default-error-example-503": (
        "tensorart",
        "1234",
        Reply(503, json=TAMS_ERROR_EXAMPLE),
        MediaJobTransientError,
        "HTTP 503: string",
    ),
    "tams-404-job-not-found": (
        "tensorart",
        "1234",
        Reply(404, body="Not Found: job not found", headers={"Content-Type": "text/plain"}),
        MediaJobNotFoundError,
        "job not found",
    ),
    "vozo-400-error-schema": (
        "vozo",
        "6f1c2a",
        Reply(400, json=VOZO_ERROR),
        MediaJobApiError,
        "code 5: invalid params",
    ),
    "tensorpix-401": (
        "tensorpix",
        "4242",
        Reply(401, json={"detail": "Invalid token."}),
        MediaJobAuthError,
        "Invalid token.",
    ),
    "tensorpix-403": (
        "tensorpix",
        "4242",
        Reply(403, json={"detail": "You do not have permission to perform this action."}),
        MediaJobAuthError,
        "permission",
    ),
    "tensorpix-404": (
        "tensorpix",
        "4242",
        Reply(404, json={"detail": "Not found."}),
        MediaJobNotFoundError,
        "Not found.",
    ),
    "tensorpix-429": (
        "tensorpix",
        "4242",
        Reply(429, json={"detail": "Request was throttled. Expected available in 12 seconds."}),
        MediaJobRateLimitedError,
        "throttled",
    ),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
async def test_documented_error_example_raises(wire: Wire, name: str) -> None:
    provider, job_id, reply, error_class, text = ERROR_CASES[name]
    wire.reply(reply)
    with pytest.raises(error_class) as info:
        await wire.get_job(make_hook(provider), job_id)
    assert text in str(info.value)
    assert info.value.http_status == reply.status
    assert_error_context(info.value, provider, CONN_IDS[provider], job_id)
    if name == "tensorpix-429":  # no Retry-After header: the DRF message says when
        assert isinstance(info.value, MediaJobRateLimitedError) and info.value.retry_after == 12.0


# ---- the copies above are the documents' text ------------------------------------------------------
def _seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def _json_objects(text: str, start: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found, index = [], text.find(start)
    while index >= 0:
        value, end = decoder.raw_decode(text, index)
        found.append(value)
        index = text.find(start, end)
    return found


def test_goenhance_examples_are_the_openapi_examples() -> None:
    text = _seed("goenhance-job-detail.openapi.md")
    spec = yaml.safe_load(text.split("````yaml GET /api/v1/jobs/detail\n", 1)[1].split("\n````", 1)[0])
    responses = spec["paths"]["/api/v1/jobs/detail"]["get"]["responses"]
    examples = responses["200"]["content"]["application/json"]["examples"]
    assert examples["1"]["value"] == GOENHANCE_PENDING
    assert examples["2"]["value"] == GOENHANCE_SUCCESS
    assert responses["401"]["content"]["application/json"]["example"] == GOENHANCE_401
    assert responses["500"]["content"]["application/json"]["example"] == GOENHANCE_500
    assert examples["2"]["value"]["data"]["json"][0]["value"] == GOENHANCE_SUCCESS_URL


def test_goenhance_guide_repeats_the_examples() -> None:
    text = _seed("goenhance-job-status.guide.md")
    assert _json_objects(text, '{\n  "code": 0') == [GOENHANCE_PENDING, GOENHANCE_SUCCESS]
    assert "completed: Job has finished successfully" in text  # the prose's word for success


def test_tams_examples_are_the_reference_examples() -> None:
    text = _seed("tensorart-tams-get-job.reference.md")
    assert _json_objects(text, '{\n  "job"') == [TAMS_JOB_EXAMPLE]
    assert _json_objects(text, '{\n  "code"') == [TAMS_ERROR_EXAMPLE]
    listed = text.split("Possible values: [", 1)[1].split("]", 1)[0]
    assert sorted(listed.split(", ")) == sorted(TAMS_STATUSES)


def test_vozo_and_tensorpix_examples_follow_the_schemas() -> None:
    vozo = _seed("vozo-video-generation-status.openapi.md")
    spec = yaml.safe_load(
        vozo.split("````yaml GET /v1/video_generation/{task_id}\n", 1)[1].split("\n````")[0]
    )
    schemas = spec["components"]["schemas"]
    assert {b["status"] for b in (VOZO_PENDING, VOZO_PROCESSING, VOZO_DONE, VOZO_FAILED)} == set(
        schemas["JobStatus"]["properties"]["status"]["enum"]
    )
    assert set(VOZO_ERROR) == set(schemas["Error"]["properties"])

    tensorpix = _seed("tensorpix-get-job.openapi.md")
    spec = yaml.safe_load(tensorpix.split("````yaml ", 1)[1].split("\n", 1)[1].split("\n````")[0])
    schemas = spec["components"]["schemas"]
    job = tensorpix_job(2, output=True)
    assert set(schemas["Job"]["required"]) <= set(job)
    assert set(schemas["RestoredVideo"]["required"]) <= set(job["output_video"])
    assert set(schemas["StatusEnum"]["enum"]) == {0, 1, 2, -1, -2}
    for error in ("UnauthenticatedError", "ForbiddenError", "NotFoundError", "RateLimitError"):
        assert schemas[error]["required"] == ["detail"]
