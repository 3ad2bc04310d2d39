"""GoEnhance: ``GET /api/v1/jobs/detail?img_uuid=…`` with a ``{code, msg, data}`` envelope.

Quirks handled here: ``code != 0`` inside an HTTP 200 is an error carrying ``msg``; the schema says
``success`` but the guide says ``completed`` (both mean done); ``json`` is ``null`` until the job
finishes and then holds one entry per output; output URLs are valid for 12 hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_mediajobs.dialects.base import Dialect
from airflow_provider_mediajobs.dialects.values import as_fraction, as_str, expiry_from_signed_url
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext
from airflow_provider_mediajobs.exceptions import (
    MediaJobBadResponseError,
    MediaJobNotFoundError,
)
from airflow_provider_mediajobs.models import JobInputs, JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.statemap import StateMap

URL_LIFETIME = timedelta(hours=12)

STATES = StateMap(
    "goenhance",
    {
        "pending": JobState.QUEUED,
        "queued": JobState.QUEUED,
        "processing": JobState.RUNNING,
        "running": JobState.RUNNING,
        "success": JobState.SUCCEEDED,
        "completed": JobState.SUCCEEDED,
        "failed": JobState.FAILED,
        "error": JobState.FAILED,
        "canceled": JobState.CANCELED,
        "cancelled": JobState.CANCELED,
    },
)

CREATE_PATHS = {
    "faceswap": ("/api/v1/imagefaceswap/generate", "mx-image-face-swap"),
    "video2video": ("/api/v1/video2video/generate", "mx-v2v"),
}


class GoEnhanceDialect(Dialect):
    auth_hint = (
        "Check the GoEnhance API key of connection '{conn_id}' (it is sent as "
        "'Authorization: Bearer <key>') and that the GoEnhance account has API access."
    )
    create_fields = {
        "faceswap": ("reference_img", "source_img"),  # the face-swap reference: both required
        "video2video": ("reference_video_url", "model"),  # from third-party clients (no reference page)
    }
    example_payloads = {
        "faceswap": {
            "args": {
                "reference_img": "https://example.com/target.jpg",
                "source_img": "https://example.com/face.jpg",
            },
            "type": "mx-image-face-swap",
        },
        "video2video": {
            "args": {
                "model": 2000,
                "duration": 5,
                "reference_video_url": "https://example.com/in.mp4",
                "seed": -1,
                "resolution": "540p",
            },
            "type": "mx-v2v",
        },
    }

    def create_payload_fields(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        args = payload.get("args")  # the documented {"args": {...}, "type": ...}, or the bare args
        return args if isinstance(args, Mapping) else payload

    def status_request(self, job_id: str, kind: str) -> ApiRequest:
        return ApiRequest("GET", "/api/v1/jobs/detail", query=(("img_uuid", job_id),))

    def _envelope(self, response: ApiResponse, ctx: CallContext) -> Any:
        payload = self.check_response(response, ctx)
        envelope = self.expect_object(payload, "{code, msg, data} envelope", ctx)
        code = envelope.get("code", 0)
        if code in (0, "0", 200, "200"):
            return envelope.get("data")
        msg = as_str(envelope.get("msg")) or "(no message)"
        detail = f"GoEnhance answered code {code}: {msg}"
        if "not found" in msg.lower():
            ctx.fail(MediaJobNotFoundError, detail)
        code_text = str(code).strip()
        # the envelope's code mirrors an HTTP status (401, 429, 500, ...); a longer code starting
        # with 5 is a server fault too; anything else is a refusal
        if code_text.isascii() and code_text.isdigit() and len(code_text) == 3:
            status = int(code_text)
        else:
            status = 500 if code_text.startswith("5") else 400
        self.fail_with_status(status, detail, ctx)

    def parse_status(self, job_id: str, kind: str, response: ApiResponse, ctx: CallContext) -> MediaJob:
        data = self.expect_object(self._envelope(response, ctx), "data", ctx)
        status = data.get("status")
        if not isinstance(status, str):
            ctx.fail(MediaJobBadResponseError, "GoEnhance job detail has no 'status' string.")
        state = STATES.read(status)
        outputs = _outputs(data) if state is JobState.SUCCEEDED else ()
        error = None
        if state is JobState.FAILED:
            error = as_str(data.get("error") or data.get("fail_reason") or data.get("msg")) or (
                f"GoEnhance reported status {status!r} without a reason"
            )
        return MediaJob(
            provider=self.name,
            job_id=as_str(data.get("img_uuid")) or job_id,
            state=state,
            provider_status=status,
            progress=1.0 if state is JobState.SUCCEEDED else as_fraction(data.get("progress")),
            outputs=outputs,
            error=error,
            job_kind=as_str(data.get("job_type") or data.get("type")),
            raw=data,
        )

    def connection_check_request(self) -> ApiRequest:
        return ApiRequest("GET", "/api/v1/user/tokens")

    def parse_connection_check(self, response: ApiResponse, ctx: CallContext) -> str:
        data = self._envelope(response, ctx)
        return self.connected("Credits left", data.get("count") if isinstance(data, Mapping) else None)

    def create_request(self, kind: str, payload: Mapping[str, Any], request_id: str | None) -> ApiRequest:
        path, job_type = CREATE_PATHS[kind]
        body = dict(payload)
        if "args" not in body:  # accept the bare args for convenience
            body = {"args": body}
        body.setdefault("type", job_type)
        return ApiRequest.json("POST", path, body)

    def describe_inputs(self, kind: str, payload: Mapping[str, Any]) -> JobInputs:
        """The ``args`` of a face swap (the reference image first: it is what the output replaces)
        or a video-to-video job (source video, prompt, style)."""
        nested = payload.get("args")
        args: Mapping[str, Any] = nested if isinstance(nested, Mapping) else payload
        texts = [
            ("Prompt", args.get("prompt")),
            ("Negative prompt", args.get("negative_prompt")),
            ("Model", args.get("model_id") or args.get("model")),
            ("Style", args.get("style")),
            ("Duration", args.get("duration")),
            ("Resolution", args.get("resolution") or args.get("aspect_ratio")),
        ]
        media = [
            ("Reference image", args.get("reference_img")),
            ("Source video", args.get("video_url") or args.get("video")),
            ("Face", args.get("source_img")),
        ]
        return JobInputs.build(texts, media)

    def parse_create(self, kind: str, response: ApiResponse, ctx: CallContext) -> str:
        data = self.expect_object(self._envelope(response, ctx), "data", ctx)
        return self.created_id(data, "img_uuid", "data.img_uuid", ctx)


def _expiry(url: str, end_time: datetime | None) -> datetime | None:
    """The URL's own signature window when it has one, else 12 hours from the job's end (or now)."""
    return expiry_from_signed_url(url) or (end_time or datetime.now(timezone.utc)) + URL_LIFETIME


def _parse_time(value: Any) -> datetime | None:
    text = as_str(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _outputs(data: Mapping[str, Any]) -> tuple[MediaOutput, ...]:
    end_time = _parse_time(data.get("end_time"))
    outputs: list[MediaOutput] = []
    seen: set[str] = set()
    entries = data.get("json")
    if isinstance(entries, list):
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            url = as_str(entry.get("value"))
            if url and url not in seen:
                seen.add(url)
                outputs.append(
                    MediaOutput(
                        url=url, kind=OutputKind.parse(entry.get("type")), expires_at=_expiry(url, end_time)
                    )
                )
    img_url = as_str(data.get("img_url"))
    if img_url and img_url not in seen:
        kind = OutputKind.VIDEO if ".mp4" in img_url.split("?")[0].lower() else OutputKind.IMAGE
        outputs.append(MediaOutput(url=img_url, kind=kind, expires_at=_expiry(img_url, end_time)))
    return tuple(outputs)
