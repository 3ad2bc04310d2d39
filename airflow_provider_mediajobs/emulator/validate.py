"""Checks of create bodies shared by the emulated providers: each returns the problem, naming the
field (``None`` when the value is acceptable), so each provider words and shapes its own 400."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_uint64(value: Any) -> bool:
    """A 64-bit id as JSON carries it: digits in a string, or an integer."""
    if is_int(value):
        return 0 <= value < 2**64
    return isinstance(value, str) and value.isdigit() and int(value) < 2**64


def url_problem(name: str, value: Any) -> str | None:
    """``value`` must be an absolute http(s) URL."""
    if value is None or value == "":
        return f"{name} is required"
    if not isinstance(value, str):
        return f"{name} must be a string URL"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{name} must be an http(s) URL"
    return None


def choice_problem(name: str, value: Any, choices: Collection[Any]) -> str | None:
    if value not in choices:
        listed = ", ".join(str(c) for c in choices)
        return f"{name} must be one of {listed} (got {value!r})"
    return None


def required_problem(body: Mapping[str, Any], names: Collection[str]) -> str | None:
    """The first of ``names`` missing (absent, null or empty) from ``body``."""
    for name in names:
        if body.get(name) in (None, "", [], {}):
            return f"{name} is required"
    return None
