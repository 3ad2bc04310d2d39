"""TensorPix create bodies checked as its API (Django REST framework) checks them: DRF's field
messages keyed by field, empty when the body is acceptable; and the emulated model catalogue."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

RESOLUTIONS = (-1, 640, 720, 854, 1280, 1920, 2048, 2560, 3840)
CODECS = ("libx264", "libx265", "prores_ks")
MODELS: dict[int, tuple[str, int, float, int, int]] = {  # id: name, task, cost_weight, upscale, fps
    1: ("Super Resolution 2x", 1, 1.0, 2, 1),
    2: ("Super Resolution 4x", 1, 1.5, 4, 1),
    3: ("Denoise", 3, 0.5, 1, 1),
    4: ("Sharpen", 4, 0.3, 1, 1),
    5: ("FPS Boost", 10, 1.0, 1, 2),
    6: ("Face Enhance", 12, 0.8, 1, 1),
}


def ml_model(model_id: int) -> dict[str, Any]:
    """A model as ``GET /api/ml-models/`` shows it (an unknown id as a generic one)."""
    name, task, weight, upscale, fps = MODELS.get(model_id, (f"Model {model_id}", 1, 1.0, 1, 1))
    return {
        "id": model_id,
        "name": name,
        "task": task,
        "cost_weight": weight,
        "upscale_factor": upscale,
        "fps_boost_factor": fps,
        "priority": 10 * task,
        "max_resolution": 1280 * 720 if upscale >= 4 else 1920 * 1080,
    }


def url_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    """``url`` of ``POST /api/jobs/from-url/``: required, an absolute http(s) URL."""
    url = body.get("url")
    if not url:
        return {"url": ["This field is required."]}
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        return {"url": ["Enter a valid URL."]}
    return {}


def options_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    """The Job options both create routes take (DRF field messages, keyed by field)."""
    errors: dict[str, list[str]] = {}
    models = body.get("ml_models", [])
    if not isinstance(models, list):
        errors["ml_models"] = [f'Expected a list of items but got type "{type(models).__name__}".']
    elif not all(isinstance(m, int) and not isinstance(m, bool) for m in models):
        errors["ml_models"] = ["Incorrect type. Expected pk value, received str."]
    else:
        unknown = [m for m in models if m not in MODELS]
        if unknown:
            errors["ml_models"] = [f'Invalid pk "{unknown[0]}" - object does not exist.']
    if "output_resolution" in body and body["output_resolution"] not in RESOLUTIONS:
        errors["output_resolution"] = [f'"{body["output_resolution"]}" is not a valid choice.']
    if "codec" in body and body["codec"] not in CODECS:
        errors["codec"] = [f'"{body["codec"]}" is not a valid choice.']
    return errors


def number_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    """The first numeric Job option that is not a number (or an integer, where DRF wants one)."""
    for key in ("grain", "fps_interpolation_factor", "playback_speed", "sharpen_strength"):
        if not isinstance(body.get(key, 0.0), (int, float)) or isinstance(body.get(key), bool):
            return {key: ["A valid number is required."]}
    for key in ("stabilization_smoothing", "start_frame", "end_frame"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return {key: ["A valid integer is required."]}
    return {}
