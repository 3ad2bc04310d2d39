"""GoEnhance: ``{code, msg, data}`` envelopes, ``img_uuid`` in the query string, 12 h output URLs."""

from __future__ import annotations

import json

from starlette.responses import Response

from ..runtime import Ctx, RouteSpec, iso, json_response
from ..state import Job
from .base import Provider, retry_headers

URL_LIFETIME_S = 12 * 3600
JOB_TYPES = {"faceswap": "mx-image-face-swap", "video2video": "mx-v2v"}
STATUS = {
    "queued": "pending",
    "running": "processing",
    "succeeded": "success",
    "failed": "failed",
    "canceled": "failed",  # GoEnhance has no canceled state
}
TOKENS = 4207


class GoEnhance(Provider):
    name = "goenhance"
    auth_scheme = "Bearer"

    def routes(self) -> list[RouteSpec]:
        return [
            RouteSpec("GET", "/api/v1/jobs/detail", "status", self.detail, job_param="?img_uuid"),
            RouteSpec("POST", "/api/v1/imagefaceswap/generate", "create", self.create_faceswap),
            RouteSpec("POST", "/api/v1/video2video/generate", "create", self.create_v2v),
            RouteSpec("GET", "/api/v1/user/tokens", "test", self.tokens),
        ]

    def unauthorized(self, reason: str) -> Response:
        return json_response({"code": 401, "msg": "Token is required"}, 401)

    def error(self, status: int, message: str, retry_after: int | None = None) -> Response:
        return json_response({"code": status, "msg": message}, status, retry_headers(retry_after))

    def not_found(self) -> Response:
        return json_response({"code": 404, "msg": "not found", "data": None}, 404)

    def view(self, ctx: Ctx, job: Job) -> dict[str, object]:
        phase = job.observe(ctx.now, ctx.flap)
        args = job.request.get("args") if isinstance(job.request.get("args"), dict) else {}
        job_type = JOB_TYPES[job.kind]
        model = args.get("model") if isinstance(args, dict) else None
        data: dict[str, object] = {
            "img_uuid": job.id,
            "img_url": "",
            "status": STATUS[phase.state],
            "type": job_type,
            "start_time": iso(job.created_at),
            "model_id": str(model) if model is not None else ("-1" if job.kind == "faceswap" else "7"),
            "json": None,
            "job_type": job_type,
            "mode": 0,
            "params": json.dumps(args, separators=(",", ":")),
        }
        if phase.finished_at is not None:
            data["end_time"] = iso(phase.finished_at)
        if phase.state == "succeeded" and phase.finished_at is not None:
            outputs = ctx.output_urls(job, phase.finished_at + job.url_lifetime(URL_LIFETIME_S))
            data["json"] = [{"type": kind, "value": url} for kind, url in outputs]
            data["img_url"] = outputs[0][1] if outputs else ""
        return data

    async def detail(self, ctx: Ctx) -> Response:
        if not ctx.job_id:
            return json_response({"code": 400, "msg": "img_uuid is required", "data": None})
        job = ctx.rt.state.get_job(self.name, ctx.job_id)
        if job is None:
            return json_response({"code": 404, "msg": "job not found", "data": None})
        return json_response({"code": 0, "msg": "Success", "data": self.view(ctx, job)})

    async def create(self, ctx: Ctx, kind: str) -> Response:
        body, script = ctx.script()
        if ctx.json_object() is None:
            return json_response({"code": 400, "msg": "request body must be a JSON object"})
        if not isinstance(body.get("args"), dict) or not body.get("type"):
            return json_response({"code": 400, "msg": "args and type are required"})
        job = ctx.rt.state.create_job(self.name, kind=kind, script={**script, "kind": kind}, request=body)
        return json_response({"code": 0, "msg": "success", "data": {"img_uuid": job.id}})

    async def create_faceswap(self, ctx: Ctx) -> Response:
        return await self.create(ctx, "faceswap")

    async def create_v2v(self, ctx: Ctx) -> Response:
        return await self.create(ctx, "video2video")

    async def tokens(self, ctx: Ctx) -> Response:
        return json_response({"code": 0, "msg": "success", "data": {"count": TOKENS}})
