"""TensorPix: ``GET /api/jobs/{id}/`` with ``Authorization: Token <key>`` (not Bearer).

Quirks handled here: integer ids; integer states (0 queue, 1 processing, 2 finished, -1 failed,
-2 canceled) and their string forms (``IN_QUEUE``...) from other endpoints; ``processing_progress``
0..1 and ``eta_s``; ``output_video`` is null until finished and its ``file`` is pre-signed and
re-signed on every read; ``cost_usd`` is a decimal string; DRF ``{detail}`` error bodies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_mediajobs.dialects.base import Dialect
from airflow_provider_mediajobs.dialects.values import as_float, as_fraction, as_str, expiry_from_signed_url
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext, Credentials
from airflow_provider_mediajobs.exceptions import InvalidJobIdError, MediaJobBadResponseError
from airflow_provider_mediajobs.models import JobInputs, JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.statemap import StateMap

STATES = StateMap(
    "tensorpix",
    {
        0: JobState.QUEUED,
        1: JobState.RUNNING,
        2: JobState.SUCCEEDED,
        -1: JobState.FAILED,
        -2: JobState.CANCELED,
        "in_queue": JobState.QUEUED,
        "queued": JobState.QUEUED,
        "processing": JobState.RUNNING,
        "finished": JobState.SUCCEEDED,
        "completed": JobState.SUCCEEDED,
        "failed": JobState.FAILED,
        "canceled": JobState.CANCELED,
        "cancelled": JobState.CANCELED,
    },
)
_INT_TEXT = re.compile(r"-?[0-9]+")
STATUS_NAMES = {0: "In Queue", 1: "Processing", 2: "Finished", -1: "Failed", -2: "Canceled"}


class TensorPixDialect(Dialect):
    auth_hint = (
        "Check the API key of connection '{conn_id}' (the TensorPix API token, sent as "
        "'Authorization: Token <key>', not Bearer) and that the TensorPix plan includes API access."
    )
    # a public (or pre-signed) video URL, or the id of a video uploaded with POST /api/videos/
    create_fields = {"enhance": ("url|input_video",)}
    example_payloads = {
        "enhance": {"url": "https://example.com/in.mp4", "ml_models": [1], "output_resolution": 1920}
    }

    def auth_headers(self, creds: Credentials, request: ApiRequest, path_and_query: str) -> dict[str, str]:
        return {"Authorization": f"Token {creds.api_key}"}

    def validate_job_id(self, job_id: object, ctx: CallContext) -> str:
        text = super().validate_job_id(job_id, ctx)
        if not text.isascii() or not text.isdigit():
            ctx.fail(InvalidJobIdError, f"TensorPix job ids are positive integers, got {text[:40]!r}.")
        return str(int(text))

    def status_request(self, job_id: str, kind: str) -> ApiRequest:
        return ApiRequest("GET", f"/api/jobs/{job_id}/")

    def parse_status(self, job_id: str, kind: str, response: ApiResponse, ctx: CallContext) -> MediaJob:
        data = self.expect_object(self.check_response(response, ctx), "job", ctx)
        status = data.get("status")
        if isinstance(status, str) and _INT_TEXT.fullmatch(status.strip()):
            status = int(status)  # "2" from some endpoints; not "²" or "--2", which int() refuses
        if isinstance(status, bool) or not isinstance(status, (int, str)):
            ctx.fail(MediaJobBadResponseError, f"TensorPix job has no usable 'status' (got {status!r:.40}).")
        state = STATES.read(status)
        output_video = data.get("output_video")
        outputs: tuple[MediaOutput, ...] = ()
        if state is JobState.SUCCEEDED and isinstance(output_video, Mapping):
            url = as_str(output_video.get("file"))
            if url:
                name = as_str(output_video.get("name"))
                outputs = (
                    MediaOutput(
                        url=url, kind=OutputKind.VIDEO, expires_at=expiry_from_signed_url(url), name=name
                    ),
                )
        error = None
        if state is JobState.FAILED:
            error = as_str(data.get("error") or data.get("detail")) or "TensorPix reported status -1 (Failed)"
        progress = as_fraction(data.get("processing_progress"))
        cost = as_float(data.get("cost_usd"))
        return MediaJob(
            provider=self.name,
            job_id=as_str(data.get("id")) or job_id,
            state=state,
            provider_status=status,
            progress=1.0 if state is JobState.SUCCEEDED else progress,
            eta_seconds=as_float(data.get("eta_s")) if not state.is_terminal else None,
            outputs=outputs,
            error=error,
            cost=cost,
            cost_unit="usd" if cost is not None else None,
            job_kind=kind,
            raw=data,
        )

    def error_message(self, payload: Any) -> str | None:
        message = super().error_message(payload)
        if message is None and isinstance(payload, Mapping):
            # DRF validation errors: {"field": ["message", ...], ...}
            parts = [
                f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in payload.items()
            ]
            message = ", ".join(parts)[:300] or None
        return message

    def connection_check_request(self) -> ApiRequest:
        return ApiRequest("GET", "/api/accounts/profile/balance/")

    def parse_connection_check(self, response: ApiResponse, ctx: CallContext) -> str:
        data = self.check_response(response, ctx)
        return self.connected("Balance", data.get("balance") if isinstance(data, Mapping) else None)

    def create_request(self, kind: str, payload: Mapping[str, Any], request_id: str | None) -> ApiRequest:
        # an uploaded video is enhanced by POST /api/jobs/, a URL by its from-url twin
        path = (
            "/api/jobs/" if payload.get("input_video") and not payload.get("url") else "/api/jobs/from-url/"
        )
        return ApiRequest.json("POST", path, payload)

    def describe_inputs(self, kind: str, payload: Mapping[str, Any]) -> JobInputs:
        """The source video and the enhancement models (ids) applied to it."""
        return JobInputs.build([("Models", payload.get("ml_models"))], [("Source video", payload.get("url"))])

    def parse_create(self, kind: str, response: ApiResponse, ctx: CallContext) -> str:
        data = self.expect_object(self.check_response(response, ctx), "job", ctx)
        return self.created_id(data, "id", "job id", ctx)

    def cancel_request(self, job_id: str, kind: str) -> ApiRequest:
        return ApiRequest("DELETE", f"/api/jobs/{job_id}/")

    def parse_cancel(self, response: ApiResponse, ctx: CallContext) -> bool:
        # 409: already canceled; 400: already finished. Either way this call canceled nothing.
        if response.status_code in (400, 409):
            return False
        self.check_response(response, ctx)
        return True
