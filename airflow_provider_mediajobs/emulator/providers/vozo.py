"""Vozo: lipsync (``/v1/video_generation``) and translate & dub (``/v1/media/translate``)."""

from __future__ import annotations

import random
import time
from typing import Any

from starlette.responses import Response

from ..runtime import Ctx, RouteSpec, json_response
from ..state import Job
from ..validate import LANGUAGE, choice_problem, is_int, is_number, required_problem, url_problem
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
LIPSYNC_MODELS = ("standard_v1", "precision_v1")
REFERENCE_TYPES = ("video", "image")
MEDIA_TYPES = ("video", "audio")
EXPORT_TYPES = ("auto", "video", "audio", "all")
AUDIO_EXPORT_TYPES = ("auto", "audio")
SUBTITLE_USAGE = ("original", "final_translated")
PROJECT_MODES = ("none", "editable")


def lipsync_problem(body: dict[str, Any]) -> str | None:
    """The documented lip-sync body: two URLs, a model and the reference type (+ ``callback_url``)."""
    return (
        required_problem(body, LIPSYNC_FIELDS)
        or url_problem("reference_file_url", body["reference_file_url"])
        or url_problem("audio_url", body["audio_url"])
        or choice_problem("model", body["model"], LIPSYNC_MODELS)
        or choice_problem("reference_file_type", body["reference_file_type"], REFERENCE_TYPES)
        or _callback_problem(body)
    )


def reusable_lipsync_problem(body: dict[str, Any]) -> str | None:
    """The documented reusable lip-sync body: a model id from an earlier job and the new speech."""
    found = required_problem(body, REUSABLE_FIELDS)
    if found:
        return found
    if not isinstance(body["model_id"], str):
        return "model_id must be a string"
    return url_problem("audio_url", body["audio_url"]) or _callback_problem(body)


def translate_problem(body: dict[str, Any]) -> str | None:
    """The documented translate & dub body: required fields and enums, then the optional ones."""
    found = (
        required_problem(body, TRANSLATE_FIELDS)
        or choice_problem("media_type", body["media_type"], MEDIA_TYPES)
        or url_problem("media_url", body["media_url"])
        or _language_problem("source_language", body["source_language"], allow_auto=True)
        or _language_problem("target_language", body["target_language"], allow_auto=False)
    )
    if found:
        return found
    exports = AUDIO_EXPORT_TYPES if body["media_type"] == "audio" else EXPORT_TYPES
    found = choice_problem("export_type", body["export_type"], exports)
    if found:
        return found
    if body.get("subtitle_url") is not None:
        found = url_problem("subtitle_url", body["subtitle_url"])
        if found:
            return found
        if body.get("ocr_text_box") is not None:
            return "subtitle_url and ocr_text_box exclude each other"
    for key, choices in (("subtitle_usage_type", SUBTITLE_USAGE), ("project_mode", PROJECT_MODES)):
        if body.get(key) is not None:
            found = choice_problem(key, body[key], choices)
            if found:
                return found
    return (
        _box_problem(body.get("ocr_text_box"))
        or _speakers_problem(body.get("speaker_number"))
        or (
            "user_prompt must be a string"
            if body.get("user_prompt") is not None and not isinstance(body["user_prompt"], str)
            else _callback_problem(body)
        )
    )


def _callback_problem(body: dict[str, Any]) -> str | None:
    return url_problem("callback_url", body["callback_url"]) if body.get("callback_url") is not None else None


def _language_problem(name: str, value: Any, *, allow_auto: bool) -> str | None:
    if allow_auto and value == "auto":
        return None
    if not isinstance(value, str) or not LANGUAGE.match(value):
        wanted = "auto or a language code" if allow_auto else "a language code"
        return f"{name} must be {wanted} such as en or zh-CN (got {value!r})"
    return None


def _box_problem(box: Any) -> str | None:
    if box is None:
        return None
    if not isinstance(box, dict):
        return "ocr_text_box must be an object {x, y, width, height}"
    for key in ("x", "y", "width", "height"):
        if not is_number(box.get(key)) or not 0 <= box[key] <= 1:
            return f"ocr_text_box.{key} must be a number within 0..1"
    return None


def _speakers_problem(speakers: Any) -> str | None:
    if speakers is None:
        return None
    if not isinstance(speakers, dict):
        return "speaker_number must be an object {min, max}"
    for key in ("min", "max"):
        if key in speakers and (not is_int(speakers[key]) or speakers[key] < 1):
            return f"speaker_number.{key} must be a positive integer"
    if is_int(speakers.get("min")) and is_int(speakers.get("max")) and speakers["min"] > speakers["max"]:
        return "speaker_number.min must not exceed speaker_number.max"
    return None


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
    auth_scheme = "Bearer"
    kinds = ("lipsync", "translate", "reusable_lipsync")
    default_outputs = {
        "lipsync": ("video",),
        "translate": ("video", "audio", "subtitle"),
        "reusable_lipsync": ("video",),
    }

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

    def new_job_id(self, rng: random.Random, last: str | None) -> str:
        return f"{rng.getrandbits(96):024x}"

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

    async def _create(self, ctx: Ctx, kind: str, problem: Any) -> Response:
        body, script = ctx.script()
        if ctx.json_object() is None:
            return vozo_error(400, "invalid params: body must be a JSON object", "5")
        found = problem(body)
        if found is not None:
            return vozo_error(400, f"invalid params: {found}", "5")
        defaults = _translate_outputs(body) if kind == "translate" else None
        job = ctx.rt.state.create_job(
            self.name, kind=kind, script={**script, "kind": kind}, request=body, default_outputs=defaults
        )
        return json_response({"task_id": job.id})

    async def create_lipsync(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "lipsync", lipsync_problem)

    async def create_reusable_lipsync(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "reusable_lipsync", reusable_lipsync_problem)

    async def create_translate(self, ctx: Ctx) -> Response:
        return await self._create(ctx, "translate", translate_problem)


def _translate_outputs(body: dict[str, Any]) -> list[str]:
    export = str(body.get("export_type", "auto"))
    if body.get("media_type") == "audio" or export == "audio":
        return ["audio", "subtitle"]
    if export == "video":
        return ["video", "subtitle"]
    return ["video", "audio", "subtitle"]
