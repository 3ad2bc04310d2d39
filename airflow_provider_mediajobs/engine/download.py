"""Stream one output URL into object storage, verified, atomically, without any credentials.

Output URLs are CDN / object-store links signed by the provider. They are fetched by a client of
their own that has no ``Authorization`` header, no cookies and no ``.netrc`` (``trust_env=False``):
the provider's API key never reaches them. Only ``http(s)`` URLs without ``user:password@`` are
fetched (nor link-local addresses such as a cloud metadata service), and every redirect hop is
checked the same way.

Bytes are streamed (never held whole in memory) to a temporary name next to the target, counted
against ``Content-Length`` and ``max_bytes`` and hashed (sha256) on the way, and moved into place
only when complete: a local file is renamed (``os.replace``, atomic); on an object store the
temporary key is moved (copy + delete where the store has no rename), so the target key only ever
appears complete. On any failure the temporary file is removed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from airflow_provider_mediajobs.dialects.base import CallContext
from airflow_provider_mediajobs.dialects.values import parse_retry_after
from airflow_provider_mediajobs.engine.storage import (
    CHUNK,
    commit,
    discard,
    sha256_of,
    size_if_exists,
    sweep_abandoned,
)
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
    OutputExistsError,
    OutputExpiredError,
    OutputTooLargeError,
    UnsafeOutputUrlError,
    status_error,
)

log = logging.getLogger(__name__)

DEFAULT_PROGRESS_INTERVAL = 30.0  # seconds between progress lines of one download


@dataclass(frozen=True)
class Downloaded:
    """One persisted output. ``url`` is the source URL without its query (signatures stay out)."""

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


def shown_url(url: str) -> str:
    """``url`` without query and fragment: signed URLs are bearer tokens, keep them out of logs."""
    try:
        return urlsplit(url)._replace(query="", fragment="").geturl()
    except ValueError:
        return "<unparseable URL>"


def check_output_url(url: object, ctx: CallContext) -> str:
    """Accept only plain http(s) URLs with a host and no embedded credentials."""
    text = url if isinstance(url, str) else ""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        ctx.fail(
            UnsafeOutputUrlError,
            f"The provider returned an output URL that is not a URL: {shown_url(text)[:80]!r}.",
        )
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        ctx.fail(
            UnsafeOutputUrlError,
            f"Refusing output URL with scheme {parts.scheme or 'none'!r}: only http(s) links are downloaded.",
        )
    if "@" in parts.netloc:
        ctx.fail(
            UnsafeOutputUrlError,
            f"Refusing an output URL on {parts.hostname} that embeds credentials (user:password@host).",
        )
    if _is_link_local(parts.hostname):
        ctx.fail(
            UnsafeOutputUrlError,
            f"Refusing an output URL on the link-local address {parts.hostname} (cloud metadata services "
            "live there; no provider serves outputs from it).",
        )
    return text


def _is_link_local(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_link_local
    except ValueError:
        return False


def output_client(timeout: float, ctx: CallContext, user_agent: str, verify: Any = True) -> httpx.Client:
    """The HTTP client for output URLs: no credentials of any kind, every hop checked."""

    def guard(request: httpx.Request) -> None:
        check_output_url(str(request.url), ctx)
        for header in ("authorization", "proxy-authorization", "cookie"):
            request.headers.pop(header, None)

    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(30.0, timeout)),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,  # no .netrc credentials, no proxy from the environment
        verify=verify,
        headers={"User-Agent": user_agent},
        event_hooks={"request": [guard]},
    )


def _classify(response: httpx.Response, shown: str, ctx: CallContext) -> None:
    status = response.status_code
    cls = status_error(status)
    if cls is None:
        return
    where = f"Download of {shown} answered HTTP {status}"
    if status in (403, 410):  # what a signed URL answers once it has expired
        ctx.fail(
            OutputExpiredError, f"{where}: the signed URL has expired or was revoked.", status_code=status
        )
    if cls is MediaJobRateLimitedError:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        ctx.fail(cls, where + ".", status_code=status, retry_after=retry_after)
    if cls is MediaJobTransientError:
        ctx.fail(cls, where + ".", status_code=status)
    ctx.fail(
        MediaJobApiError,
        where + ".",
        status_code=status,
        hint="The output URL was refused; check the job on the provider's side.",
    )


def _declared_length(response: httpx.Response) -> int | None:
    declared = (response.headers.get("content-length") or "").strip()
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses
    return int(declared) if declared.isascii() and declared.isdigit() else None


class _Progress:
    """One log line per ``interval`` seconds of a download (so small files log nothing)."""

    def __init__(
        self, shown: str, expected: int | None, interval: float, logger: logging.Logger | Any
    ) -> None:
        self.shown, self.expected, self.interval, self.logger = shown, expected, interval, logger
        self.started = self.last = time.monotonic()

    def update(self, size: int) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        rate = size / max(now - self.started, 1e-6) / 2**20
        if self.expected:
            self.logger.info(
                "Downloading %s: %.1f of %.1f MiB (%.0f%%), %.1f MiB/s",
                self.shown,
                size / 2**20,
                self.expected / 2**20,
                100 * size / self.expected,
                rate,
            )
        else:
            self.logger.info("Downloading %s: %.1f MiB, %.1f MiB/s", self.shown, size / 2**20, rate)


def download(
    client: httpx.Client,
    url: str,
    target: Any,
    *,
    kind: str,
    ctx: CallContext,
    max_bytes: int | None = None,
    overwrite: bool = False,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
    logger: logging.Logger | Any = None,
    on_chunk: Callable[[int], None] | None = None,
    abandoned_after: float | None = None,
) -> Downloaded:
    """Stream ``url`` into ``target`` (an ``ObjectStoragePath``); see the module docstring.

    Raises :class:`OutputExpiredError` (403/410: read the job again), a
    :class:`MediaJobTransientError` for what retrying may fix (5xx, 408, 429, resets, a body shorter
    than its ``Content-Length``), :class:`OutputTooLargeError` and :class:`OutputExistsError`.
    ``on_chunk`` (tests, instrumentation) is called with the running byte count after each chunk.
    ``abandoned_after``: first remove this target's ``.part-`` files older than that many seconds
    (:func:`sweep_abandoned`).
    """
    logger = logger or log
    url = check_output_url(url, ctx)
    shown = shown_url(url)
    fs = target.fs
    existing = size_if_exists(target)
    if abandoned_after is not None:
        sweep_abandoned(target, abandoned_after, logger)
    temp = target.parent / f".{target.name}.part-{uuid.uuid4().hex[:12]}"
    try:
        # identity: the bytes stored are the bytes the provider serves, and Content-Length counts them
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        with client.stream("GET", url, headers=headers) as response:
            _classify(response, shown, ctx)
            expected = _declared_length(response)
            content_type = response.headers.get("content-type")
            # Content-Length counts the bytes on the wire: decoded bytes differ if the server
            # compressed anyway (identity was asked for)
            encoding = (response.headers.get("content-encoding") or "identity").strip().lower()
            identity = encoding == "identity"
            if max_bytes is not None and expected is not None and expected > max_bytes:
                ctx.fail(
                    OutputTooLargeError,
                    f"{shown} is {expected} bytes, over max_bytes={max_bytes}; nothing was written.",
                )
            if (
                identity
                and existing is not None
                and expected is not None
                and expected != existing
                and not overwrite
            ):
                ctx.fail(
                    OutputExistsError,
                    f"{target} already exists with different content ({existing} bytes, the output has "
                    f"{expected}); nothing was written.",
                )
            digest, size = hashlib.sha256(), 0
            progress = _Progress(shown, expected, progress_interval, logger)
            with fs.open(temp.path, "wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        ctx.fail(
                            OutputTooLargeError,
                            f"{shown} exceeded max_bytes={max_bytes} while streaming; nothing was written.",
                        )
                    digest.update(chunk)
                    handle.write(chunk)
                    progress.update(size)
                    if on_chunk is not None:
                        on_chunk(size)
            received = size if identity else response.num_bytes_downloaded
            if expected is not None and received != expected:
                ctx.fail(
                    MediaJobTransientError,
                    f"{shown} ended after {received} of {expected} bytes (Content-Length); nothing was written.",
                )
    except httpx.HTTPError as err:
        discard(temp)
        raise ctx.error(
            MediaJobTransientError, f"Download of {shown} failed: {type(err).__name__}; nothing was written."
        ) from None
    except BaseException:
        discard(temp)
        raise
    sha = digest.hexdigest()
    path = str(target)
    if existing is not None:
        if existing == size and sha256_of(target) == sha:
            discard(temp)
            return Downloaded(shown, path, size, sha, content_type, kind, skipped=True)
        if not overwrite:
            discard(temp)
            ctx.fail(
                OutputExistsError, f"{target} already exists with different content; nothing was written."
            )
    try:
        commit(temp, target)
    except BaseException:
        discard(temp)
        raise
    return Downloaded(shown, path, size, sha, content_type, kind)


__all__ = [
    "Downloaded",
    "check_output_url",
    "download",
    "output_client",
    "shown_url",
]
