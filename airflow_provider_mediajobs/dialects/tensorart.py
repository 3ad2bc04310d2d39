"""TensorArt TAMS: ``GET /v1/jobs/{jobId}`` on the application's own endpoint.

Quirks handled here: two auth modes (Bearer token, or the TAMS-SHA256-RSA signature made from the
app id and a PEM private key, recomputed for every request over the exact bytes sent); 64-bit ids,
queue ranks and URL lifetimes arrive as JSON strings; CREATED/PENDING/WAITING/DEFAULT are all
"queued"; ``failedInfo.code == TRANSITORY_ERROR`` means a resubmit may help; gRPC-style error bodies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mediajobs.dialects.base import Dialect, json_object
from airflow_provider_mediajobs.dialects.values import (
    as_float,
    as_fraction,
    as_int,
    as_str,
    encode_segment,
    expiry_after,
    expiry_from_signed_url,
)
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext, Credentials
from airflow_provider_mediajobs.exceptions import MediaJobBadResponseError, MediaJobConfigError
from airflow_provider_mediajobs.models import JobInputs, JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.statemap import StateMap

AUTH_SCHEME = "TAMS-SHA256-RSA"
FAILED_PRECONDITION = 9  # gRPC status code: the job is in a state that does not allow the call

STATES = StateMap(
    "tensorart",
    {
        "DEFAULT": JobState.QUEUED,
        "CREATED": JobState.QUEUED,
        "PENDING": JobState.QUEUED,
        "WAITING": JobState.QUEUED,
        "RUNNING": JobState.RUNNING,
        "SUCCESS": JobState.SUCCEEDED,
        "FAILED": JobState.FAILED,
        "CANCELED": JobState.CANCELED,
        "CANCELLED": JobState.CANCELED,
    },
)

CREATE_PATHS = {"job": "/v1/jobs", "template": "/v1/jobs/workflow/template", "workflow": "/v1/jobs/workflow"}

# A minimal documented diffusion body: pricing it is free and proves the credentials.
_CREDITS_PROBE = {
    "stages": [
        {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}},
        {
            "type": "DIFFUSION",
            "diffusion": {"width": 512, "height": 512, "prompts": [{"text": "probe"}], "steps": 1},
        },
    ]
}


class TensorArtDialect(Dialect):
    auth_hint = (
        "Check connection '{conn_id}': in signature mode its App ID and private key (the key's public "
        "half must be the one uploaded for that app on the TAMS console) and that the host is that "
        "app's endpoint; in Bearer mode its API key."
    )
    create_fields = {  # requestId is required too; create_request adds one when the payload has none
        "job": ("stages",),
        "template": ("templateId|template_id", "fields"),
        "workflow": ("params",),
    }
    example_payloads = {
        "job": {
            "stages": [
                {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}},
                {
                    "type": "DIFFUSION",
                    "diffusion": {
                        "width": 512,
                        "height": 512,
                        "prompts": [{"text": "a lighthouse at dusk"}],
                        "sd_model": "600423083519508503",
                        "steps": 15,
                        "cfg_scale": 7,
                        "clip_skip": 2,
                    },
                },
            ]
        },
        "template": {
            "templateId": "676018193025756628",
            "fields": {
                "fieldAttrs": [{"nodeId": "6", "fieldName": "text", "fieldValue": "a lighthouse at dusk"}]
            },
        },
        "workflow": {
            "params": {
                "1": {"classType": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "600423083519508503"}},
                "2": {
                    "classType": "CLIPTextEncode",
                    "inputs": {"text": "a lighthouse at dusk", "clip": ["1", 1]},
                },
                "3": {"classType": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
                "4": {
                    "classType": "EmptyLatentImage",
                    "inputs": {"width": 512, "height": 512, "batch_size": 1},
                },
                "5": {
                    "classType": "KSampler",
                    "inputs": {
                        "model": ["1", 0],
                        "positive": ["2", 0],
                        "negative": ["3", 0],
                        "latent_image": ["4", 0],
                        "seed": 1,
                        "steps": 15,
                        "cfg": 7,
                        "sampler_name": "euler",
                        "scheduler": "normal",
                        "denoise": 1,
                    },
                },
                "6": {"classType": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
                "7": {"classType": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "out"}},
            }
        },
    }

    def build_credentials(
        self, api_key: str | None, extras: Mapping[str, Any], ctx: CallContext
    ) -> Credentials:
        app_id = as_str(extras.get("app_id")) or None
        pem = as_str(extras.get("private_key")) or None
        if pem:
            if not app_id:
                ctx.fail(MediaJobConfigError, "The TensorArt connection has a private key but no app id.")
            # cryptography's RSA half (~30 ms) loads only for a connection that signs
            from airflow_provider_mediajobs.dialects.tensorart_signing import load_private_key

            key = load_private_key(pem, ctx)
            secrets = tuple(s for s in (pem, pem.strip(), api_key) if s)
            return Credentials(api_key=api_key, app_id=app_id, private_key=key, secret_texts=secrets)
        if not api_key:
            ctx.fail(
                MediaJobConfigError,
                "The TensorArt connection has neither an API key nor an app id + private key.",
            )
        return Credentials(api_key=api_key, app_id=app_id, secret_texts=(api_key,))

    def credentials_load_a_key(self, extras: Mapping[str, Any]) -> bool:
        return bool(as_str(extras.get("private_key")))

    def auth_headers(self, creds: Credentials, request: ApiRequest, path_and_query: str) -> dict[str, str]:
        if creds.private_key is None:
            return {"Authorization": f"Bearer {creds.api_key}"}
        from airflow_provider_mediajobs.dialects.tensorart_signing import sign  # loaded with the key

        timestamp = str(int(time.time()))
        nonce = uuid.uuid4().hex  # unique per request (the vendor demo's md5(timestamp) repeats)
        signature = sign(
            creds.private_key, request.method, path_and_query, timestamp, nonce, request.body or b""
        )
        value = f"{AUTH_SCHEME} app_id={creds.app_id},nonce_str={nonce},timestamp={timestamp},signature={signature}"
        return {"Authorization": value}

    def signs_each_request(self, creds: Credentials) -> bool:
        return creds.private_key is not None

    def status_request(self, job_id: str, kind: str) -> ApiRequest:
        return ApiRequest("GET", f"/v1/jobs/{encode_segment(job_id)}")

    def parse_status(self, job_id: str, kind: str, response: ApiResponse, ctx: CallContext) -> MediaJob:
        payload = self.expect_object(self.check_response(response, ctx), "response", ctx)
        job = self.expect_object(payload.get("job"), "job", ctx)
        status = job.get("status", "DEFAULT")
        if not isinstance(status, str):
            ctx.fail(MediaJobBadResponseError, "TAMS job has a non-string 'status'.")
        state = STATES.read(status)
        waiting = _obj(job.get("waitingInfo"))
        failed = _obj(job.get("failedInfo"))
        error = None
        if state is JobState.FAILED:
            error = as_str(failed.get("reason")) or "TAMS reported FAILED without a reason"
        return MediaJob(
            provider=self.name,
            job_id=as_str(job.get("id")) or job_id,
            state=state,
            provider_status=status,
            progress=1.0 if state is JobState.SUCCEEDED else _progress(_obj(job.get("runningInfo"))),
            queue_position=as_int(waiting.get("queueRank")) if state is JobState.QUEUED else None,
            outputs=_outputs(_obj(job.get("successInfo"))) if state is JobState.SUCCEEDED else (),
            error=error,
            retryable=state is JobState.FAILED and failed.get("code") == "TRANSITORY_ERROR",
            permanent=state is JobState.FAILED and failed.get("code") == "FATAL_ERROR",
            cost=as_float(job.get("credits")),
            cost_unit="credits" if job.get("credits") is not None else None,
            job_kind=kind,
            raw=job,
        )

    def error_message(self, payload: Any) -> str | None:
        """gRPC-gateway error bodies ``{code: int, message, details[]}``: the message, with its code."""
        message = super().error_message(payload)
        code = payload.get("code") if isinstance(payload, Mapping) else None
        if message and isinstance(code, int) and not isinstance(code, bool):
            return f"{message} (gRPC code {code})"
        return message

    def connection_check_request(self) -> ApiRequest:
        return ApiRequest.json("POST", "/v1/jobs/credits", _CREDITS_PROBE)

    def create_request(self, kind: str, payload: Mapping[str, Any], request_id: str | None) -> ApiRequest:
        body = dict(payload)
        if not (body.get("requestId") or body.get("request_id")):
            # required by TAMS (HTTP 400 without it); it also makes the create idempotent
            body["requestId"] = request_id or self.new_request_id()
        return ApiRequest.json("POST", CREATE_PATHS[kind], body)

    def describe_inputs(self, kind: str, payload: Mapping[str, Any]) -> JobInputs:
        """The ``DIFFUSION`` stage of a job (prompts, negative prompts by weight < 0, model, size,
        steps), its ``INPUT_INITIALIZE`` seed and count, or a template's id."""
        positive: list[str] = []
        negative: list[str] = []
        texts: list[tuple[str, Any]] = []
        for stage in payload.get("stages") or ():
            if not isinstance(stage, Mapping):
                continue
            if isinstance(stage.get("inputInitialize"), Mapping):
                init = stage["inputInitialize"]
                texts += [("Count", init.get("count")), ("Seed", init.get("seed"))]
            diffusion = stage.get("diffusion")
            if not isinstance(diffusion, Mapping):
                continue
            for prompt in diffusion.get("prompts") or ():
                if isinstance(prompt, Mapping) and prompt.get("text"):
                    weight = as_float(prompt.get("weight"))
                    (negative if weight is not None and weight < 0 else positive).append(str(prompt["text"]))
            for prompt in diffusion.get("negativePrompts") or ():
                if isinstance(prompt, Mapping) and prompt.get("text"):
                    negative.append(str(prompt["text"]))
            width, height = as_int(diffusion.get("width")), as_int(diffusion.get("height"))
            texts += [
                ("Model", diffusion.get("sdModel")),
                ("Size", f"{width}x{height}" if width and height else None),
                ("Steps", diffusion.get("steps")),
                ("Sampler", diffusion.get("sampler")),
            ]
        template = payload.get("templateId") or payload.get("template_id")
        head = [("Prompt", " | ".join(positive)), ("Negative prompt", " | ".join(negative))]
        return JobInputs.build([*head, ("Template", template), *texts])

    def new_request_id(self) -> str | None:
        return uuid.uuid4().hex

    def parse_create(self, kind: str, response: ApiResponse, ctx: CallContext) -> str:
        payload = self.expect_object(self.check_response(response, ctx), "response", ctx)
        job = self.expect_object(payload.get("job"), "job", ctx)
        return self.created_id(job, "id", "job.id", ctx)

    def cancel_request(self, job_id: str, kind: str) -> ApiRequest:
        return ApiRequest("DELETE", f"/v1/jobs/{encode_segment(job_id)}")

    def parse_cancel(self, response: ApiResponse, ctx: CallContext) -> bool:
        # A finished job (succeeded, failed or already canceled) answers 400 with gRPC code 9
        # FAILED_PRECONDITION: this call canceled nothing. Any other 400 is a real error.
        code = json_object(response.body).get("code")
        if response.status_code == 409 or (response.status_code == 400 and code == FAILED_PRECONDITION):
            return False
        self.check_response(response, ctx)
        return True


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _progress(running: Mapping[str, Any]) -> float | None:
    images = running.get("processingImages")
    if isinstance(images, list):
        values = [p for p in (as_fraction(_obj(i).get("progress")) for i in images) if p is not None]
        if values:
            return sum(values) / len(values)
    return as_fraction(_obj(running.get("workflowFinishItem")).get("progress"))


def _expires(expired_in: Any) -> datetime | None:
    """``expiredIn`` is undocumented in unit: epoch ms, epoch s, or seconds from now."""
    value = as_float(expired_in)
    if value is None or value <= 0:
        return None
    try:
        if value > 1e12:
            return datetime.fromtimestamp(value / 1000.0, tz=timezone.utc)
        if value > 1e9:
            return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return expiry_after(value)


def _outputs(success: Mapping[str, Any]) -> tuple[MediaOutput, ...]:
    outputs: list[MediaOutput] = []
    for field, kind in (("images", OutputKind.IMAGE), ("videos", OutputKind.VIDEO)):
        items = success.get(field)
        if not isinstance(items, list):
            continue
        for item in items:
            resource = _obj(item)
            url = as_str(resource.get("url"))
            if url:
                name = as_str(resource.get("id"))
                expires_at = expiry_from_signed_url(url) or _expires(resource.get("expiredIn"))
                outputs.append(MediaOutput(url=url, kind=kind, expires_at=expires_at, name=name))
    return tuple(outputs)
