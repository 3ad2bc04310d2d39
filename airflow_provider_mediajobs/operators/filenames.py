"""The file names a job's outputs are persisted under: filled from a template, safe and distinct.

A name never carries a path separator, never starts with a dot and never repeats within a job, so
one job's outputs cannot overwrite each other or land outside the destination. A name longer than
:data:`MAX_NAME_BYTES` (a provider's long output name or job id) is shortened with a hash of the
whole name, keeping its extension: file systems refuse names over 255 bytes, and the download's
temporary ``.<name>.part-<hex>`` needs room too. The extension comes from the output URL's path;
where the provider gives none there, the kind's usual one is a placeholder that the download
replaces by the one of the answer's content type (:func:`extension_for`).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_provider_mediajobs.exceptions import MediaJobConfigError

if TYPE_CHECKING:
    from airflow_provider_mediajobs.dialects.wire import CallContext
    from airflow_provider_mediajobs.models import MediaJob, MediaOutput

DEFAULT_TEMPLATE = "{provider}-{job_id}-{index}{ext}"
TEMPLATE_FIELDS = ("provider", "job_id", "index", "kind", "name", "ext")
_EXT_BY_KIND = {"image": ".png", "video": ".mp4", "audio": ".mp3"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_BYTES = 200  # + ".", ".part-" and 12 hex digits stays under the usual 255-byte limit


def shortened(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` when it fits in ``limit`` UTF-8 bytes, else its start, ``-``, 16 hex digits of its
    sha256, and its extension (distinct names stay distinct)."""
    encoded = name.encode("utf-8")
    if len(encoded) <= limit:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:16]
    suffix = PurePosixPath(name).suffix
    suffix = suffix if len(suffix.encode("utf-8")) <= 16 else ""
    room = limit - len(digest) - 1 - len(suffix.encode("utf-8"))
    head = encoded[:room].decode("utf-8", "ignore")
    return f"{head}-{digest}{suffix}"


def _clean(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "output"


def output_filenames(template: str, job: MediaJob, ctx: CallContext) -> list[str]:
    """One safe, distinct file name per output of ``job``, from ``template`` (``str.format``)."""
    names = [_filename(template, job, index, output, ctx) for index, output in enumerate(job.outputs)]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            ctx.fail(
                MediaJobConfigError,
                f"filename_template {template!r} gives outputs {seen[name]} and {index} "
                f"the same name {name!r}; include {{index}} in it.",
            )
        seen[name] = index
    return names


def _url_path(output: MediaOutput) -> PurePosixPath:
    try:
        return PurePosixPath(urlsplit(output.url).path)
    except ValueError:
        return PurePosixPath("output")


def url_extension(output: MediaOutput) -> str:
    """The extension the provider gives in the output URL's path (``.png``), or ``""``."""
    suffix = _url_path(output).suffix
    return suffix.lower() if 1 < len(suffix) <= 6 and suffix[1:].isalnum() else ""


def extension_for(content_type: str | None) -> str | None:
    """The usual extension of a media type (``image/jpeg`` -> ``.jpg``); None when it tells nothing."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not media_type or media_type == "application/octet-stream":
        return None
    return mimetypes.guess_extension(media_type)


def _filename(template: str, job: MediaJob, index: int, output: MediaOutput, ctx: CallContext) -> str:
    path = _url_path(output)
    ext = url_extension(output) or _EXT_BY_KIND.get(output.kind.value) or ".bin"
    try:
        rendered = template.format(
            provider=job.provider,
            job_id=_clean(job.job_id),
            index=index,
            kind=output.kind.value,
            name=_clean(output.name or path.stem),
            ext=ext,
        )
    except (KeyError, IndexError, ValueError, AttributeError) as err:
        ctx.fail(
            MediaJobConfigError,
            f"filename_template {template!r} cannot be filled ({type(err).__name__}: "
            f"{err}); it may use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}.",
        )
    if not rendered or "/" in rendered or "\\" in rendered or rendered.startswith(".") or "\x00" in rendered:
        ctx.fail(
            MediaJobConfigError,
            f"filename_template {template!r} produced the unsafe file name {rendered!r} "
            "(empty, hidden, or with a path separator).",
        )
    return shortened(rendered)
