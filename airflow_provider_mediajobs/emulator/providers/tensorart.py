"""TensorArt TAMS: gRPC-gateway style, 64-bit ids as strings, Bearer or RSA-signed requests.

Fields are accepted in camelCase or snake_case (``requestId``/``request_id``), as grpc-gateway does."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from ..auth import TAMS_SCHEME, scheme_key, verify_tams
from ..runtime import Ctx, RouteSpec, iso, json_response
from ..state import Job
from ..uploads import upload_url
from .base import Provider, retry_headers
from .tensorart_requests import field_of, params_problem, stages_problem, template_problem

if TYPE_CHECKING:
    from ..auth import Credentials

URL_LIFETIME_S = 12 * 3600
IMAGE_META = {"image": {"format": "png", "width": 256, "height": 256}}
VIDEO_META = {"image": {"format": "mp4", "width": 256, "height": 256}}
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 500: 13, 502: 14, 503: 14, 504: 4}
STATUS = {"succeeded": "SUCCESS", "failed": "FAILED", "canceled": "CANCELED", "running": "RUNNING"}
DEFAULT_PUT_EXPIRE_S = 3600
MAX_PUT_EXPIRE_S = 7 * 24 * 3600
PUT_HEADERS = {"Content-Type": "application/octet-stream"}
CHECK_CREDITS = 1.5
# The emulator has no template catalogue: every template id answers these fields (the node ids and
# field names of the vendor's demo template; ``nodeName`` and ``inputString`` as the official
# ComfyUI node reads them).
TEMPLATE_FIELDS = (
    {"nodeId": "25", "nodeName": "LoadImage", "fieldName": "image", "fieldValue": "", "inputString": "{}"},
    {
        "nodeId": "27",
        "nodeName": "CLIPTextEncode",
        "fieldName": "text",
        "fieldValue": "1 girl",
        "inputString": '{"multiline": true}',
    },
)


def grpc_error(
    status: int, message: str, code: int | None = None, retry_after: int | None = None
) -> Response:
    body = {
        "code": code if code is not None else GRPC_CODES.get(status, 2),
        "message": message,
        "details": [],
    }
    return json_response(body, status, retry_headers(retry_after))


class TensorArt(Provider):
    auth_scheme = "Bearer"
    kinds = ("job", "template", "workflow")
    default_outputs = {"job": ("image",), "template": ("image",), "workflow": ("image",)}

    def routes(self) -> list[RouteSpec]:
        return [
            RouteSpec("POST", "/v1/jobs/workflow/template", "create", self.create_template),
            RouteSpec("POST", "/v1/jobs/workflow/params/check", "test", self.check_params),
            RouteSpec("POST", "/v1/jobs/workflow", "create", self.create_workflow),
            RouteSpec("POST", "/v1/jobs/credits", "test", self.credits),
            RouteSpec("GET", "/v1/jobs/{job_id}", "status", self.get_job, job_param="job_id"),
            RouteSpec("DELETE", "/v1/jobs/{job_id}", "cancel", self.delete_job, job_param="job_id"),
            RouteSpec("POST", "/v1/jobs", "create", self.create_job),
            RouteSpec("POST", "/v1/workflows/template/check", "test", self.check_template),
            RouteSpec("GET", "/v1/workflows/{template_id}", "lookup", self.get_template, "template_id"),
            RouteSpec("POST", "/v1/resource/image", "upload", self.resource_image),
            RouteSpec("GET", "/v1/models/{model_id}", "lookup", self.get_model, job_param="model_id"),
        ]

    def new_job_id(self, rng: random.Random, last: str | None) -> str:
        return str(rng.randrange(10**17, 9 * 10**18))  # a uint64, sent as a JSON string

    def credentials(self, creds: Credentials) -> dict[str, Any]:
        return {
            "api_key": creds.keys[self.name],
            "app_id": creds.app_id,
            "private_key": creds.private_key_pem,
            "public_key": creds.public_key_pem,
        }

    def signed_connection(self, creds: Credentials) -> dict[str, Any] | None:
        return {"app_id": creds.app_id, "private_key": creds.private_key_pem}

    def method_not_allowed(self, method: str, allowed: list[str]) -> Response:
        """grpc-gateway's default: a known path with another method is ``Unimplemented`` (HTTP 501)."""
        return grpc_error(501, "Method Not Allowed", 12)

    def authenticate(self, ctx: Ctx) -> tuple[str | None, str]:
        header = ctx.request.headers.get("authorization") or ""
        creds = ctx.rt.creds
        if not header:
            return None, "missing Authorization header"
        if header.strip().startswith(TAMS_SCHEME):
            raw_path = ctx.request.scope.get("raw_path") or ctx.request.url.path.encode()
            query = ctx.request.scope.get("query_string") or b""
            path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
            reason = verify_tams(
                header,
                method=ctx.request.method,
                path_and_query=path,
                body=ctx.body,
                creds=creds,
                signatures=ctx.rt.signatures,
                nonces=ctx.rt.nonces if ctx.rt.strict_nonces else None,
            )
            return (creds.app_id, "") if reason is None else (None, reason)
        if scheme_key(header, "Bearer", creds.keys[self.name]):
            return creds.keys[self.name], ""
        return None, "invalid api key"

    def unauthorized(self, reason: str) -> Response:
        return grpc_error(401, f"unauthenticated: {reason}", 16)

    def error(self, status: int, message: str, retry_after: int | None = None) -> Response:
        return grpc_error(status, message, retry_after=retry_after)

    def _status(self, state: str, progress: float) -> str:
        if state == "queued":
            if progress < 0.1:
                return "CREATED"
            return "PENDING" if progress < 0.2 else "WAITING"
        return STATUS[state]

    def view(self, ctx: Ctx, job: Job) -> dict[str, Any]:
        phase = job.observe(ctx.now, ctx.flap)
        status = self._status(phase.state, phase.progress)
        out: dict[str, Any] = {"id": job.id, "status": status, "credits": job.cost}
        if status == "WAITING":
            rank = round(job.queue_rank * (1.0 - (phase.progress - 0.2) / 0.8))
            out["waitingInfo"] = {
                "queueRank": str(max(0, min(job.queue_rank, rank))),
                "queueLen": str(job.queue_rank + 3),
            }
        elif status == "RUNNING":
            progress = round(phase.progress, 4)
            out["runningInfo"] = {"processingImages": [{"progress": progress} for _ in job.outputs]}
            if job.kind in ("template", "workflow"):
                out["runningInfo"]["workflowFinishItem"] = {
                    "status": "RUNNING",
                    "progress": progress,
                    "step": int(progress * 10),
                    "id": job.id,
                    "ctime": iso(job.created_at),
                    "mtime": iso(ctx.now),
                    "nodes": {},
                    "finishedNodes": {},
                }
        elif status == "FAILED":
            code = job.failure_code if job.failure_code in ("TRANSITORY_ERROR", "FATAL_ERROR") else None
            out["failedInfo"] = {"reason": job.failure_reason, "code": code or "FATAL_ERROR"}
        elif status == "SUCCESS" and phase.finished_at is not None:
            expires = phase.finished_at + job.url_lifetime(URL_LIFETIME_S)
            remaining = str(max(0, int(ctx.rt.state.real_seconds(expires - ctx.now))))
            images: list[dict[str, Any]] = []
            videos: list[dict[str, Any]] = []
            for i, (kind, url) in enumerate(ctx.output_urls(job, expires)):
                item = {"id": f"{job.id}{i:02d}", "url": url, "expiredIn": remaining}
                if kind == "image":
                    images.append({**item, "meta": IMAGE_META})
                else:
                    videos.append({**item, "meta": VIDEO_META})
            out["successInfo"] = {"images": images, "videos": videos}
        return out

    def _job(self, ctx: Ctx) -> Job | None:
        return ctx.rt.state.get_job(self.name, ctx.job_id)

    async def get_job(self, ctx: Ctx) -> Response:
        job = self._job(ctx)
        if job is None:
            return grpc_error(404, "job not found", 5)
        return json_response({"job": self.view(ctx, job)})

    async def delete_job(self, ctx: Ctx) -> Response:
        job = self._job(ctx)
        if job is None:
            return grpc_error(404, "job not found", 5)
        before = ctx.rt.state.cancel(job)
        if before.terminal:
            return grpc_error(400, f"job already finished ({STATUS[before.state]})", 9)
        return json_response({"jobId": job.id})

    async def _create(self, ctx: Ctx, kind: str, problem: Any) -> Response:
        """Validate (``problem(body)``, then ``requestId``), then create once per ``requestId``."""
        body, script = ctx.script()
        if ctx.json_object() is None:
            return grpc_error(400, "invalid request body: not a JSON object", 3)
        request_id = field_of(body, "requestId")
        found = problem(body)
        if found is None and request_id in (None, ""):
            found = "missing requestId"
        elif found is None and not isinstance(request_id, str):
            found = "requestId must be a string"
        if found is not None:
            return grpc_error(400, f"invalid argument: {found}", 3)
        existing = ctx.rt.state.job_by_request_id(self.name, str(request_id))
        if existing is not None:
            return json_response({"job": {"id": existing.id, "status": self.view(ctx, existing)["status"]}})
        job = ctx.rt.state.create_job(
            self.name, kind=kind, script={**script, "kind": kind}, request=body, request_id=str(request_id)
        )
        return json_response({"job": {"id": job.id, "status": "CREATED"}})

    async def create_job(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "job", stages_problem)

    async def create_template(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "template", template_problem)

    async def create_workflow(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "workflow", params_problem)

    async def _check(self, ctx: Ctx, problem: Any) -> Response:
        body = ctx.json_object()
        found = "invalid request body: not a JSON object" if body is None else problem(body)
        if found is not None:
            return grpc_error(400, f"invalid argument: {found}", 3)
        return json_response({"valid": True, "credits": CHECK_CREDITS})

    async def credits(self, ctx: Ctx) -> Response:
        body = ctx.json_object()
        found = "invalid request body: not a JSON object" if body is None else stages_problem(body)
        if found is not None:
            return grpc_error(400, f"invalid argument: {found}", 3)
        return json_response({"credits": "1.5"})

    async def check_params(self, ctx: Ctx) -> Response:
        """``{params}`` → ``{valid, credits}`` (documented beside ``POST /v1/jobs/workflow``)."""
        return await self._check(ctx, params_problem)

    async def check_template(self, ctx: Ctx) -> Response:
        """``{templateId, fields}`` → ``{valid, credits}``, like the params check (the vendor's demo)."""
        return await self._check(ctx, template_problem)

    async def get_template(self, ctx: Ctx) -> Response:
        """``{id, name, fields:{fieldAttrs:[...]}}`` of any uint64 template id (no catalogue)."""
        template_id = ctx.job_id or ""
        if not template_id.isdigit() or int(template_id) >= 2**64:
            return grpc_error(400, "invalid argument: templateId must be a uint64", 3)
        if int(template_id) == 0:
            return grpc_error(404, "template not found", 5)
        fields = [dict(field) for field in TEMPLATE_FIELDS]
        name = f"Emulated template {template_id}"
        return json_response({"id": template_id, "name": name, "fields": {"fieldAttrs": fields}})

    async def resource_image(self, ctx: Ctx) -> Response:
        """``{expireSec?, term?}`` -> ``{resourceId, putUrl, headers}``; PUT the bytes to ``putUrl``."""
        body = ctx.json_object() if ctx.body else {}
        if body is None:
            return grpc_error(400, "invalid request body: not a JSON object", 3)
        expire = body.get("expireSec", DEFAULT_PUT_EXPIRE_S)
        if isinstance(expire, str) and expire.isdigit():
            expire = int(expire)  # int64 fields may travel as JSON strings
        if not isinstance(expire, int) or isinstance(expire, bool) or not 0 < expire <= MAX_PUT_EXPIRE_S:
            return grpc_error(400, f"invalid argument: expireSec must be 1..{MAX_PUT_EXPIRE_S}", 3)
        if body.get("term", 1) not in (1, 2):
            return grpc_error(400, "invalid argument: term must be 1 (short) or 2 (long)", 3)
        upload = ctx.rt.uploads.create(self.name, "image", ctx.now, sequential=self.integer_ids)
        put_url = upload_url(ctx.rt, ctx.base, upload, "put", int(ctx.now + expire))
        return json_response({"resourceId": upload.id, "putUrl": put_url, "headers": PUT_HEADERS})

    async def get_model(self, ctx: Ctx) -> Response:
        model_id = ctx.job_id or ""
        if not model_id.isdigit():
            return grpc_error(400, "invalid argument: modelId must be a uint64", 3)
        if int(model_id) == 0 or int(model_id) >= 2**64:
            return grpc_error(404, "model not found", 5)
        model = {
            "id": model_id,
            "name": f"Emulated checkpoint {model_id}",
            "description": "A model the mediajobs emulator makes up for any id.",
            "baseModel": "SD 1.5",
            "modelType": "CHECKPOINT",
            "showcaseImageUrls": [],
            "projectName": "mediajobs emulator",
        }
        return json_response({"model": model})
