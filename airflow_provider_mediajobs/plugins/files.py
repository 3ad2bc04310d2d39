"""Serving a persisted output: the recorded object, verified, streamed, with byte ranges.

Only the file the outputs operator recorded is ever opened (the route gives an index into that
record). Before the first byte is sent the object's size and sha256 must match the record, so an
XCom edited to name another file (``/etc/...``, a config with secrets) serves nothing. The check
runs once per object version (size, mtime) and process.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow_provider_mediajobs.plugins.records import MediaItem

CHUNK = 256 * 1024
INLINE_TYPES = ("image/", "video/", "audio/")
#: image types a browser may run script in when opened as a document
NEVER_INLINE = frozenset({"image/svg+xml"})
#: headers of every file response: no sniffing, no script, no caching by shared caches
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; sandbox",
    "Cache-Control": "private, max-age=300",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
MAX_RANGE_DIGITS = 18  # 10**18 bytes is beyond any file; longer numbers are never read as ints


class FileProblem(Exception):
    """The recorded file cannot be served; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_inline(content_type: str) -> bool:
    return content_type.startswith(INLINE_TYPES) and content_type not in NEVER_INLINE


def served_type(item: MediaItem) -> str:
    """What the response says it is: the media type, or a download for anything else."""
    return item.content_type if is_inline(item.content_type) else "application/octet-stream"


def disposition(item: MediaItem, download: bool = False) -> str:
    """Inline for media (unless a download was asked for), an attachment otherwise; the file's own name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", item.name).strip("._") or "output"
    inline = is_inline(item.content_type) and not download
    return f'{"inline" if inline else "attachment"}; filename="{name}"'


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for one ``bytes=`` range; ``None`` = the whole file.

    Several ranges are answered with the whole file (allowed by RFC 9110); an unsatisfiable one
    raises ``FileProblem(416)``.
    """
    if not header or "," in header:
        return None
    match = _RANGE.match(header)
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if len(first) > MAX_RANGE_DIGITS or len(last) > MAX_RANGE_DIGITS:
        raise FileProblem(416, "range not satisfiable")
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if start >= size or (last and int(last) < start):
            raise FileProblem(416, "range not satisfiable")
    else:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise FileProblem(416, "range not satisfiable")
        start, end = max(0, size - suffix), size - 1
    return start, end


@dataclass(frozen=True)
class OpenedFile:
    path: Any
    size: int


_verified: OrderedDict[tuple[str, int, str], str] = OrderedDict()
_lock = threading.Lock()


def _version(fs: Any, path: str) -> tuple[int, str]:
    info = fs.info(path)
    size = int(info.get("size") or 0)
    stamp = info.get("mtime") or info.get("LastModified") or info.get("updated") or info.get("ETag") or ""
    return size, str(stamp)


def _sha256(fs: Any, path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def open_recorded(item: MediaItem) -> OpenedFile:
    """The object ``item`` records, after checking it is still the file the task wrote."""
    from airflow_provider_mediajobs.operators.destinations import as_storage_path

    if not item.path or not item.sha256:
        raise FileProblem(404, "this output was not persisted")
    try:
        target = as_storage_path(item.path)
        fs, path = target.fs, target.path
        size, stamp = _version(fs, path)
    except FileNotFoundError:
        raise FileProblem(404, "the persisted file is gone") from None
    except Exception as err:
        raise FileProblem(502, f"the object store could not be read ({type(err).__name__})") from None
    if item.bytes is not None and size != item.bytes:
        raise FileProblem(409, "the file changed since the task wrote it (size differs)")
    key = (str(item.path), size, stamp)
    with _lock:
        known = _verified.get(key)
    if known is None:
        try:
            known = _sha256(fs, path)
        except Exception as err:
            raise FileProblem(502, f"the object store could not be read ({type(err).__name__})") from None
        with _lock:
            _verified[key] = known
            while len(_verified) > 512:
                _verified.popitem(last=False)
    if known != item.sha256:
        raise FileProblem(409, "the file changed since the task wrote it (sha256 differs)")
    return OpenedFile(path=target, size=size)


def stream(opened: OpenedFile, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive), read in chunks (run by Starlette in a worker thread)."""
    remaining = end - start + 1
    with opened.path.fs.open(opened.path.path, "rb") as handle:
        if start:
            handle.seek(start)
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
