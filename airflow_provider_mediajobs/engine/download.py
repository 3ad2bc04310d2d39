"""Stream one output URL into object storage, verified, atomically, without any credentials.

Output URLs are CDN / object-store links signed by the provider. They are fetched by a client of
their own that has no ``Authorization`` header, no cookies and no ``.netrc`` (``trust_env=False``):
the provider's API key never reaches them. Only URLs the URL policy (:mod:`.urls`) accepts are
fetched, and only from public addresses: the host is resolved once, every address it resolves to
is checked (loopback, private, link-local, reserved, multicast and unspecified are refused, IPv4
inside IPv6 included) and the connection goes to a checked address, never through a second
lookup. Every redirect hop is checked the same way. ``allow_private`` (a connection's
``allow_private_hosts`` extra, the operator's setting) lifts the address check for hosts of
one's own (the emulator).

Bytes are streamed (never held whole in memory) to a temporary name next to the target, counted
against ``Content-Length`` and a size limit per output kind (finite by default) and hashed
(sha256) on the way, within a whole-download deadline, and moved into place
only when complete: a local file is renamed (``os.replace``, atomic); on an object store the
temporary key is moved (copy + delete where the store has no rename), so the target key only ever
appears complete. On any failure the temporary file is removed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import httpcore
import httpx

from airflow_provider_mediajobs import metrics
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
from airflow_provider_mediajobs.engine.urls import (
    ALWAYS_REFUSED,
    UrlRefused,
    check_url,
    refusal_of_address,
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
    PrivateOutputHostError,
    UnsafeOutputUrlError,
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


def check_output_url(url: object, ctx: CallContext) -> str:
    """``url`` when the URL policy (:mod:`.urls`) accepts it; :class:`UnsafeOutputUrlError` otherwise."""
    try:
        checked = check_url(url)
    except UrlRefused as refused:
        shown = shown_url(url)[:120]
        ctx.fail(UnsafeOutputUrlError, f"Refusing output URL {shown!r}: {refused} ({refused.reason}).")
    refusal = refusal_of_address(checked.address) if checked.address else None
    if refusal in ALWAYS_REFUSED:
        ctx.fail(
            PrivateOutputHostError,
            f"Refusing output URL on {checked.host}, a {refusal} address (a cloud metadata service "
            "lives at 169.254.169.254; no provider serves outputs from such addresses).",
        )
    return checked.url


def resolve_checked(host: str, port: int, ctx: CallContext, allow_private: bool) -> list[str]:
    """Every address ``host`` resolves to, each checked: one that is not public refuses the host
    (unless ``allow_private``), so a name resolving to both a public and an internal address is
    refused too. The caller connects to these addresses, never to the name (no second lookup)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise httpcore.ConnectError(f"cannot resolve the output host ({type(err).__name__})") from None
    addresses: list[str] = []
    for *_, sockaddr in found:
        text = str(sockaddr[0])
        if text in addresses:
            continue
        refusal = refusal_of_address(ipaddress.ip_address(text))
        if refusal and (refusal in ALWAYS_REFUSED or not allow_private):
            ctx.fail(
                PrivateOutputHostError,
                f"Refusing to download from {host!r}: it resolves to {text}, a {refusal} address "
                "(downloads reach only public addresses).",
            )
        addresses.append(text)
    if not addresses:
        raise httpcore.ConnectError("the output host resolves to no address")
    return addresses


class CheckedNetwork(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses :func:`resolve_checked` passed.

    TLS still verifies the certificate against the URL's host name (httpcore passes it as
    ``server_hostname`` separately); only the TCP connect goes to the checked address.
    """

    def __init__(self, ctx: CallContext, allow_private: bool) -> None:
        self.ctx, self.allow_private = ctx, allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in resolve_checked(host, port, self.ctx, self.allow_private):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                failure = err
        assert failure is not None
        raise failure


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport over a pool whose connections go through :class:`CheckedNetwork`.

    ``HTTPTransport`` takes no network backend, so its pool is rebuilt with one (the pool is the
    transport's only state; requests, responses and error mapping stay httpx's own).
    """

    def __init__(self, network: CheckedNetwork, verify: Any = True) -> None:
        ssl_context = (
            verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        )
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=network)


def output_client(
    timeout: float, ctx: CallContext, user_agent: str, verify: Any = True, *, allow_private: bool = False
) -> httpx.Client:
    """The HTTP client for output URLs: no credentials of any kind, every hop checked (the URL by
    the policy, every address connected to by :class:`CheckedNetwork`)."""

    def guard(request: httpx.Request) -> None:
        check_output_url(str(request.url), ctx)
        for header in ("authorization", "proxy-authorization", "cookie"):
            request.headers.pop(header, None)

    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(30.0, timeout)),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,  # no .netrc credentials, no proxy from the environment
        transport=CheckedTransport(CheckedNetwork(ctx, allow_private), verify),
        headers={"User-Agent": user_agent},
        event_hooks={"request": [guard]},
    )


def _classify(response: httpx.Response, shown: str, ctx: CallContext) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    where = f"Download of {shown} answered HTTP {status}"
    if status in (403, 410):
        ctx.fail(
            OutputExpiredError, f"{where}: the signed URL has expired or was revoked.", status_code=status
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        ctx.fail(MediaJobRateLimitedError, where + ".", status_code=status, retry_after=retry_after)
    if status >= 500 or status == 408:
        ctx.fail(MediaJobTransientError, where + ".", status_code=status)
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
    "CheckedNetwork",
    "CheckedTransport",
    "Downloaded",
    "OutputExistsError",
    "OutputExpiredError",
    "OutputTooLargeError",
    "OutputTooSlowError",
    "PrivateOutputHostError",
    "UnsafeOutputUrlError",
    "check_output_url",
    "download",
    "max_bytes_for",
    "output_client",
    "resolve_checked",
    "shown_url",
]
