"""Stream one output URL into object storage, verified, atomically, without any credentials.

Output URLs are CDN / object-store links signed by the provider: they get no ``Authorization``
header (the API key must never reach them), only ``http(s)`` is accepted, and a URL that carries
user:password is refused. Bytes are streamed to a temporary name next to the target and renamed
into place only once complete, length-checked and hashed, so no partial file is ever visible.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from airflow_provider_mediajobs.dialects.base import CallContext, parse_retry_after
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobBadResponseError,
    MediaJobConfigError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
PROGRESS_EVERY = 64 * 1024 * 1024  # log a line per 64 MiB of a large file


class OutputExpiredError(MediaJobApiError):
    """The signed URL no longer works (403/410): read the job again for a fresh one."""

    default_hint = "Read the job again for a freshly signed URL (done automatically once)."


@dataclass(frozen=True)
class Downloaded:
    url: str
    path: str
    bytes: int
    sha256: str
    content_type: str | None
    kind: str
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "path": self.path,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "kind": self.kind,
            "skipped": self.skipped,
        }


def check_output_url(url: str, ctx: CallContext) -> str:
    """Accept only plain http(s) URLs with a host and no embedded credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        ctx.fail(
            MediaJobBadResponseError, f"The provider returned an output URL that is not a URL: {url[:80]!r}."
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        ctx.fail(
            MediaJobBadResponseError,
            f"Refusing output URL with scheme {parts.scheme or 'none'!r}: only http(s) links from the provider "
            "are downloaded.",
        )
    if parts.username or parts.password:
        ctx.fail(
            MediaJobBadResponseError, "Refusing an output URL that embeds credentials (user:password@host)."
        )
    return url


def _sha256_of(path: Any) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _classify(response: httpx.Response, url_for_log: str, ctx: CallContext) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    where = f"Download of {url_for_log} answered HTTP {status}"
    if status in (403, 410):
        ctx.fail(
            OutputExpiredError, f"{where}: the signed URL has expired or was revoked.", status_code=status
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        ctx.fail(MediaJobRateLimitedError, where + ".", status_code=status, retry_after=retry_after)
    if status >= 500 or status == 408:
        ctx.fail(MediaJobTransientError, where + ".", status_code=status)
    ctx.fail(MediaJobApiError, where + ".", status_code=status)


def download(
    client: httpx.Client,
    url: str,
    target: Any,
    *,
    kind: str,
    ctx: CallContext,
    max_bytes: int | None = None,
    overwrite: bool = False,
) -> Downloaded:
    """Stream ``url`` into ``target`` (an ``ObjectStoragePath``); see the module docstring."""
    url = check_output_url(url, ctx)
    shown = urlsplit(url)._replace(query="").geturl()  # signatures stay out of logs
    temp = target.parent / f".{target.name}.part-{uuid.uuid4().hex[:12]}"
    try:
        with client.stream("GET", url, headers={"Accept": "*/*"}) as response:
            _classify(response, shown, ctx)
            declared = response.headers.get("content-length")
            expected = int(declared) if declared and declared.isdigit() else None
            if max_bytes is not None and expected is not None and expected > max_bytes:
                ctx.fail(
                    MediaJobApiError,
                    f"{shown} is {expected} bytes, over max_bytes={max_bytes}; nothing written.",
                )
            digest, size, next_report = hashlib.sha256(), 0, PROGRESS_EVERY
            with temp.open("wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        ctx.fail(
                            MediaJobApiError, f"{shown} exceeded max_bytes={max_bytes}; nothing written."
                        )
                    digest.update(chunk)
                    handle.write(chunk)
                    if size >= next_report:
                        log.info(
                            "%s: %d MiB%s", shown, size >> 20, f" of {expected >> 20} MiB" if expected else ""
                        )
                        next_report += PROGRESS_EVERY
            if expected is not None and size != expected:
                ctx.fail(MediaJobTransientError, f"{shown} ended after {size} of {expected} bytes.")
            content_type = response.headers.get("content-type")
    except httpx.HTTPError as err:
        _discard(temp)
        raise ctx.error(
            MediaJobTransientError, f"Download of {shown} failed: {type(err).__name__}."
        ) from None
    except BaseException:
        _discard(temp)
        raise
    sha = digest.hexdigest()
    if target.exists():
        if _sha256_of(target) == sha:
            _discard(temp)
            return Downloaded(url, str(target), size, sha, content_type, kind, skipped=True)
        if not overwrite:
            _discard(temp)
            ctx.fail(
                MediaJobConfigError,
                f"{target} already exists with different content; set overwrite=True or use another destination.",
            )
    temp.rename(target)  # replaces an existing file in one step where the store allows it
    return Downloaded(url, str(target), size, sha, content_type, kind)


def _discard(path: Any) -> None:
    try:
        if path.exists():
            path.unlink()
    except OSError:  # best effort: never mask the real error
        log.warning("Could not remove the partial file %s", path)
