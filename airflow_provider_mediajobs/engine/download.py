"""Stream one output URL into object storage, verified, atomically, without any credentials.

Output URLs are CDN / object-store links signed by the provider, fetched by the client of
:mod:`.addresses` (no credentials; every hop's URL and address checked).

Bytes are streamed (never held whole in memory) to a temporary name next to the target, counted
against ``Content-Length`` and a size limit per output kind (finite by default) and hashed
(sha256) on the way, within a whole-download deadline, and moved into place
only when complete: a local file is renamed (``os.replace``, atomic); on an object store the
temporary key is moved (copy + delete where the store has no rename), so the target key only ever
appears complete. On any failure the temporary file is removed.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import httpx

from airflow_provider_mediajobs import metrics
from airflow_provider_mediajobs.dialects.values import parse_retry_after
from airflow_provider_mediajobs.dialects.wire import CallContext
from airflow_provider_mediajobs.engine.addresses import check_output_url
from airflow_provider_mediajobs.engine.storage import (
    CHUNK,
    commit,
    discard,
    sha256_of,
    size_if_exists,
    sweep_abandoned,
)
from airflow_provider_mediajobs.engine.urls import (
    shown_url,
)
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
    OutputExistsError,
    OutputExpiredError,
    OutputTooLargeError,
    OutputTooSlowError,
    status_error,
)

log = logging.getLogger(__name__)

DEFAULT_PROGRESS_INTERVAL = 30.0  # seconds between progress lines of one download
#: the largest output of each kind written unless the caller says otherwise (bytes)
DEFAULT_MAX_BYTES: Mapping[str, int] = MappingProxyType(
    {"video": 4 * 2**30, "audio": 1 * 2**30, "image": 256 * 2**20, "other": 1 * 2**30}
)
DEFAULT_DEADLINE = 2 * 3600.0  # seconds one whole download may take


def max_bytes_for(kind: str, max_bytes: int | Mapping[str, int] | None = None) -> int:
    """The size limit of one output of ``kind``: ``max_bytes`` when it is a number, its entry for
    ``kind`` when it is a mapping, else :data:`DEFAULT_MAX_BYTES`."""
    if isinstance(max_bytes, Mapping):
        limits = {**DEFAULT_MAX_BYTES, **max_bytes}
        return int(limits.get(kind, limits["other"]))
    if max_bytes is not None:
        return int(max_bytes)
    return DEFAULT_MAX_BYTES.get(kind, DEFAULT_MAX_BYTES["other"])


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


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` as they come, a large one cut into :data:`CHUNK`-sized pieces (httpx's own
    ``chunk_size`` would wait for a whole chunk, so a trickling body would skip the deadline)."""
    for chunk in chunks:
        for start in range(0, len(chunk), CHUNK):
            yield chunk[start : start + CHUNK]


def download(
    client: httpx.Client,
    url: str,
    target: Any,
    *,
    kind: str,
    ctx: CallContext,
    max_bytes: int | Mapping[str, int] | None = None,
    deadline: float | None = DEFAULT_DEADLINE,
    overwrite: bool = False,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
    logger: logging.Logger | Any = None,
    on_chunk: Callable[[int], None] | None = None,
    abandoned_after: float | None = None,
    rename_for: Callable[[Any, str | None], Any] | None = None,
) -> Downloaded:
    """Stream ``url`` into ``target`` (an ``ObjectStoragePath``); see the module docstring.

    ``max_bytes``: the size limit (a number, or per kind, see :func:`max_bytes_for`; None = the
    defaults); ``deadline``: seconds the whole download may take (None = no deadline).
    Raises :class:`OutputExpiredError` (403/410: read the job again), a
    :class:`MediaJobTransientError` for what retrying may fix (5xx, 408, 429, resets, a body shorter
    than its ``Content-Length``), :class:`OutputTooLargeError`, :class:`OutputTooSlowError`,
    :class:`UnsafeOutputUrlError` (:class:`PrivateOutputHostError`) and :class:`OutputExistsError`.
    ``on_chunk`` (tests, instrumentation) is called with the running byte count after each chunk.
    ``abandoned_after``: first remove this target's ``.part-`` files older than that many seconds
    (:func:`sweep_abandoned`). ``rename_for(target, content_type)``: the final target once the
    answer's content type is known (an extension the URL did not give).
    """
    logger = logger or log
    url = check_output_url(url, ctx)
    limit = max_bytes_for(kind, max_bytes)
    started = time.monotonic()
    shown = shown_url(url)
    fs = target.fs
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
            if rename_for is not None:
                target = rename_for(target, content_type)
            existing = size_if_exists(target)
            # Content-Length counts the bytes on the wire: decoded bytes differ if the server
            # compressed anyway (identity was asked for)
            encoding = (response.headers.get("content-encoding") or "identity").strip().lower()
            identity = encoding == "identity"
            if expected is not None and expected > limit:
                ctx.fail(
                    OutputTooLargeError,
                    f"{shown} ({kind}) is {expected} bytes, over max_bytes={limit}; nothing was written.",
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
                # pieces as they arrive (at most CHUNK): the deadline is checked on every read
                for chunk in _pieces(response.iter_bytes()):
                    size += len(chunk)
                    if size > limit:
                        ctx.fail(
                            OutputTooLargeError,
                            f"{shown} ({kind}) exceeded max_bytes={limit} while streaming; nothing was written.",
                        )
                    if deadline is not None and time.monotonic() - started > deadline:
                        ctx.fail(
                            OutputTooSlowError,
                            f"{shown} was not complete after the {deadline:g} s download deadline "
                            f"({size} bytes received); nothing was written.",
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
    metrics.bytes_persisted(ctx.provider, size)
    return Downloaded(shown, path, size, sha, content_type, kind)


__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BYTES",
    "Downloaded",
    "download",
    "max_bytes_for",
    "shown_url",
]
