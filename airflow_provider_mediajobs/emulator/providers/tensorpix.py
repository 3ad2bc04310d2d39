"""TensorPix: DRF style, integer ids and statuses, full ``Job`` objects, URLs re-signed on every read."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import URL
from starlette.responses import Response

from ..runtime import Ctx, RouteSpec, iso, json_response
from ..state import Job
from ..uploads import Upload, upload_url
from .base import Provider, retry_headers
from .tensorpix_requests import MODELS, ml_model, number_errors, options_errors, url_errors

URL_LIFETIME_S = 2 * 3600
STATUS = {"queued": 0, "running": 1, "succeeded": 2, "failed": -1, "canceled": -2}
OWNER_EMAIL = "emulator@mediajobs.invalid"
OWNER_ID = 4242
BALANCE = 1250.0
UPLOAD_PROCESSING_S = 10.0  # emulated seconds an uploaded video stays ``file: null``
VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "mkv": "video/x-matroska", "webm": "video/webm"}


def drf_error(status: int, detail: Any, retry_after: int | None = None) -> Response:
    body = detail if isinstance(detail, dict) else {"detail": detail}
    return json_response(body, status, retry_headers(retry_after))


def _size(resolution: int) -> tuple[int, int]:
    width = 1280 if resolution == -1 else resolution
    return width, max(64, width * 9 // 16)


class TensorPix(Provider):
    auth_scheme = "Token"
    kinds = ("enhance",)
    default_outputs = {"enhance": ("video",)}
    integer_ids = True

    def routes(self) -> list[RouteSpec]:
        return [
            RouteSpec("GET", "/api/jobs/{job_id:digits}/", "status", self.get_job, "job_id"),
            RouteSpec("DELETE", "/api/jobs/{job_id:digits}/", "cancel", self.delete_job, "job_id"),
            RouteSpec("POST", "/api/jobs/from-url/", "create", self.create),
            RouteSpec("POST", "/api/jobs/", "create", self.create_from_upload),
            RouteSpec("GET", "/api/jobs/", "lookup", self.list_jobs),
            RouteSpec("GET", "/api/ml-models/", "lookup", self.ml_models),
            RouteSpec("GET", "/api/accounts/profile/balance/", "test", self.balance),
            RouteSpec("POST", "/api/videos/", "upload", self.upload_video),
            RouteSpec("GET", "/api/videos/{video_id:digits}/", "lookup", self.get_video, "video_id"),
        ]

    def unauthorized(self, reason: str) -> Response:
        detail = "Authentication credentials were not provided." if "missing" in reason else "Invalid token."
        return json_response({"detail": detail}, 401, {"WWW-Authenticate": "Token"})

    def error(self, status: int, message: str, retry_after: int | None = None) -> Response:
        if status == 429:
            message = f"Request was throttled. Expected available in {max(1, retry_after or 1)} seconds."
        return drf_error(status, message, retry_after)

    def not_found(self) -> Response:
        return drf_error(404, "Not found.")

    def method_not_allowed(self, method: str, allowed: list[str]) -> Response:
        """Django REST Framework: ``OPTIONS`` answers the view's metadata, any other method 405 with
        its ``detail`` and an ``Allow`` header listing the view's methods (``OPTIONS`` included)."""
        allow = ", ".join([*allowed, "OPTIONS"])
        if method == "OPTIONS":
            metadata = {
                "name": "Emulated TensorPix view",
                "description": "",
                "renders": ["application/json"],
                "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
            }
            return json_response(metadata, 200, {"Allow": allow})
        return json_response({"detail": f'Method "{method}" not allowed.'}, 405, {"Allow": allow})

    def _job(self, ctx: Ctx) -> Job | None:
        if not (ctx.job_id or "").isdigit():
            return None
        return ctx.rt.state.get_job(self.name, ctx.job_id)

    def _signed_expiry(self, ctx: Ctx, job: Job) -> int:
        """A fresh expiry on every read (strictly increasing, so each read gets a new URL)."""
        with ctx.rt.state.lock:
            expires = max(int(ctx.now + job.url_lifetime(URL_LIFETIME_S)), job.last_expires + 1)
            job.last_expires = expires
            return expires

    def view(self, ctx: Ctx, job: Job) -> dict[str, Any]:
        phase = job.observe(ctx.now, ctx.flap)
        req = job.request
        resolution = req.get("output_resolution", 1920)
        url = str(req.get("url") or "https://example.invalid/input.mp4")
        if phase.state == "running":
            progress = round(phase.progress, 4)
        elif phase.state == "succeeded":
            progress = 1.0
        elif phase.finished_at is not None and phase.finished_at > phase.started_at:
            progress = round(job.phase(phase.finished_at - 1e-6).progress, 4)
        else:
            progress = 0.0
        number = int(job.id)
        width, height = _size(resolution)
        output = None
        if phase.state == "succeeded" and phase.finished_at is not None:
            name = job.output_names()[0]
            output = {
                "id": number * 10 + 1,
                "job_id": number,
                "preview_videos": {"before_video": None, "after_video": None},
                "name": name,
                "created_at": iso(phase.finished_at, 6),
                "deleted": None,
                "framerate": 30.0,
                "n_frames": 300,
                "bitrate": 8_000_000,
                "codec_id": "avc1" if req.get("codec", "libx264") == "libx264" else "hvc1",
                "bit_depth": 8,
                "chroma_subsampling": "4:2:0",
                "color_space": "bt709",
                "size": max(100, job.output_bytes),
                "file": ctx.cdn_url(job, name, self._signed_expiry(ctx, job)),
                "thumbnail": None,
                "width": width,
                "height": height,
                "quality_score": None,
                "owner": OWNER_ID,
            }
        upload = self._input_upload(ctx, job)
        input_video = self.video_view(ctx, upload) if upload is not None else self._url_video(job, url)
        return {
            "id": number,
            "started": iso(job.created_at, 6),
            "preview": bool(req.get("preview", False)),
            "description": str(req.get("description", "")),
            "cost_usd": f"{job.cost:.4f}",
            "status": STATUS[phase.state],
            "eta_s": round(max(0.0, ctx.rt.state.real_seconds(phase.remaining_s)), 1),
            "finished": iso(phase.finished_at, 6) if phase.finished_at is not None else None,
            "processing_progress": progress,
            "input_video": input_video,
            "output_video": output,
            "ml_models": [ml_model(m) for m in req.get("ml_models", []) if isinstance(m, int)],
            "grain": float(req.get("grain", 0.0)),
            "codec": req.get("codec", "libx264"),
            "output_resolution": resolution,
            "comparison": bool(req.get("comparison", False)),
            "stabilization_smoothing": int(req.get("stabilization_smoothing", 0)),
            "fps_interpolation_factor": float(req.get("fps_interpolation_factor", 1.0)),
            "playback_speed": float(req.get("playback_speed", 1.0)),
            "sharpen_strength": float(req.get("sharpen_strength", 0.0)),
            "start_frame": req.get("start_frame"),
            "end_frame": req.get("end_frame"),
        }

    def _input_upload(self, ctx: Ctx, job: Job) -> Upload | None:
        video_id = job.request.get("input_video")
        return ctx.rt.uploads.get(self.name, video_id) if video_id is not None else None

    def _url_video(self, job: Job, url: str) -> dict[str, Any]:
        """The input Video of a job created from a URL (metadata made up: nothing is downloaded)."""
        number = int(job.id)
        return {
            "id": number * 10,
            "name": url.rstrip("/").rsplit("/", 1)[-1] or "input.mp4",
            "width": 1280,
            "height": 720,
            "created_at": iso(job.created_at, 6),
            "n_frames": 300,
            "framerate": 30.0,
            "size": None,
            "file": None,
            "owner": OWNER_EMAIL,
            "thumbnail": None,
            "external_url": url,
            "bitrate": 4_000_000,
            "codec_id": "avc1",
            "bit_depth": 8,
            "chroma_subsampling": "4:2:0",
            "color_space": "bt709",
        }

    async def get_job(self, ctx: Ctx) -> Response:
        job = self._job(ctx)
        if job is None:
            return self.not_found()
        return json_response(self.view(ctx, job))

    async def delete_job(self, ctx: Ctx) -> Response:
        job = self._job(ctx)
        if job is None:
            return self.not_found()
        before = ctx.rt.state.cancel(job)
        if before.state == "canceled":
            return drf_error(409, "Job is already canceled.")
        if before.terminal:
            return drf_error(400, "Job is already finished and cannot be stopped.")
        return Response(status_code=204)

    async def create(self, ctx: Ctx) -> Response:
        """``POST /api/jobs/from-url/``: ``url`` plus the Job options → 201 with the Job."""
        return await self._create(ctx, url_errors)

    async def create_from_upload(self, ctx: Ctx) -> Response:
        """``POST /api/jobs/`` ([3P]): ``input_video`` (the id ``POST /api/videos/`` answered, once
        processed) plus the Job options → 201 with the Job."""
        return await self._create(ctx, lambda body: self._input_video_errors(ctx, body))

    def _input_video_errors(self, ctx: Ctx, body: dict[str, Any]) -> dict[str, list[str]]:
        video_id = body.get("input_video")
        if video_id is None or video_id == "":
            return {"input_video": ["This field is required."]}
        if isinstance(video_id, bool) or not isinstance(video_id, (int, str)) or not str(video_id).isdigit():
            return {
                "input_video": [f"Incorrect type. Expected pk value, received {type(video_id).__name__}."]
            }
        upload = ctx.rt.uploads.get(self.name, str(int(video_id)))
        if upload is None:
            return {"input_video": [f'Invalid pk "{video_id}" - object does not exist.']}
        if upload.data is None or ctx.now < upload.ready_at:
            return {"input_video": ["The video is still being processed; wait until its file is set."]}
        return {}

    async def _create(self, ctx: Ctx, source_errors: Any) -> Response:
        body, script = ctx.script()
        if ctx.json_object() is None:
            return drf_error(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
        errors = {**source_errors(body), **options_errors(body)}
        if errors:
            return drf_error(400, errors)
        errors = number_errors(body)
        if errors:
            return drf_error(400, errors)
        if body.get("input_video") is not None:
            body["input_video"] = int(body["input_video"])
        job = ctx.rt.state.create_job(self.name, kind="enhance", script=script, request=body)
        return json_response(self.view(ctx, job), 201)

    async def list_jobs(self, ctx: Ctx) -> Response:
        """``GET /api/jobs/`` [C]: the account's jobs, newest first, paginated."""
        with ctx.rt.state.lock:
            jobs = sorted(ctx.rt.state.jobs[self.name].values(), key=lambda job: -int(job.id))
        return json_response(paginate(ctx, [self.view(ctx, job) for job in jobs]))

    async def ml_models(self, ctx: Ctx) -> Response:
        """The models ([3P] route), paginated as DRF's limit/offset: ``{count, next, previous, results}``."""
        models = [ml_model(model_id) for model_id in sorted(MODELS)]
        return json_response(paginate(ctx, models))

    async def balance(self, ctx: Ctx) -> Response:
        return json_response({"balance": BALANCE})

    def video_view(self, ctx: Ctx, upload: Upload) -> dict[str, Any]:
        """The Video schema; ``file`` is null until processed, then a URL re-signed on every read."""
        ready = ctx.now >= upload.ready_at and upload.data is not None
        file_url = None
        if ready:
            expires = int(ctx.now + URL_LIFETIME_S)
            file_url = upload_url(ctx.rt, ctx.base, upload, "get", expires)
        return {
            "id": int(upload.id),
            "name": upload.name,
            "width": None,  # the emulator does not decode what was uploaded
            "height": None,
            "created_at": iso(upload.created_at, 6),
            "n_frames": None,
            "framerate": None,
            "size": len(upload.data) if upload.data is not None else None,
            "file": file_url,
            "owner": OWNER_EMAIL,
            "thumbnail": None,
            "external_url": None,
            "bitrate": None,
            "codec_id": None,
            "bit_depth": None,
            "chroma_subsampling": None,
            "color_space": None,
        }

    async def upload_video(self, ctx: Ctx) -> Response:
        """Multipart ``file`` -> 201 with the Video (``file: null`` while it is processed)."""
        try:
            form = await ctx.form()
        except ValueError:
            return drf_error(
                400, {"file": ["The submitted data was not a file. Check the encoding type on the form."]}
            )
        item = form.get("file")
        if item is None or isinstance(item, str):
            return drf_error(400, {"file": ["No file was submitted."]})
        data = await item.read()
        await form.close()
        if not data:
            return drf_error(400, {"file": ["The submitted file is empty."]})
        name = (item.filename or "upload.mp4").replace("/", "_").replace("\\", "_")[:200]
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        upload = ctx.rt.uploads.create(
            self.name, name, ctx.now, UPLOAD_PROCESSING_S, sequential=self.integer_ids
        )
        if not ctx.rt.uploads.store(upload, data, VIDEO_TYPES.get(ext, item.content_type)):
            return drf_error(400, "Storage quota exceeded.")
        return json_response(self.video_view(ctx, upload), 201)

    async def get_video(self, ctx: Ctx) -> Response:
        upload = ctx.rt.uploads.get(self.name, ctx.job_id) if (ctx.job_id or "").isdigit() else None
        if upload is None:
            return self.not_found()
        return json_response(self.video_view(ctx, upload))


def paginate(ctx: Ctx, items: list[dict[str, Any]], default_limit: int = 100) -> dict[str, Any]:
    """DRF ``LimitOffsetPagination`` of ``items`` by the ``limit``/``offset`` query parameters."""
    query = ctx.request.query_params

    def number(name: str, default: int) -> int:
        text = query.get(name, "")
        return int(text) if text.isdigit() else default

    limit = max(1, min(number("limit", default_limit), 1000))
    offset = number("offset", 0)
    url = URL(str(ctx.request.url))
    following = None
    if offset + limit < len(items):
        following = str(url.include_query_params(limit=limit, offset=offset + limit))
    previous = None
    if offset > 0:
        before = max(0, offset - limit)
        previous = str(
            url.include_query_params(limit=limit, offset=before)
            if before
            else url.include_query_params(limit=limit).remove_query_params("offset")
        )
    return {
        "count": len(items),
        "next": following,
        "previous": previous,
        "results": items[offset : offset + limit],
    }
