"""Test-side helpers for the emulator tests, written from the providers' documents.

Nothing here comes from ``airflow_provider_mediajobs`` but the provider names (the registry's list;
only the emulator itself is imported by the tests): the JSON-Schemas are transcribed from ``tests/seeds/*.md`` (plus the shapes the
contract in ``docs/emulator.md`` adds), and the TAMS signer is a minimal one written from the
TAMS signature page (see ``/work/shared/research/provider-apis.md`` B2).
"""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import jsonschema
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from airflow_provider_mediajobs.dialects.registry import get_dialect

DEFAULT_KEYS = {
    "goenhance": "goenhance-emulator-key",
    "tensorart": "tensorart-emulator-key",
    "vozo": "vozo-emulator-key",
    "tensorpix": "tensorpix-emulator-key",
}
TAMS_APP_ID = "emulator-app"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# --------------------------------------------------------------------------------------------
# Format checks: jsonschema only checks formats whose optional dependencies are installed, so the
# three the seeds use are checked here explicitly.
# --------------------------------------------------------------------------------------------
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    if "T" not in value and " " not in value:
        raise ValueError(f"not a date-time: {value!r}")
    return True


@FORMATS.checks("uri", raises=ValueError)
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URI: {value!r}")
    return True


@FORMATS.checks("email", raises=ValueError)
def _is_email(value: object) -> bool:
    if isinstance(value, str) and "@" not in value:
        raise ValueError(f"not an e-mail address: {value!r}")
    return True


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` (with the path) if ``instance`` breaks ``schema``."""
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(instance)


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
DIGITS = {"type": "string", "pattern": r"^[0-9]+$"}  # TAMS 64-bit integers travel as JSON strings

# --------------------------------------------------------------------------------------------
# GoEnhance: seeds/goenhance-job-detail.openapi.md (+ contract: json is null until success,
# end_time once finished).
# --------------------------------------------------------------------------------------------
GOENHANCE_STATUSES = ["success", "failed", "processing", "pending"]
GOENHANCE_DETAIL = {
    "type": "object",
    "required": ["code", "msg", "data"],
    "properties": {
        "code": {"type": "integer", "const": 0},
        "msg": STR,
        "data": {
            "type": "object",
            "required": [
                "img_uuid",
                "img_url",
                "status",
                "type",
                "start_time",
                "model_id",
                "json",
                "job_type",
                "mode",
                "params",
            ],
            "properties": {
                "img_uuid": STR,
                "img_url": STR,
                "status": {"type": "string", "enum": GOENHANCE_STATUSES},
                "type": STR,
                "start_time": {"type": "string", "format": "date-time"},
                "end_time": {"type": ["string", "null"], "format": "date-time"},
                "model_id": STR,
                "json": {
                    "type": ["array", "null"],
                    "items": {
                        "type": "object",
                        "required": ["type", "value"],
                        "properties": {"type": {"enum": ["image", "video"]}, "value": STR},
                    },
                },
                "job_type": STR,
                "mode": INT,
                "params": STR,
            },
        },
    },
}
GOENHANCE_ERROR = {
    "type": "object",
    "required": ["code", "msg"],
    "properties": {"code": INT, "msg": STR},
}

# --------------------------------------------------------------------------------------------
# TensorArt TAMS: seeds/tensorart-tams-get-job.reference.md (+ contract: 64-bit ids as strings).
# --------------------------------------------------------------------------------------------
TAMS_STATUSES = ["DEFAULT", "CREATED", "PENDING", "RUNNING", "CANCELED", "SUCCESS", "FAILED", "WAITING"]
_TAMS_META = {
    "type": "object",
    "properties": {
        "image": {
            "type": "object",
            "properties": {"format": STR, "width": INT, "height": INT},
        }
    },
}
TAMS_RESOURCE = {
    "type": "object",
    "required": ["id", "url", "expiredIn", "meta"],
    "properties": {"id": STR, "url": STR, "expiredIn": DIGITS, "meta": _TAMS_META},
}
_TAMS_WORKFLOW_ITEM = {
    "type": "object",
    "properties": {
        "status": {"enum": ["DEFAULT", "INIT", "RUNNING", "SUCCESS", "FAILED"]},
        "progress": NUM,
        "step": NUM,
        "id": STR,
        "ctime": STR,
        "mtime": STR,
        "nodes": {"type": "object"},
        "finishedNodes": {"type": "object"},
    },
}
TAMS_JOB = {
    "type": "object",
    "required": ["job"],
    "properties": {
        "job": {
            "type": "object",
            "required": ["id", "status"],
            "properties": {
                "id": DIGITS,
                "status": {"enum": TAMS_STATUSES},
                "credits": NUM,
                "waitingInfo": {
                    "type": "object",
                    "properties": {"queueRank": DIGITS, "queueLen": DIGITS},
                },
                "failedInfo": {
                    "type": "object",
                    "properties": {
                        "reason": STR,
                        "code": {"enum": ["DEFAULT", "TRANSITORY_ERROR", "FATAL_ERROR"]},
                    },
                },
                "runningInfo": {
                    "type": "object",
                    "properties": {
                        "processingImages": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "resourceImage": {
                                        "type": "object",
                                        "properties": {
                                            "id": STR,
                                            "url": STR,
                                            "expiredIn": DIGITS,
                                            "meta": _TAMS_META,
                                        },
                                    },
                                    "progress": {"type": "number", "minimum": 0, "maximum": 1},
                                },
                            },
                        },
                        "workflowFinishItem": _TAMS_WORKFLOW_ITEM,
                    },
                },
                "successInfo": {
                    "type": "object",
                    "properties": {
                        "images": {"type": "array", "items": TAMS_RESOURCE},
                        "videos": {"type": "array", "items": TAMS_RESOURCE},
                        "workflowFinishItem": _TAMS_WORKFLOW_ITEM,
                    },
                },
            },
        }
    },
}
TAMS_ERROR = {
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {"code": INT, "message": STR, "details": {"type": "array"}},
}

# --------------------------------------------------------------------------------------------
# Vozo: seeds/vozo-video-generation-status.openapi.md (JobStatus, Error) and the translate status
# shape from the contract / research notes C1.
# --------------------------------------------------------------------------------------------
VOZO_JOB_STATUS = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["pending", "processing", "done", "failed"]},
        "video_url": STR,
    },
}
VOZO_TRANSLATE_STAGES = ["queuing", "preprocessing", "transcribing", "translating", "dubbing", "rendering"]
VOZO_TRANSLATE_STATUS = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"enum": [*VOZO_TRANSLATE_STAGES, "done", "failed"]},
        "err_code": {"type": ["string", "integer", "null"]},
        "err_message": {"type": ["string", "null"]},
        "result": {
            "type": ["object", "null"],
            "properties": {
                "video_url": {"type": ["string", "null"]},
                "audio_url": {"type": ["string", "null"]},
                "subtitle_url": {"type": ["string", "null"]},
            },
        },
    },
}
VOZO_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": STR, "message": STR, "serverTs": STR},
}

# --------------------------------------------------------------------------------------------
# TensorPix: seeds/tensorpix-get-job.openapi.md, components Job / Video / RestoredVideo /
# MLModelList (all their required fields). output_video is null until the job finishes (the
# endpoint description says so).
# --------------------------------------------------------------------------------------------
_NULLABLE_INT = {"type": ["integer", "null"]}
_NULLABLE_NUM = {"type": ["number", "null"]}
_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_URI = {"type": ["string", "null"], "format": "uri"}
TENSORPIX_VIDEO = {
    "type": "object",
    "required": [
        "bit_depth",
        "bitrate",
        "chroma_subsampling",
        "codec_id",
        "color_space",
        "created_at",
        "external_url",
        "framerate",
        "height",
        "id",
        "n_frames",
        "name",
        "owner",
        "size",
        "thumbnail",
        "width",
    ],
    "properties": {
        "id": INT,
        "name": STR,
        "width": _NULLABLE_INT,
        "height": _NULLABLE_INT,
        "created_at": {"type": "string", "format": "date-time"},
        "n_frames": _NULLABLE_INT,
        "framerate": _NULLABLE_NUM,
        "size": _NULLABLE_INT,
        "file": _NULLABLE_URI,
        "owner": {"type": "string", "format": "email"},
        "thumbnail": _NULLABLE_URI,
        "external_url": _NULLABLE_URI,
        "bitrate": _NULLABLE_INT,
        "codec_id": _NULLABLE_STR,
        "bit_depth": _NULLABLE_INT,
        "chroma_subsampling": _NULLABLE_STR,
        "color_space": _NULLABLE_STR,
    },
}
TENSORPIX_RESTORED_VIDEO = {
    "type": "object",
    "required": ["created_at", "height", "id", "job_id", "name", "owner", "preview_videos", "width"],
    "properties": {
        "id": INT,
        "job_id": _NULLABLE_INT,
        "preview_videos": {
            "type": "object",
            "required": ["after_video", "before_video"],
            "properties": {"before_video": _NULLABLE_URI, "after_video": _NULLABLE_URI},
        },
        "name": {"type": "string", "maxLength": 1024},
        "created_at": {"type": "string", "format": "date-time"},
        "deleted": {"type": ["string", "null"], "format": "date-time"},
        "framerate": {"type": ["number", "null"], "minimum": 0, "maximum": 1000},
        "n_frames": {"type": ["integer", "null"], "minimum": 1},
        "bitrate": {"type": ["integer", "null"], "minimum": 1},
        "codec_id": _NULLABLE_STR,
        "bit_depth": {"type": ["integer", "null"], "minimum": 1, "maximum": 30},
        "chroma_subsampling": _NULLABLE_STR,
        "color_space": _NULLABLE_STR,
        "size": {"type": ["integer", "null"], "minimum": 100, "maximum": 400000000000},
        "file": _NULLABLE_URI,
        "thumbnail": _NULLABLE_URI,
        "width": {"type": "integer", "minimum": 64, "maximum": 8192},
        "height": {"type": "integer", "minimum": 64, "maximum": 8192},
        "quality_score": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "owner": INT,
    },
}
TENSORPIX_ML_MODEL = {
    "type": "object",
    "required": [
        "cost_weight",
        "fps_boost_factor",
        "id",
        "max_resolution",
        "name",
        "priority",
        "task",
        "upscale_factor",
    ],
    "properties": {
        "id": INT,
        "name": STR,
        "task": {"enum": list(range(1, 16))},
        "cost_weight": NUM,
        "upscale_factor": INT,
        "fps_boost_factor": INT,
        "priority": INT,
        "max_resolution": INT,
    },
}
TENSORPIX_JOB = {
    "type": "object",
    "required": [
        "codec",
        "comparison",
        "cost_usd",
        "description",
        "end_frame",
        "eta_s",
        "finished",
        "fps_interpolation_factor",
        "grain",
        "id",
        "input_video",
        "ml_models",
        "output_resolution",
        "output_video",
        "playback_speed",
        "preview",
        "processing_progress",
        "sharpen_strength",
        "stabilization_smoothing",
        "start_frame",
        "started",
        "status",
    ],
    "properties": {
        "id": INT,
        "started": {"type": "string", "format": "date-time"},
        "preview": {"type": "boolean"},
        "description": STR,
        "cost_usd": {"type": "string", "pattern": r"^-?\d{0,6}(?:\.\d{0,4})?$"},
        "status": {"enum": [0, 1, 2, -1, -2]},
        "eta_s": NUM,
        "finished": {"type": ["string", "null"], "format": "date-time"},
        "processing_progress": {"type": "number", "minimum": 0, "maximum": 1},
        "input_video": TENSORPIX_VIDEO,
        "output_video": {"anyOf": [{"type": "null"}, TENSORPIX_RESTORED_VIDEO]},
        "ml_models": {"type": "array", "items": TENSORPIX_ML_MODEL},
        "grain": NUM,
        "codec": {"enum": ["libx264", "libx265", "prores_ks"]},
        "output_resolution": {"enum": [-1, 640, 720, 854, 1280, 1920, 2048, 2560, 3840]},
        "comparison": {"type": "boolean"},
        "stabilization_smoothing": INT,
        "fps_interpolation_factor": NUM,
        "playback_speed": NUM,
        "sharpen_strength": NUM,
        "start_frame": _NULLABLE_INT,
        "end_frame": _NULLABLE_INT,
    },
}
TENSORPIX_ERROR = {"type": "object", "required": ["detail"], "properties": {"detail": STR}}

ERROR_SCHEMAS = {
    "goenhance": GOENHANCE_ERROR,
    "tensorart": TAMS_ERROR,
    "vozo": VOZO_ERROR,
    "tensorpix": TENSORPIX_ERROR,
}


def status_schema(provider: str, kind: str | None = None) -> dict[str, Any]:
    if provider == "goenhance":
        return GOENHANCE_DETAIL
    if provider == "tensorart":
        return TAMS_JOB
    if provider == "vozo":
        return VOZO_TRANSLATE_STATUS if kind == "translate" else VOZO_JOB_STATUS
    return TENSORPIX_JOB


# --------------------------------------------------------------------------------------------
# Paths, auth, and the provider-neutral phase of a status body.
# --------------------------------------------------------------------------------------------
def auth_header(provider: str, key: str | None = None) -> dict[str, str]:
    key = DEFAULT_KEYS[provider] if key is None else key
    scheme = "Token" if provider == "tensorpix" else "Bearer"
    return {"Authorization": f"{scheme} {key}"}


def status_path(provider: str, job_id: object, kind: str | None = None) -> str:
    if provider == "goenhance":
        return f"/goenhance/api/v1/jobs/detail?img_uuid={job_id}"
    if provider == "tensorart":
        return f"/tensorart/v1/jobs/{job_id}"
    if provider == "vozo":
        if kind == "translate":
            return f"/vozo/v1/media/translate/{job_id}"
        return f"/vozo/v1/video_generation/{job_id}"
    return f"/tensorpix/api/jobs/{job_id}/"


TEST_CONNECTION = {
    # provider: (method, path, json body)
    "goenhance": ("GET", "/goenhance/api/v1/user/tokens", None),
    "tensorart": ("POST", "/tensorart/v1/jobs/credits", {"stages": [{"type": "INPUT_INITIALIZE"}]}),
    "vozo": ("GET", "/vozo/v1/video_generation/no-such-task", None),
    "tensorpix": ("GET", "/tensorpix/api/accounts/profile/balance/", None),
}

_PHASES = {
    "goenhance": {"pending": "queued", "processing": "running", "success": "succeeded", "failed": "failed"},
    "tensorart": {
        "CREATED": "queued",
        "PENDING": "queued",
        "WAITING": "queued",
        "RUNNING": "running",
        "SUCCESS": "succeeded",
        "FAILED": "failed",
        "CANCELED": "canceled",
    },
    "vozo": {
        "pending": "queued",
        "queuing": "queued",
        "processing": "running",
        "preprocessing": "running",
        "transcribing": "running",
        "translating": "running",
        "dubbing": "running",
        "rendering": "running",
        "done": "succeeded",
        "failed": "failed",
    },
    "tensorpix": {0: "queued", 1: "running", 2: "succeeded", -1: "failed", -2: "canceled"},
}


def raw_status(provider: str, body: dict[str, Any]) -> Any:
    if provider == "goenhance":
        return body["data"]["status"]
    if provider == "tensorart":
        return body["job"]["status"]
    return body["status"]


def phase(provider: str, body: dict[str, Any]) -> str:
    return _PHASES[provider][raw_status(provider, body)]


def output_urls(provider: str, body: dict[str, Any], kind: str | None = None) -> list[tuple[str, str]]:
    """(kind, url) of every output a finished status body lists."""
    if provider == "goenhance":
        return [(o["type"], o["value"]) for o in body["data"]["json"] or []]
    if provider == "tensorart":
        info = body["job"].get("successInfo") or {}
        return [("image", r["url"]) for r in info.get("images") or []] + [
            ("video", r["url"]) for r in info.get("videos") or []
        ]
    if provider == "vozo":
        if kind == "translate":
            result = body.get("result") or {}
            names = (("video", "video_url"), ("audio", "audio_url"), ("subtitle", "subtitle_url"))
            return [(k, result[f]) for k, f in names if result.get(f)]
        return [("video", body["video_url"])] if body.get("video_url") else []
    out = body.get("output_video") or {}
    return [("video", out["file"])] if out.get("file") else []


def dedup(seq: list[Any]) -> list[Any]:
    """Consecutive duplicates removed: [a, a, b, b, a] -> [a, b, a]."""
    out: list[Any] = []
    for item in seq:
        if not out or out[-1] != item:
            out.append(item)
    return out


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with some query parameters replaced (None removes one)."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def query_param(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


def is_access_denied(status: int, text: str) -> bool:
    return status == 403 and "<Code>AccessDenied</Code>" in text


# --------------------------------------------------------------------------------------------
# A minimal TAMS signer (provider-apis.md B2): METHOD \n PATH?QUERY \n TS \n NONCE \n BODY,
# RSASSA-PKCS1-v1_5 + SHA-256, base64.
# --------------------------------------------------------------------------------------------
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def tams_signature_header(
    key: rsa.RSAPrivateKey,
    method: str,
    path_and_query: str,
    body: bytes = b"",
    *,
    app_id: str = TAMS_APP_ID,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> str:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex if nonce is None else nonce
    to_sign = b"\n".join(
        [method.upper().encode(), path_and_query.encode(), ts.encode(), nonce.encode(), body]
    )
    signature = base64.b64encode(key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())).decode()
    return f"TAMS-SHA256-RSA app_id={app_id},nonce_str={nonce},timestamp={ts},signature={signature}"


def tams_body(request_id: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "requestId": request_id or uuid.uuid4().hex,
        "stages": [
            {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}},
            {
                "type": "DIFFUSION",
                "diffusion": {
                    "width": 512,
                    "height": 512,
                    "prompts": [{"text": "a lighthouse"}],
                    "steps": 15,
                    "sdModel": "600423083519508503",
                    "clipSkip": 2,
                    "cfgScale": 7,
                },
            },
        ],
        **extra,
    }
    return json.dumps(body).encode()


# Create bodies per create route (provider, path, body, expected status code of success).
# the dialects' own minimal payloads (the operators' docstrings and the README show the same)
GOENHANCE_FACESWAP = copy.deepcopy(get_dialect("goenhance").example_payloads["faceswap"])
GOENHANCE_V2V = copy.deepcopy(get_dialect("goenhance").example_payloads["video2video"])
VOZO_LIPSYNC = copy.deepcopy(get_dialect("vozo").example_payloads["lipsync"])
VOZO_TRANSLATE = {
    "media_type": "video",
    "media_url": "https://example.com/talk.mp4",
    "source_language": "auto",
    "target_language": "fr",
    "export_type": "all",
}
TENSORPIX_FROM_URL = {"url": "https://example.com/old-film.mp4", "ml_models": [1]}
TAMS_TEMPLATE = {
    "templateId": "676018193025756628",
    "fields": {
        "fieldAttrs": [{"nodeId": "25", "fieldName": "image", "fieldValue": "https://example.com/a.png"}]
    },
}
