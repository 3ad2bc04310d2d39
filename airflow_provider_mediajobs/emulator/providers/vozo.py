"""Vozo: lipsync (``/v1/video_generation``) and translate & dub (``/v1/media/translate``)."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response

from ..runtime import Ctx, RouteSpec, json_response
from ..state import Job
from .base import Provider, retry_headers

URL_LIFETIME_S = 24 * 3600
LIPSYNC_FIELDS = ("reference_file_url", "audio_url", "model", "reference_file_type")
REUSABLE_FIELDS = ("model_id", "audio_url")  # reusable lip-sync: a model from an earlier job + new speech
TRANSLATE_FIELDS = ("media_type", "media_url", "source_language", "target_language", "export_type")
TRANSLATE_STAGES = ("preprocessing", "transcribing", "translating", "dubbing", "rendering")
LIPSYNC_STATUS = {
    "queued": "pending",
    "running": "processing",
    "succeeded": "done",
    "failed": "failed",
    "canceled": "failed",
}
ERROR_CODES = {400: "5", 401: "1302", 403: "7", 404: "404", 429: "429", 500: "1000", 502: "1000", 503: "1000"}
RESULT_KEYS = {"video": "video_url", "audio": "audio_url", "subtitle": "subtitle_url"}


def vozo_error(
    status: int, message: str, code: str | None = None, retry_after: int | None = None
) -> Response:
    body = {
        "code": code or ERROR_CODES.get(status, str(status)),
        "message": message,
        "serverTs": str(int(time.time() * 1000)),
    }
    return json_response(body, status, retry_headers(retry_after))


def _err_code(job: Job) -> int | str:
    code = job.failure_code or "999"
    return int(code) if code.isdigit() else code


class Vozo(Provider):
    name = "vozo"
    auth_scheme = "Bearer"

    def routes(self) -> list[RouteSpec]:
        return [
            RouteSpec("GET", "/v1/video_generation/{job_id}", "status", self.lipsync_status, "job_id"),
            RouteSpec("POST", "/v1/video_generation", "create", self.create_lipsync),
            RouteSpec(
                "POST", "/v1/reusable_lipsync_model_video_generation", "create", self.create_reusable_lipsync
            ),
            RouteSpec("GET", "/v1/media/translate/{job_id}", "status", self.translate_status, "job_id"),
            RouteSpec("POST", "/v1/media/translate", "create", self.create_translate),
        ]

    def unauthorized(self, reason: str) -> Response:
        return vozo_error(401, "API key has been revoked or is invalid", "1302")

    def error(self, status: int, message: str, retry_after: int | None = None) -> Response:
        return vozo_error(status, message, retry_after=retry_after)

    def _job(self, ctx: Ctx, *kinds: str) -> Job | None:
        job = ctx.rt.state.get_job(self.name, ctx.job_id)
        return job if job is not None and job.kind in kinds else None

    async def lipsync_status(self, ctx: Ctx) -> Response:
        # reusable lip-sync jobs are video generations too (their own status route is not documented)
        job = self._job(ctx, "lipsync", "reusable_lipsync")
        if job is None:
            return vozo_error(404, "task not found", "404")
        phase = job.observe(ctx.now, ctx.flap)
        out: dict[str, Any] = {"status": LIPSYNC_STATUS[phase.state]}
        if phase.state == "succeeded" and phase.finished_at is not None:
            urls = ctx.output_urls(job, phase.finished_at + job.url_lifetime(URL_LIFETIME_S))
            videos = [url for kind, url in urls if kind == "video"] or [url for _, url in urls]
            if videos:
                out["video_url"] = videos[0]
        return json_response(out)

    async def translate_status(self, ctx: Ctx) -> Response:
        job = self._job(ctx, "translate")
        if job is None:
            return vozo_error(404, "task not found", "404")
        phase = job.observe(ctx.now, ctx.flap)
        out: dict[str, Any] = {"status": "", "err_code": 0, "err_message": "", "result": None}
        if phase.state == "queued":
            out["status"] = "queuing"
        elif phase.state == "running":
            index = min(len(TRANSLATE_STAGES) - 1, int(phase.progress * len(TRANSLATE_STAGES)))
            out["status"] = TRANSLATE_STAGES[index]
        elif phase.state == "succeeded" and phase.finished_at is not None:
            out["status"] = "done"
            result: dict[str, str | None] = {key: None for key in RESULT_KEYS.values()}
            for kind, url in ctx.output_urls(job, phase.finished_at + job.url_lifetime(URL_LIFETIME_S)):
                key = RESULT_KEYS.get(kind, "video_url")
                result[key] = result[key] or url
            out["result"] = result
        else:
            out["status"] = "failed"
            out["err_code"] = _err_code(job)
            out["err_message"] = job.failure_reason if phase.state == "failed" else "task canceled"
        return json_response(out)

    async def _create(self, ctx: Ctx, kind: str, required: tuple[str, ...]) -> Response:
        body, script = ctx.script()
        if ctx.json_object() is None:
            return vozo_error(400, "invalid params: body must be a JSON object", "5")
        missing = [name for name in required if not body.get(name)]
        if missing:
            return vozo_error(400, f"invalid params: missing {', '.join(missing)}", "5")
        defaults = _translate_outputs(body) if kind == "translate" else None
        job = ctx.rt.state.create_job(
            self.name, kind=kind, script={**script, "kind": kind}, request=body, default_outputs=defaults
        )
        return json_response({"task_id": job.id})

    async def create_lipsync(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "lipsync", LIPSYNC_FIELDS)

    async def create_reusable_lipsync(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "reusable_lipsync", REUSABLE_FIELDS)

    async def create_translate(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "translate", TRANSLATE_FIELDS)


def _translate_outputs(body: dict[str, Any]) -> list[str]:
    export = str(body.get("export_type", "auto"))
    if body.get("media_type") == "audio" or export == "audio":
        return ["audio", "subtitle"]
    if export == "video":
        return ["video", "subtitle"]
    return ["video", "audio", "subtitle"]
