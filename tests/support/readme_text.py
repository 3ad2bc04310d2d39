"""The README's text as tests read it: sections by heading, fenced blocks, the payload examples.

Tests that promise "the README works" take their code from here, never from a copy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
_KIND = re.compile(r'job_kind="(\w+)"')


def section(title: str, text: str | None = None) -> str:
    """The body of the ``## title`` section (up to the next ``## `` heading)."""
    text = README.read_text() if text is None else text
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def fenced(text: str, lang: str) -> list[str]:
    """Every ```lang block's body in ``text``, in order."""
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, re.M | re.S)


def payloads(text: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(provider display name, job kind): payload}`` of the Payloads section: each ```json block
    under a ``### <provider>`` heading, its kind the ``job_kind="..."`` of the paragraph before it."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    provider = None
    paragraph = ""  # the last paragraph of prose read
    paragraph_open = False
    lines = iter(section("Payloads", text).splitlines())
    for line in lines:
        if line.startswith("### "):
            provider, paragraph = line[4:].strip(), ""
        elif line == "```json":
            body = "\n".join(iter(lambda: next(lines), "```"))
            kinds = _KIND.findall(paragraph)
            assert provider and kinds, f"a payload block without a provider heading or job_kind: {body[:60]}"
            key = (provider, kinds[0])
            assert key not in found, f"two payloads for {key}"
            found[key] = json.loads(body)
        elif line.strip():
            paragraph = f"{paragraph} {line}" if paragraph_open else line
        paragraph_open = bool(line.strip())
    return found
