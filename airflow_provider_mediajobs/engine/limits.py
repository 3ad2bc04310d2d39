"""Our policy over the HTTP libraries, shared by the sync (requests) and async (httpx on aiohttp) paths.

The libraries speak the protocol; this module owns the limits: a total deadline per call (not only
per read), a size cap on every answer enforced while it streams in, and an explicit
``Accept-Encoding`` with bounded, incremental decompression of what a server sends encoded anyway.
What a call that broke a limit (or failed in a library) raises is :mod:`.errormap`'s business.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import zlib
from typing import Any

from airflow_provider_mediajobs.engine.config import DEFAULT_MAX_RESPONSE_BYTES

if sys.version_info >= (3, 11):
    from asyncio import timeout as deadline
else:  # aiohttp depends on async-timeout below 3.11
    from async_timeout import timeout as deadline

ACCEPT_ENCODING = "identity"  # small JSON answers: compression saves little and costs CPU per read
READ_CHUNK = 16 * 1024
_STEP = 64 * 1024  # decompressed bytes produced per step: never one long stretch on the event loop


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


__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "READ_CHUNK",
    "BadEncoding",
    "BodyReader",
    "ResponseTooLarge",
    "SyncDeadline",
    "deadline",
]
