"""Vozo: lip-sync (``GET /v1/video_generation/{task_id}``) and translate & dub
(``GET /v1/media/translate/{task_id}``), two families with two status vocabularies.

Quirks handled here: success is ``done``; translate reports its stage names (transcribing,
dubbing, ...) which become coarse progress; failures carry ``err_code``/``err_message`` in an HTTP
200; request errors are HTTP 400 ``{code (string), message, serverTs}`` whose numeric codes tell
auth and concurrency problems apart from bad requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_mediajobs.dialects.base import Dialect, _snippet, json_object
from airflow_provider_mediajobs.dialects.values import as_str, encode_segment, expiry_from_signed_url
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobAuthError,
    MediaJobBadResponseError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.models import JobInputs, JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.statemap import StateMap

LIPSYNC_STATES = StateMap(
    "vozo",
    {
        "pending": JobState.QUEUED,
        "processing": JobState.RUNNING,
        "done": JobState.SUCCEEDED,
        "completed": JobState.SUCCEEDED,
        "failed": JobState.FAILED,
    },
)

# Translate & dub stages, in order, with the share of the work done when each starts.
TRANSLATE_STAGES = {
    "queuing": 0.0,
    "preprocessing": 0.05,
    "transcribing": 0.15,
    "translating": 0.35,
    "dubbing": 0.55,
    "rendering": 0.8,
}
TRANSLATE_STATES = StateMap(
    "vozo",
    {
        "queuing": JobState.QUEUED,
        **{stage: JobState.RUNNING for stage in list(TRANSLATE_STAGES)[1:]},
        "done": JobState.SUCCEEDED,
        "failed": JobState.FAILED,
    },
)

STATUS_PATHS = {
    "lipsync": "/v1/video_generation/",
    "reusable_lipsync": "/v1/video_generation/",
    "translate": "/v1/media/translate/",
}
CREATE_PATHS = {
    "lipsync": "/v1/video_generation",
    "reusable_lipsync": "/v1/reusable_lipsync_model_video_generation",
    "translate": "/v1/media/translate",
}
AUTH_CODES = {"7", "814", "1302", "1305", "1503"}  # no permission, not a member, revoked, plan
RETRY_CODES = {"1000"}  # internal error
BUSY_CODES = {"1304"}  # too many concurrent jobs for this key


class VozoDialect(Dialect):
    auth_hint = (
        "Check the Vozo API key of connection '{conn_id}' (it is sent as "
        "'Authorization: Bearer <key>') and that the Vozo plan includes API access (codes 7, 814, "
        "1302, 1305 and 1503 are permission, membership and plan errors)."
    )
    create_fields = {  # the create pages' required fields
        "lipsync": ("reference_file_url", "audio_url", "model", "reference_file_type"),
        "translate": ("media_type", "media_url", "source_language", "target_language", "export_type"),
        "reusable_lipsync": ("model_id", "audio_url"),
    }
    example_payloads = {
        "lipsync": {
            "reference_file_url": "https://example.com/face.mp4",
            "reference_file_type": "video",
            "audio_url": "https://example.com/speech.mp3",
            "model": "standard_v1",
        },
        "translate": {
            "media_type": "video",
            "media_url": "https://example.com/talk.mp4",
            "source_language": "auto",
            "target_language": "es",
            "export_type": "all",
        },
        "reusable_lipsync": {"model_id": "lsm_8f3a2c", "audio_url": "https://example.com/speech.mp3"},
    }

    def check_response(self, response: ApiResponse, ctx: CallContext) -> Any:
        if response.status_code == 400:
            payload = json_object(response.body)
            code = as_str(payload.get("code")) or ""
            message = as_str(payload.get("message")) or "(no message)"
            detail = f"Vozo answered HTTP 400 code {code or '?'}: {message}"
            if code in AUTH_CODES:
                ctx.fail(MediaJobAuthError, detail, status_code=400, hint=self.auth_hint)
            if code in BUSY_CODES:
                ctx.fail(MediaJobRateLimitedError, detail, status_code=400)
            if code in RETRY_CODES:
                ctx.fail(MediaJobTransientError, detail, status_code=400)
            if code:  # keep Vozo's code in the message: it tells what to fix (104 credits, 1502 audio...)
                ctx.fail(MediaJobApiError, detail, status_code=400)
        return super().check_response(response, ctx)

    def status_request(self, job_id: str, kind: str) -> ApiRequest:
        return ApiRequest("GET", STATUS_PATHS[kind] + encode_segment(job_id))

    def parse_status(self, job_id: str, kind: str, response: ApiResponse, ctx: CallContext) -> MediaJob:
        data = self.expect_object(self.check_response(response, ctx), "job status", ctx)
        status = data.get("status")
        if not isinstance(status, str):
            ctx.fail(MediaJobBadResponseError, "Vozo job status has no 'status' string.")
        if kind == "translate":
            state = TRANSLATE_STATES.read(status)
            progress = TRANSLATE_STAGES.get(status.lower())
            result = data.get("result")
            outputs = (
                _translate_outputs(result)
                if state is JobState.SUCCEEDED and isinstance(result, Mapping)
                else ()
            )
        else:
            state = LIPSYNC_STATES.read(status)
            progress = None
            url = as_str(data.get("video_url"))
            outputs = (
                (MediaOutput(url=url, kind=OutputKind.VIDEO, expires_at=expiry_from_signed_url(url)),)
                if url and state is JobState.SUCCEEDED
                else ()
            )
        error = None
        if state is JobState.FAILED:
            code = as_str(data.get("err_code") or data.get("code"))
            message = as_str(data.get("err_message") or data.get("message"))
            error = " ".join(p for p in (f"[{code}]" if code else None, message) if p) or (
                "Vozo reported 'failed' without a reason"
            )
        return MediaJob(
            provider=self.name,
            job_id=job_id,
            state=state,
            provider_status=status,
            progress=1.0 if state is JobState.SUCCEEDED else progress,
            outputs=outputs,
            error=error,
            retryable=state is JobState.FAILED and as_str(data.get("err_code")) in {"999", "20611"},
            job_kind=kind,
            raw=data,
        )

    def connection_check_request(self) -> ApiRequest:
        # Vozo has no account endpoint: a status read of an id that cannot exist proves the key
        # (401/400-auth code when it is wrong, 400/404 "not found" when it is right).
        return ApiRequest("GET", "/v1/video_generation/airflow-connection-test")

    def parse_connection_check(self, response: ApiResponse, ctx: CallContext) -> str:
        if response.status_code in (400, 404):
            payload = json_object(response.body)
            if "code" not in payload and "message" not in payload:
                # not Vozo's {code, message} error: any web server answers 404 to this path
                ctx.fail(
                    MediaJobBadResponseError,
                    f"Vozo answered HTTP {response.status_code} without a Vozo error body "
                    f"({_snippet(response)!r}); the host does not look like the Vozo API.",
                    status_code=response.status_code,
                )
            if as_str(payload.get("code")) not in AUTH_CODES:
                return "Connected to Vozo: the API key was accepted."
        self.check_response(response, ctx)
        return "Connected to Vozo: the API key was accepted."

    def create_request(self, kind: str, payload: Mapping[str, Any], request_id: str | None) -> ApiRequest:
        return ApiRequest.json("POST", CREATE_PATHS[kind], payload)

    def describe_inputs(self, kind: str, payload: Mapping[str, Any]) -> JobInputs:
        """A lip-sync's reference video (or image) and audio, or a translation's media and languages."""
        languages = None
        if payload.get("target_language"):
            languages = f"{payload.get('source_language') or 'auto'} -> {payload['target_language']}"
        texts = [
            ("Model", payload.get("model")),
            ("Languages", languages),
            ("Export", payload.get("export_type")),
        ]
        media = [
            ("Reference", payload.get("reference_file_url")),
            ("Source media", payload.get("media_url")),
            ("Audio", payload.get("audio_url")),
        ]
        return JobInputs.build(texts, media)

    def parse_create(self, kind: str, response: ApiResponse, ctx: CallContext) -> str:
        data = self.expect_object(self.check_response(response, ctx), "response", ctx)
        return self.created_id(data, "task_id", "task_id", ctx)


def _translate_outputs(result: Mapping[str, Any]) -> tuple[MediaOutput, ...]:
    outputs = []
    for key, kind in (
        ("video_url", OutputKind.VIDEO),
        ("audio_url", OutputKind.AUDIO),
        ("subtitle_url", OutputKind.OTHER),
    ):
        url = as_str(result.get(key))
        if url:
            outputs.append(
                MediaOutput(
                    url=url, kind=kind, name=key.removesuffix("_url"), expires_at=expiry_from_signed_url(url)
                )
            )
    return tuple(outputs)
