"""Our policy over the HTTP libraries, shared by the sync (requests) and async (httpx on aiohttp) paths.

The libraries speak the protocol; this module owns the limits: a total deadline per call (not only
per read), a size cap on every answer enforced while it streams in, an explicit ``Accept-Encoding``
with bounded, incremental decompression of what a server sends encoded anyway, and the mapping of
every library error into the package's typed exceptions.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow_provider_mediajobs.engine.config import DEFAULT_MAX_RESPONSE_BYTES
from airflow_provider_mediajobs.exceptions import (
    MediaJobBadResponseError,
    MediaJobConfigError,
    MediaJobError,
    MediaJobTransientError,
)

if TYPE_CHECKING:
    from airflow_provider_mediajobs.dialects.base import CallContext
    from airflow_provider_mediajobs.engine.config import ApiConfig

if sys.version_info >= (3, 11):
    from asyncio import timeout as deadline
else:  # aiohttp depends on async-timeout below 3.11
    from async_timeout import timeout as deadline

ACCEPT_ENCODING = "identity"  # small JSON answers: compression saves little and costs CPU per read
READ_CHUNK = 16 * 1024
_STEP = 64 * 1024  # decompressed bytes produced per step: never one long stretch on the event loop

TLS_HINT = (
    "Check the connection's host, or, for a server with a private CA (a proxy that inspects TLS, "
    "a staging endpoint), point SSL_CERT_FILE (async path) and REQUESTS_CA_BUNDLE (sync path) of "
    "the Airflow processes at a CA bundle that includes it."
)
SIZE_HINT = (
    "Status answers are a few KB; check that the host of connection '{conn_id}' is the provider's "
    "API, or raise 'max_response_bytes' in its extra if the provider legitimately answers more."
)


class ResponseTooLarge(Exception):
    def __init__(self, size: int, cap: int, declared: bool = False) -> None:
        self.size, self.cap, self.declared = size, cap, declared
        super().__init__(size, cap)


class BadEncoding(Exception):
    """A Content-Encoding we cannot (or will not) decode, or a corrupt encoded body."""


class BodyReader:
    """Collects one answer's body chunk by chunk, within ``cap`` bytes on the wire and decoded.

    ``gzip`` and ``deflate`` are decoded incrementally (``decompressobj`` with ``max_length``), so a
    decompression bomb stops at the cap after at most one step of work, not after it filled memory.
    """

    __slots__ = ("_decoder", "_parts", "_size", "_wire", "cap")

    def __init__(self, cap: int, content_encoding: str | None, content_length: str | None) -> None:
        self.cap = cap
        self._parts: list[bytes] = []
        self._size = self._wire = 0
        declared = (content_length or "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > cap:
            raise ResponseTooLarge(int(declared), cap, declared=True)
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._decoder: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = _DeflateDecoder()
        elif encoding == "identity":
            self._decoder = None
        else:
            raise BadEncoding(f"an answer in the Content-Encoding {encoding[:40]!r}, which was not asked for")

    def feed(self, data: bytes) -> None:
        self._wire += len(data)
        if self._wire > self.cap:
            raise ResponseTooLarge(self._wire, self.cap)
        if self._decoder is None:
            self._add(data)
            return
        try:
            while data:
                self._add(self._decoder.decompress(data, _STEP))
                data = self._decoder.unconsumed_tail
        except zlib.error as err:
            raise BadEncoding(f"a corrupt compressed body ({err})") from None

    def _add(self, data: bytes) -> None:
        if data:
            self._size += len(data)
            if self._size > self.cap:
                raise ResponseTooLarge(self._size, self.cap)
            self._parts.append(data)

    def finish(self) -> bytes:
        if self._decoder is not None:
            try:
                while tail := self._decoder.decompress(self._decoder.unconsumed_tail, _STEP):
                    self._add(tail)
                self._add(self._decoder.flush(_STEP))
            except zlib.error as err:
                raise BadEncoding(f"a corrupt compressed body ({err})") from None
        parts = self._parts
        return parts[0] if len(parts) == 1 else b"".join(parts)


class _DeflateDecoder:
    """``deflate`` as servers send it: zlib-wrapped (RFC 1950) or, wrongly but commonly, raw."""

    def __init__(self) -> None:
        self._inner: Any = None
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._inner is None:
            self._inner = zlib.decompressobj()
            try:
                out = self._inner.decompress(data, max_length)
            except zlib.error:
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._inner.decompress(data, max_length)
        else:
            out = self._inner.decompress(data, max_length)
        self.unconsumed_tail = self._inner.unconsumed_tail
        return bytes(out)

    def flush(self, length: int) -> bytes:
        return bytes(self._inner.flush(length)) if self._inner is not None else b""


# ---- sync deadline --------------------------------------------------------------------------------
class SyncDeadline:
    """A total deadline for one ``requests`` call: a timer, started before the request is sent,
    that shuts the connection's socket down when it passes.

    ``requests`` only bounds each read, so an answer dripped a byte a second never times out. The
    :class:`.syncpool.DeadlineAdapter`'s pools hand the call's connection to :meth:`attach` before
    it connects, so connecting, the TLS handshake, the status line, headers and body are all bounded;
    with another adapter :meth:`watch` names the connection once the headers are in.
    """

    RECHECK = 0.05  # expired while the socket did not exist yet (connecting): look again this often

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._conn: Any = None
        self._sock: Any = None
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._reporting: Any = None

    def __enter__(self) -> SyncDeadline:
        from airflow_provider_mediajobs.engine.syncpool import reporting_to

        self._reporting = reporting_to(self)
        self._reporting.__enter__()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
            self._conn = self._sock = None
        self._timer.cancel()
        self._reporting.__exit__(None, None, None)

    def attach(self, connection: Any) -> None:
        """The urllib3 connection this call got from its pool (not yet connected, or reused)."""
        with self._lock:
            if self._done:
                return
            self._conn = connection
            expired = self.expired
        if expired:
            self._expire()

    def watch(self, response: Any) -> None:
        raw = getattr(response, "raw", None)
        connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        with self._lock:
            self._sock = sock
            expired = self.expired
        if expired:
            _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = self._sock or getattr(self._conn, "sock", None)
            if sock is None:  # connecting (bounded by the connect timeout): the socket comes soon
                recheck = threading.Timer(self.RECHECK, self._expire)
                recheck.daemon = True
                recheck.start()
                return
        _shutdown(sock)


def _shutdown(sock: Any) -> None:
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            # the plain socket's shutdown, also for a TLS socket: the reading thread sees EOF at once
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


# ---- error mapping --------------------------------------------------------------------------------
def _chain(err: BaseException) -> Iterator[BaseException]:
    """``err``, what caused it, and exceptions carried in its args (requests wraps urllib3's so)."""
    seen: set[int] = set()
    todo = [err]
    while todo:
        current = todo.pop()
        if id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        yield current
        todo += [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError
        todo += [c for c in (current.__cause__, current.__context__, reason) if isinstance(c, BaseException)]


def _certificate_problem(err: BaseException) -> str | None:
    for current in _chain(err):
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            detail = text.rsplit("certificate verify failed:", 1)[-1].strip(" ')\"]")
            return detail.split(" (_ssl.c")[0] or "verification failed"
    return None


_PROTOCOL = {
    "HttpProcessingError",  # aiohttp's parser: bad status line, header too long, bad length/chunk
    "ClientPayloadError",
    "ClientResponseError",
    "RemoteProtocolError",
    "LocalProtocolError",
    "DecodingError",
    "ChunkedEncodingError",
    "ContentDecodingError",
    "InvalidChunkLength",
    "IncompleteRead",
    "HTTPException",  # http.client: LineTooLong, BadStatusLine, UnknownProtocol
    "HeaderParsingError",
    "InvalidHeader",
}
_DROPPED = {"ServerDisconnectedError", "RemoteDisconnected", "ConnectionResetError", "BrokenPipeError"}
_CONNECT = {
    "ClientConnectorError",
    "NewConnectionError",
    "ConnectionRefusedError",
    "ConnectError",
    "gaierror",
}


def _kinds(err: BaseException) -> set[str]:
    """Class names along the chain; an httpx exception that only re-labels a cause is skipped
    (httpx-aiohttp maps every aiohttp connection error, a refused or dropped one too, to a timeout)."""
    return {
        cls.__name__
        for e in _chain(err)
        if not (type(e).__module__.startswith("httpx") and e.__cause__ is not None)
        for cls in type(e).__mro__
    }


def describe(
    err: BaseException, timeout: float, deadline_hit: bool = False
) -> tuple[type[MediaJobError], str]:
    """The typed error class and a short description for a failure of one HTTP call."""
    if isinstance(err, ResponseTooLarge):
        how = "declares" if err.declared else "exceeded"
        return (
            MediaJobBadResponseError,
            f"the answer {how} {err.size} bytes, over max_response_bytes={err.cap}",
        )
    if isinstance(err, BadEncoding):
        return MediaJobBadResponseError, f"the server sent {err}"
    kinds = _kinds(err)
    if deadline_hit:
        return MediaJobTransientError, _no_answer(timeout)
    # a peer that hangs up before answering is a dropped connection, whatever the parser calls it
    # (also mid-body: a truncated answer), which a retry can fix
    hung_up = any(
        text in str(e)
        for e in _chain(err)
        for text in ("disconnected without sending", "peer closed connection", "payload is not completed")
    ) or bool(kinds & {"IncompleteRead"})
    if kinds & _PROTOCOL and not hung_up:
        return MediaJobBadResponseError, f"an answer that is not valid HTTP ({_root_name(err)})"
    if kinds & _DROPPED or hung_up:
        closed = "the server closed the connection before a complete answer"
        return MediaJobTransientError, f"connection problem ({_root_name(err)}: {closed})"
    if kinds & _CONNECT:  # before timeouts: urllib3's NewConnectionError is a ConnectTimeoutError
        return MediaJobTransientError, f"connection problem ({_root_name(err)}: could not connect)"
    if kinds & {"TimeoutError", "TimeoutException", "Timeout"}:
        return MediaJobTransientError, _no_answer(timeout)
    return MediaJobTransientError, f"connection problem ({_root_name(err)})"


def _no_answer(timeout: float) -> str:
    return f"no answer within {timeout:g}s (the connection's timeout, for the whole call)"


def _root_name(err: BaseException) -> str:
    root = err
    while root.__cause__ is not None:
        root = root.__cause__
    return type(root).__name__


def map_error(
    ctx: CallContext, config: ApiConfig, err: BaseException, deadline_hit: bool = False
) -> MediaJobError:
    """Any failure of one call (transport, framing, limits) as one of the package's typed errors."""
    if isinstance(err, MediaJobError):
        return err
    where = f"{config.provider} API at {config.origin}"
    problem = _certificate_problem(err)
    if problem is not None:
        return ctx.error(
            MediaJobConfigError,
            f"{where}: the server's TLS certificate was refused ({problem}).",
            hint=TLS_HINT,
        )
    cls, what = describe(err, config.timeout, deadline_hit)
    hint = SIZE_HINT if isinstance(err, ResponseTooLarge) else None
    return ctx.error(cls, f"{where}: {what}.", hint=hint)


__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "BadEncoding",
    "BodyReader",
    "ResponseTooLarge",
    "SyncDeadline",
    "deadline",
    "describe",
    "map_error",
]
