"""TAMS create bodies checked as the real API checks them (the problem named, or None): a job's
stages, a template's fields, a workflow's params. Fields are accepted in camelCase or snake_case
(``requestId``/``request_id``), as grpc-gateway does."""

from __future__ import annotations

from typing import Any

from ..validate import is_number, is_uint64

STAGE_TYPES = (
    "INPUT_INITIALIZE",
    "DIFFUSION",
    "IMAGE_TO_UPSCALER",
    "IMAGE_TO_ADETAILER",
    "IMAGE_TO_INPAINT",
    "IMAGE_TO_ANIMATE_DIFF",
)


def field_of(body: dict[str, Any], camel: str) -> Any:
    """A field by its JSON (camelCase) name or its proto (snake_case) name."""
    if camel in body:
        return body[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return body.get(snake)


def _positive_int(value: Any) -> bool:
    """An int32/int64 as protojson takes it: a number or a string of digits, here > 0."""
    if isinstance(value, str):
        return value.isdigit() and int(value) > 0
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def stages_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with ``stages`` (required, non-empty, each a known ``type``; a DIFFUSION stage
    needs ``diffusion.prompts[].text``), naming the field."""
    stages = body.get("stages")
    if stages is None or stages == []:
        return "missing stages"
    if not isinstance(stages, list):
        return "stages must be a list"
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict):
            return f"stages[{i}] must be an object"
        kind = stage.get("type")
        if kind is None:
            return f"missing stages[{i}].type"
        if kind not in STAGE_TYPES:
            return f"stages[{i}].type: unknown value {kind!r} (one of {', '.join(STAGE_TYPES)})"
        if kind == "DIFFUSION":
            problem = _diffusion_problem(f"stages[{i}].diffusion", stage.get("diffusion"))
            if problem:
                return problem
    return None


def _diffusion_problem(where: str, diffusion: Any) -> str | None:
    if not isinstance(diffusion, dict):
        return f"missing {where}"
    prompts = diffusion.get("prompts")
    if not isinstance(prompts, list) or not prompts:
        return f"missing {where}.prompts"
    for j, prompt in enumerate(prompts):
        if not isinstance(prompt, dict) or not isinstance(prompt.get("text"), str):
            return f"{where}.prompts[{j}].text must be a string"
    for key in ("width", "height", "steps"):
        if key in diffusion and not _positive_int(diffusion[key]):
            return f"{where}.{key} must be a positive integer"
    for key in ("cfgScale", "cfg_scale"):
        if key in diffusion and not is_number(diffusion[key]):
            return f"{where}.{key} must be a number"
    return None


def template_problem(body: dict[str, Any]) -> str | None:
    """``templateId`` (uint64) and ``fields.fieldAttrs[{nodeId, fieldName, fieldValue}]``."""
    template_id = field_of(body, "templateId")
    if template_id in (None, ""):
        return "missing templateId"
    if not is_uint64(template_id) or int(template_id) == 0:
        return f"templateId must be a uint64 (got {template_id!r})"
    fields = body.get("fields")
    if fields is None:
        return "missing fields"
    if not isinstance(fields, dict):
        return "fields must be an object"
    attrs = field_of(fields, "fieldAttrs")
    if attrs is None:
        return None  # an empty repeated field is omitted on the wire
    if not isinstance(attrs, list):
        return "fields.fieldAttrs must be a list"
    for i, attr in enumerate(attrs):
        if not isinstance(attr, dict):
            return f"fields.fieldAttrs[{i}] must be an object"
        for key in ("nodeId", "fieldName"):
            value = field_of(attr, key)
            if not isinstance(value, str) or not value:
                return f"missing fields.fieldAttrs[{i}].{key}"
        value = field_of(attr, "fieldValue")
        if value is not None and not isinstance(value, str):
            return f"fields.fieldAttrs[{i}].fieldValue must be a string"
    return None


def params_problem(body: dict[str, Any]) -> str | None:
    """A ComfyUI graph: ``params{<nodeId>: {classType, inputs?, properties?}}``, non-empty."""
    params = body.get("params")
    if params is None or params == {}:
        return "missing params"
    if not isinstance(params, dict):
        return "params must be an object keyed by node id"
    for node_id, node in params.items():
        if not isinstance(node, dict):
            return f"params[{node_id!r}] must be an object"
        class_type = field_of(node, "classType")
        if not isinstance(class_type, str) or not class_type:
            return f"missing params[{node_id!r}].classType"
        for key in ("inputs", "properties"):
            if node.get(key) is not None and not isinstance(node[key], dict):
                return f"params[{node_id!r}].{key} must be an object"
    return None
