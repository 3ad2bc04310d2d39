"""The example bodies of the seed documents (the providers' status-API contract), as test data.

Documents (``tests/seeds/``, vendored; see its README for the originals):

- ``goenhance-job-detail.openapi.md`` (GoEnhance OpenAPI, ``GET /api/v1/jobs/detail``): the
  ``examples`` ``'1'`` (pending) and ``'2'`` (success) of the 200 response, the 401 example and
  the 500 example — copied verbatim.
- ``goenhance-job-status.guide.md`` (GoEnhance guide): the curl response (= example ``'1'``) and
  the "Example Response" (= example ``'2'``); the prose lists ``completed`` instead of ``success``.
- ``tensorart-tams-get-job.reference.md`` (TAMS ``GET /v1/jobs/:jobId``): the 200 "Example (from
  schema)" and the ``default`` error example — verbatim; the 404 says only "Not Found: job not found".
- ``vozo-video-generation-status.openapi.md`` (Vozo ``GET /v1/video_generation/{task_id}``): no
  example bodies, only the ``JobStatus`` schema (status enum ``pending|processing|done|failed``,
  ``video_url``) and the 400 ``Error`` schema (``code`` string, ``message``, ``serverTs``); the
  bodies below are the smallest instances of those schemas.
- ``tensorpix-get-job.openapi.md`` (TensorPix ``GET /api/jobs/{id}/``): no example bodies; the
  ``Job`` below has every property the schema marks required, with the documented types (status
  ``StatusEnum`` 0/1/2/-1/-2, ``cost_usd`` decimal string, ``output_video`` ``RestoredVideo`` or null)
  and the error schemas ``{detail}`` for 401/403/404/429.

``test_seed_examples.py`` checks, when the seed folder is present, that the verbatim examples
above still equal what the documents say.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind

# ---- GoEnhance (goenhance-job-detail.openapi.md, examples '1' and '2'; the guide repeats them) ----
GOENHANCE_PENDING: dict[str, Any] = {
    "code": 0,
    "msg": "Success",
    "data": {
        "img_uuid": "5334c57d-8443-4b79-ba24-8539c2163c74",
        "status": "pending",
        "type": "mx-v2v",
        "start_time": "2024-07-12T12:49:12.541Z",
        "model_id": "7",
        "json": None,
        "job_type": "mx-v2v",
    },
}
GOENHANCE_SUCCESS_URL = (
    "https://openapi-static.goenhance.ai/user/2024/10/11/9dfdb4b5-7ef7-4fe7-93ff-b9eb76cc431d_0.jpg"
    "?q-sign-algorithm=sha1&q-ak=AKIDqUvFPSM9vvmdNzSn01oeUAdxw1y1zkS2&q-sign-time=1728644159;1728687359"
    "&q-key-time=1728644159;1728687359&q-header-list=host&q-url-param-list="
    "&q-signature=cd1e9c6ef14d36c1e034d6bd3a3fe1aaee41b15f"
)
GOENHANCE_SUCCESS: dict[str, Any] = {
    "code": 0,
    "msg": "Success",
    "data": {
        "img_uuid": "37c82d82-8765-4031-8cb3-722df8a668e6",
        "status": "success",
        "type": "mx-image-face-swap",
        "start_time": "2024-10-11T10:55:32.596Z",
        "end_time": "2024-10-11T10:56:00.338Z",
        "model_id": "-1",
        "json": [{"type": "image", "value": GOENHANCE_SUCCESS_URL}],
        "job_type": "mx-image-face-swap",
    },
}
GOENHANCE_401: dict[str, Any] = {"code": 401, "msg": "Token is required"}
GOENHANCE_500: dict[str, Any] = {"code": 500, "msg": ""}

# ---- TensorArt TAMS (tensorart-tams-get-job.reference.md) -------------------------------------
_RESOURCE: dict[str, Any] = {
    "id": "string",
    "url": "string",
    "expiredIn": "string",
    "meta": {"image": {"format": "string", "width": 0, "height": 0}},
}
_WORKFLOW_ITEM: dict[str, Any] = {
    "status": "DEFAULT",
    "progress": 0,
    "step": 0,
    "id": "string",
    "ctime": "string",
    "mtime": "string",
    "nodes": {},
    "finishedNodes": {},
}
TAMS_JOB_EXAMPLE: dict[str, Any] = {
    "job": {
        "id": "string",
        "status": "DEFAULT",
        "credits": 0,
        "waitingInfo": {"queueRank": "string", "queueLen": "string"},
        "failedInfo": {"reason": "string", "code": "DEFAULT"},
        "runningInfo": {
            "processingImages": [{"resourceImage": copy.deepcopy(_RESOURCE), "progress": 0}],
            "workflowFinishItem": copy.deepcopy(_WORKFLOW_ITEM),
        },
        "successInfo": {
            "images": [copy.deepcopy(_RESOURCE)],
            "videos": [copy.deepcopy(_RESOURCE)],
            "workflowFinishItem": copy.deepcopy(_WORKFLOW_ITEM),
        },
    }
}
TAMS_STATUSES = ("DEFAULT", "CREATED", "PENDING", "RUNNING", "CANCELED", "SUCCESS", "FAILED", "WAITING")
TAMS_ERROR_EXAMPLE: dict[str, Any] = {"code": 0, "message": "string", "details": [{"@type": "string"}]}


def tams_example_with_status(status: str) -> dict[str, Any]:
    """The documented example with ``status`` set to one of its "Possible values"."""
    body = copy.deepcopy(TAMS_JOB_EXAMPLE)
    body["job"]["status"] = status
    return body


# ---- Vozo (vozo-video-generation-status.openapi.md: JobStatus and Error schemas) ---------------
VOZO_VIDEO_URL = "https://cdn.vozo.example/out/6f1c2a.mp4"
VOZO_PENDING: dict[str, Any] = {"status": "pending"}
VOZO_PROCESSING: dict[str, Any] = {"status": "processing"}
VOZO_DONE: dict[str, Any] = {"status": "done", "video_url": VOZO_VIDEO_URL}
VOZO_FAILED: dict[str, Any] = {"status": "failed"}
VOZO_ERROR: dict[str, Any] = {"code": "5", "message": "invalid params", "serverTs": "1730000000000"}

# ---- TensorPix (tensorpix-get-job.openapi.md: Job, RestoredVideo, {detail} errors) --------------
TENSORPIX_OUTPUT_URL = (
    "https://tensorpix-media.s3.amazonaws.com/restored/9001.mp4"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600"
    "&X-Amz-SignedHeaders=host&X-Amz-Signature=abc123"
)
_INPUT_VIDEO: dict[str, Any] = {
    "id": 501,
    "name": "in.mp4",
    "width": 640,
    "height": 360,
    "created_at": "2026-01-01T00:00:00Z",
    "n_frames": 240,
    "framerate": 24.0,
    "size": 1048576,
    "owner": "someone@example.com",
    "thumbnail": None,
    "external_url": "https://example.com/in.mp4",
    "bitrate": 800000,
    "codec_id": "avc1",
    "bit_depth": 8,
    "chroma_subsampling": "4:2:0",
    "color_space": "bt709",
}
_OUTPUT_VIDEO: dict[str, Any] = {
    "id": 9001,
    "job_id": 4242,
    "preview_videos": {"before_video": None, "after_video": None},
    "name": "in_enhanced.mp4",
    "created_at": "2026-01-01T00:00:00Z",
    "file": TENSORPIX_OUTPUT_URL,
    "width": 1280,
    "height": 720,
    "owner": 77,
}


def tensorpix_job(
    status: int,
    *,
    progress: float = 0.0,
    eta: float = 0.0,
    cost: str = "1.2500",
    output: bool = False,
) -> dict[str, Any]:
    """A ``Job`` with every required property of the schema."""
    return {
        "id": 4242,
        "started": "2026-01-01T00:00:00Z",
        "preview": False,
        "description": "upscale",
        "cost_usd": cost,
        "status": status,
        "eta_s": eta,
        "finished": "2026-01-01T00:10:00Z" if status in (2, -1, -2) else None,
        "processing_progress": progress,
        "input_video": copy.deepcopy(_INPUT_VIDEO),
        "output_video": copy.deepcopy(_OUTPUT_VIDEO) if output else None,
        "ml_models": [
            {
                "id": 1,
                "name": "Upscale 2x",
                "task": 1,
                "cost_weight": 1.0,
                "upscale_factor": 2,
                "fps_boost_factor": 1,
                "priority": 1,
                "max_resolution": 2073600,
            }
        ],
        "grain": 0.0,
        "codec": "libx264",
        "output_resolution": 1280,
        "comparison": False,
        "stabilization_smoothing": 0,
        "fps_interpolation_factor": 1.0,
        "playback_speed": 1.0,
        "sharpen_strength": 0.0,
        "start_frame": None,
        "end_frame": None,
    }


# ---- what each example must parse to (test_seed_examples.py, test_model.py) ------------------------
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
    # the example's image and video ``url`` are the schema placeholder "string": not a URL, so the
    # URL policy drops both outputs (logged); the job is still what the provider says it is
    outputs: tuple[MediaOutput, ...] = ()
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
