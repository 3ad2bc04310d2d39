"""The example bodies of the seed documents (the providers' status-API contract), as test data.

Documents (``../shared/seeds/`` next to the repository; see its README for the originals):

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
from typing import Any

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
