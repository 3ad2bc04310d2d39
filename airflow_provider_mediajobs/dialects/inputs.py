"""A create payload as the dialects read it before any request: the fields each job kind must set
(checked, with a pointer to a working payload) and what it asks, for people (the Media view)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_mediajobs.exceptions import MediaJobConfigError
from airflow_provider_mediajobs.models import JobInputs

if TYPE_CHECKING:
    from airflow_provider_mediajobs.dialects.base import Dialect
    from airflow_provider_mediajobs.dialects.wire import CallContext

PAYLOADS_SECTION = "README.md, section 'Payloads'"
"""Where every provider's minimal working create payload is shown (and tested against the emulator)."""
#: (label, payload key) of the inputs :func:`generic_inputs` reads
GENERIC_INPUT_TEXTS = (
    ("Prompt", "prompt"),
    ("Negative prompt", "negative_prompt"),
    ("Model", "model"),
    ("Size", "size"),
    ("Resolution", "resolution"),
    ("Duration", "duration"),
)


def payload_hint(dialect: Dialect, kind: str) -> str:
    """Where the minimal working create payload of ``kind`` is shown."""
    return (
        f"A minimal working {dialect.display_name} {kind!r} payload is in the {PAYLOADS_SECTION} > "
        f"{dialect.display_name!r}, and in the docstring of the provider's submit operator."
    )


def check_create(dialect: Dialect, kind: str, payload: object, ctx: CallContext) -> None:
    """:class:`MediaJobConfigError` naming each field of the dialect's ``create_fields`` that
    ``payload`` lacks, before any request."""
    name = dialect.display_name
    if not isinstance(payload, Mapping):
        ctx.fail(
            MediaJobConfigError,
            f"The {name} {kind!r} payload must be a JSON object (a dict), not {type(payload).__name__}.",
            hint=payload_hint(dialect, kind),
        )
    fields = dialect.create_payload_fields(payload)
    missing = [
        required
        for required in dialect.create_fields.get(kind, ())
        if not any(_is_set(fields.get(option)) for option in required.split("|"))
    ]
    if missing:
        names = ", ".join(" or ".join(f"'{option}'" for option in m.split("|")) for m in missing)
        ctx.fail(
            MediaJobConfigError,
            f"The {name} {kind!r} payload is missing {names} (required by the {name} API).",
            hint=payload_hint(dialect, kind),
        )


def generic_inputs(payload: Mapping[str, Any]) -> JobInputs:
    """The commonly named keys of a flat payload (:data:`GENERIC_INPUT_TEXTS`, ``*_url``/``*_img``
    /``*_image`` media): what a dialect whose payload is flat shows."""
    return JobInputs.build(
        [(label, payload.get(key)) for label, key in GENERIC_INPUT_TEXTS],
        [(key, payload.get(key)) for key in payload if key.endswith(("_url", "_img", "_image"))],
    )


def _is_set(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


__all__ = ["GENERIC_INPUT_TEXTS", "PAYLOADS_SECTION", "check_create", "generic_inputs", "payload_hint"]
