"""GoEnhance: ``{code, msg, data}`` envelopes, ``img_uuid`` in the query string, 12 h output URLs.

A succeeded job answers ``success`` (the schema) or ``completed`` (the guide's prose), per the
``success_status`` option or script field."""

from __future__ import annotations

import json

from starlette.responses import Response

from ..runtime import Ctx, RouteSpec, iso, json_response
from ..state import Job
from ..validate import choice_problem, is_int, url_problem
from .base import Provider, retry_headers

URL_LIFETIME_S = 12 * 3600
JOB_TYPES = {"faceswap": "mx-image-face-swap", "video2video": "mx-v2v"}
STATUS = {
    "queued": "pending",
    "running": "processing",
    "failed": "failed",
    "canceled": "failed",  # GoEnhance has no canceled state
}  # "succeeded": the job's / the option's spelling (Provider.success_statuses)
TOKENS = 4207
V2V_RESOLUTIONS = ("540p", "720p")
V2V_DURATION_S = (3, 30)
MAX_PROMPT = 500
# The video-to-video style list, [3P]: data[].list[] of {value, label, version, isVip, url}.
STYLES: tuple[tuple[str, tuple[tuple[int, str, bool], ...]], ...] = (
    ("Anime", ((2000, "Anime Style", False), (2001, "Japanese Anime", False), (2002, "Ghibli", True))),
    ("Art", ((2010, "Oil Painting", False), (2011, "Pixel Art", True))),
    ("3D", ((2020, "Clay", False), (2021, "3D Cartoon", False))),
)
STYLE_IDS = frozenset(value for _, entries in STYLES for value, _, _ in entries)
MODELLIST_URL_LIFETIME_S = 24 * 3600


class GoEnhance(Provider):
    auth_scheme = "Bearer"
    kinds = ("faceswap", "video2video")
    default_outputs = {"faceswap": ("image",), "video2video": ("video",)}
    success_statuses = ("success", "completed")

    def routes(self) -> list[RouteSpec]:
        return [
            RouteSpec("GET", "/api/v1/jobs/detail", "status", self.detail, job_param="?img_uuid"),
            RouteSpec("POST", "/api/v1/imagefaceswap/generate", "create", self.create_faceswap),
            RouteSpec("POST", "/api/v1/video2video/generate", "create", self.create_v2v),
            RouteSpec("GET", "/api/v1/video2video/modellist", "lookup", self.modellist),
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
            "status": ctx.rt.success_spelling(job) if phase.state == "succeeded" else STATUS[phase.state],
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
        problem = _create_problem(kind, body)
        if problem is not None:
            return json_response({"code": 400, "msg": problem, "data": None})
        job = ctx.rt.state.create_job(self.name, kind=kind, script={**script, "kind": kind}, request=body)
        return json_response({"code": 0, "msg": "success", "data": {"img_uuid": job.id}})

    async def create_faceswap(self, ctx: Ctx) -> Response:
        return await self.create(ctx, "faceswap")

    async def create_v2v(self, ctx: Ctx) -> Response:
        return await self.create(ctx, "video2video")

    async def modellist(self, ctx: Ctx) -> Response:
        """The v2v styles ([3P] shape): ``data[].list[]`` of ``{value, label, version, isVip, url}``."""
        expires = ctx.now + MODELLIST_URL_LIFETIME_S
        groups = [
            {
                "label": group,
                "list": [
                    {
                        "value": value,
                        "label": label,
                        "version": "v1",
                        "isVip": vip,
                        "url": ctx.rt.signer.url(ctx.base, self.name, "styles", f"{value}.png", int(expires)),
                    }
                    for value, label, vip in entries
                ],
            }
            for group, entries in STYLES
        ]
        return json_response({"code": 0, "msg": "success", "data": groups})

    async def tokens(self, ctx: Ctx) -> Response:
        return json_response({"code": 0, "msg": "success", "data": {"count": TOKENS}})


def _create_problem(kind: str, body: dict[str, object]) -> str | None:
    """What is wrong with a create body (documented face-swap args; [3P] v2v args), naming the field."""
    job_type = JOB_TYPES[kind]
    args = body.get("args")
    if not isinstance(args, dict):
        return "args is required (an object)"
    if body.get("type") != job_type:
        return f"type must be {job_type!r} on this route (got {body.get('type')!r})"
    if kind == "faceswap":
        return url_problem("args.reference_img", args.get("reference_img")) or url_problem(
            "args.source_img", args.get("source_img")
        )
    problem = url_problem("args.reference_video_url", args.get("reference_video_url"))
    if problem:
        return problem
    model = args.get("model")
    if model is None:
        return "args.model is required (a style id from /api/v1/video2video/modellist)"
    if not is_int(model) or model not in STYLE_IDS:
        return f"args.model {model!r} is not a style id from /api/v1/video2video/modellist"
    duration = args.get("duration")
    low, high = V2V_DURATION_S
    if duration is not None and (not is_int(duration) or not low <= duration <= high):
        return f"args.duration must be an integer {low}..{high} (seconds)"
    if "resolution" in args:
        problem = choice_problem("args.resolution", args["resolution"], V2V_RESOLUTIONS)
        if problem:
            return problem
    if "seed" in args and not is_int(args["seed"]):
        return "args.seed must be an integer (-1: random)"
    prompt = args.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > MAX_PROMPT):
        return f"args.prompt must be a string of at most {MAX_PROMPT} characters"
    return None
