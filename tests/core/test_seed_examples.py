"""Every documented example of the seed documents, read through both paths (sync and async).

Each case runs once through ``Hook.get_job`` (requests + requests-mock) and once through
``await Hook.aget_job`` (httpx + MockTransport) via the ``wire`` fixture, and must give the same,
fully specified :class:`MediaJob` (``==`` compares every field but ``raw``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BASE_URLS, CONN_IDS, SENTINEL, Reply, Wire, assert_error_context, make_hook
from seed_examples import (
    GOENHANCE_401,
    GOENHANCE_500,
    GOENHANCE_PENDING,
    GOENHANCE_SUCCESS,
    GOENHANCE_SUCCESS_URL,
    TAMS_ERROR_EXAMPLE,
    TAMS_JOB_EXAMPLE,
    TAMS_STATUSES,
    TENSORPIX_OUTPUT_URL,
    VOZO_DONE,
    VOZO_ERROR,
    VOZO_FAILED,
    VOZO_PENDING,
    VOZO_PROCESSING,
    VOZO_VIDEO_URL,
    tams_example_with_status,
    tensorpix_job,
)

from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobAuthError,
    MediaJobError,
    MediaJobNotFoundError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


@dataclass(frozen=True)
class Case:
    provider: str
    job_id: str
    body: Any
    expected: MediaJob
    path: str  # path + query the hook must request, below the base URL
    kind: str | None = None


def _tams(status: str) -> MediaJob:
    state = {
        "RUNNING": JobState.RUNNING,
        "SUCCESS": JobState.SUCCEEDED,
        "FAILED": JobState.FAILED,
        "CANCELED": JobState.CANCELED,
    }.get(status, JobState.QUEUED)
    outputs = (
        (
            MediaOutput(url="string", kind=OutputKind.IMAGE, name="string"),
            MediaOutput(url="string", kind=OutputKind.VIDEO, name="string"),
        )
        if state is JobState.SUCCEEDED
        else ()
    )
    return MediaJob(
        provider="tensorart",
        job_id="string",
        state=state,
        provider_status=status,
        # the example's runningInfo.processingImages[0].progress is 0; a success is complete
        progress=1.0 if state is JobState.SUCCEEDED else 0.0,
        queue_position=None,  # queueRank "string" is not a number
        outputs=outputs,
        error="string" if state is JobState.FAILED else None,  # failedInfo.reason
        retryable=False,  # failedInfo.code DEFAULT
        cost=0.0,
        cost_unit="credits",
        job_kind="job",
    )


def _vozo(state: JobState, status: str, outputs: tuple[MediaOutput, ...] = (), **kw: Any) -> MediaJob:
    return MediaJob(
        provider="vozo",
        job_id="6f1c2a",
        state=state,
        provider_status=status,
        outputs=outputs,
        job_kind="lipsync",
        **kw,
    )


def _tensorpix(state: JobState, status: int, **kw: Any) -> MediaJob:
    return MediaJob(
        provider="tensorpix",
        job_id="4242",
        state=state,
        provider_status=status,
        cost=1.25,
        cost_unit="usd",
        job_kind="enhance",
        **kw,
    )


CASES: dict[str, Case] = {
    "goenhance-pending": Case(
        "goenhance",
        "5334c57d-8443-4b79-ba24-8539c2163c74",
        GOENHANCE_PENDING,
        MediaJob(
            provider="goenhance",
            job_id="5334c57d-8443-4b79-ba24-8539c2163c74",
            state=JobState.QUEUED,
            provider_status="pending",
            job_kind="mx-v2v",
        ),
        "/api/v1/jobs/detail?img_uuid=5334c57d-8443-4b79-ba24-8539c2163c74",
    ),
    "goenhance-success": Case(
        "goenhance",
        "37c82d82-8765-4031-8cb3-722df8a668e6",
        GOENHANCE_SUCCESS,
        MediaJob(
            provider="goenhance",
            job_id="37c82d82-8765-4031-8cb3-722df8a668e6",
            state=JobState.SUCCEEDED,
            provider_status="success",
            progress=1.0,
            outputs=(
                MediaOutput(
                    url=GOENHANCE_SUCCESS_URL,
                    kind=OutputKind.IMAGE,
                    # q-sign-time=1728644159;1728687359: the URL's own end, = end_time + 12 h
                    expires_at=datetime.fromtimestamp(1728687359, tz=timezone.utc),
                ),
            ),
            job_kind="mx-image-face-swap",
        ),
        "/api/v1/jobs/detail?img_uuid=37c82d82-8765-4031-8cb3-722df8a668e6",
    ),
    **{
        f"tams-{status.lower()}": Case(
            "tensorart", "string", tams_example_with_status(status), _tams(status), "/v1/jobs/string"
        )
        for status in TAMS_STATUSES
    },
    "vozo-pending": Case(
        "vozo",
        "6f1c2a",
        VOZO_PENDING,
        _vozo(JobState.QUEUED, "pending"),
        "/v1/video_generation/6f1c2a",
    ),
    "vozo-processing": Case(
        "vozo",
        "6f1c2a",
        VOZO_PROCESSING,
        _vozo(JobState.RUNNING, "processing"),
        "/v1/video_generation/6f1c2a",
    ),
    "vozo-done": Case(
        "vozo",
        "6f1c2a",
        VOZO_DONE,
        _vozo(
            JobState.SUCCEEDED,
            "done",
            (MediaOutput(url=VOZO_VIDEO_URL, kind=OutputKind.VIDEO),),
            progress=1.0,
        ),
        "/v1/video_generation/6f1c2a",
    ),
    "vozo-failed": Case(
        "vozo",
        "6f1c2a",
        VOZO_FAILED,
        _vozo(JobState.FAILED, "failed", error="Vozo reported 'failed' without a reason"),
        "/v1/video_generation/6f1c2a",
    ),
    "tensorpix-0-in-queue": Case(
        "tensorpix",
        "4242",
        tensorpix_job(0, eta=600.0),
        _tensorpix(JobState.QUEUED, 0, progress=0.0, eta_seconds=600.0),
        "/api/jobs/4242/",
    ),
    "tensorpix-1-processing": Case(
        "tensorpix",
        "4242",
        tensorpix_job(1, progress=0.42, eta=37.5),
        _tensorpix(JobState.RUNNING, 1, progress=0.42, eta_seconds=37.5),
        "/api/jobs/4242/",
    ),
    "tensorpix-2-finished": Case(
        "tensorpix",
        "4242",
        tensorpix_job(2, progress=1.0, output=True),
        _tensorpix(
            JobState.SUCCEEDED,
            2,
            progress=1.0,
            outputs=(
                MediaOutput(
                    url=TENSORPIX_OUTPUT_URL,
                    kind=OutputKind.VIDEO,
                    # X-Amz-Date=20260101T000000Z + X-Amz-Expires=3600
                    expires_at=datetime(2026, 1, 1, 1, 0, tzinfo=timezone.utc),
                    name="in_enhanced.mp4",
                ),
            ),
        ),
        "/api/jobs/4242/",
    ),
    "tensorpix-minus1-failed": Case(
        "tensorpix",
        "4242",
        tensorpix_job(-1, progress=0.3),
        _tensorpix(JobState.FAILED, -1, progress=0.3, error="TensorPix reported status -1 (Failed)"),
        "/api/jobs/4242/",
    ),
    "tensorpix-minus2-canceled": Case(
        "tensorpix",
        "4242",
        tensorpix_job(-2, progress=0.3),
        _tensorpix(JobState.CANCELED, -2, progress=0.3),
        "/api/jobs/4242/",
    ),
}


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
    path = SEEDS / name
    if not path.is_file():
        pytest.skip(f"seed document {path} is not next to this checkout")
    return path.read_text(encoding="utf-8")


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
