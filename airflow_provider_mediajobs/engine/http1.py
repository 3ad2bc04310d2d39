"""A lean HTTP/1.1 transport for httpx, built for thousands of small polls from one event loop.

Why not httpx's default transport (httpcore)? Measured in ``benchmarks/`` (docs/benchmarks.md):
with ~1,000 waits on one loop, httpcore's pool rescans every connection on every request and
release (``_assign_requests_to_connections``, ``is_socket_readable``), which made a 1 KB status
read cost milliseconds of CPU, and under load it opened many short-lived connections.

This transport is an :class:`httpx.AsyncBaseTransport`, so callers keep the httpx API (``Request``,
``Response``, the exception family, ``MockTransport`` in tests). Design:

- per origin a small pool of persistent keep-alive connections (``max_connections``, default 8)
  and a FIFO queue of requests waiting for one: at most a handful of TCP (and TLS) handshakes
  however many waits share the loop; one request in flight per connection;
- each connection is an :class:`asyncio.Protocol` (no stream objects, no extra tasks): the
  response is parsed in ``data_received`` by :class:`~.http1_parser.ResponseParser` (``bytes.find``
  and slicing), and the waiting request's future is resolved when the body is complete;
- a connection the server closed while idle is dropped when its EOF arrives (no socket polling
  on reuse); an idempotent request that finds a reused connection dead before any byte of the
  answer arrived is sent once more on a fresh connection;
- idle connections close after ``keepalive_expiry``; timeouts come from the request's httpx
  ``timeout`` extension (connect, write+read, pool) and raise the matching httpx exceptions.

Bodies are read whole (``Content-Length``, chunked, or until close), which is what status and
control calls need; downloads of outputs use ``requests`` streaming elsewhere.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import time
from typing import Any

import httpx

from airflow_provider_mediajobs.engine.http1_parser import ResponseParser

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self, pool: _OriginPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.forgotten = False  # its pool slot was freed
        self.used = 0
        self.idle_since = 0.0
        self._waiter: asyncio.Future[ResponseParser] | None = None
        self._parser: ResponseParser | None = None
        self._received = False

    # asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        parser, waiter = self._parser, self._waiter
        if parser is None or waiter is None or waiter.done():
            self.close()  # unsolicited bytes: the connection is out of sync
            return
        self._received = True
        try:
            parser.feed(data)
        except httpx.RemoteProtocolError as err:
            waiter.set_exception(err)
            self.close()
            return
        if parser.done:
            self._parser = None
            waiter.set_result(parser)

    def eof_received(self) -> bool | None:
        self._finish_on_close(None)
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish_on_close(exc)
        self.closed = True
        self.transport = None
        self.pool.forget(self)

    def _finish_on_close(self, exc: Exception | None) -> None:
        self.closed = True
        parser, waiter = self._parser, self._waiter
        self._parser = None
        if waiter is None or waiter.done():
            return
        if parser is not None and parser.eof():
            parser.keep_alive = False
            waiter.set_result(parser)
            return
        error = _Stale if not self._received else httpx.RemoteProtocolError
        waiter.set_exception(error("the server closed the connection without a complete response"))

    # use ----------------------------------------------------------------------------------------
    async def exchange(self, data: bytes, head_only: bool, timeout: float | None) -> ResponseParser:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._parser = ResponseParser(head_only)
        self._received = False
        self.used += 1
        self.transport.write(data)
        timer = None if timeout is None else loop.call_later(timeout, self._timed_out, waiter)
        try:
            return await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _timed_out(self, waiter: asyncio.Future[ResponseParser]) -> None:
        if not waiter.done():
            waiter.set_exception(httpx.ReadTimeout("no response within the timeout"))
            self._parser = None
            self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Stale(httpx.RemoteProtocolError):
    """A reused connection was dead before any byte of the response arrived (safe to resend)."""


class _OriginPool:
    def __init__(self, owner: AsyncHTTP1Transport, scheme: str, host: str, port: int) -> None:
        self.owner = owner
        self.scheme, self.host, self.port = scheme, host, port
        self.idle: collections.deque[_Connection] = collections.deque()
        self.waiters: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()
        self.total = 0  # open + opening connections

    async def acquire(self, connect_timeout: float | None, pool_timeout: float | None) -> _Connection:
        while self.idle:
            conn = self.idle.pop()  # LIFO: keep the few warm connections busy, let the rest expire
            if not conn.closed:
                if time.monotonic() - conn.idle_since < self.owner.keepalive_expiry:
                    return conn
                conn.close()
        if self.total < self.owner.max_connections:
            return await self._open(connect_timeout)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Connection | None] = loop.create_future()
        self.waiters.append(waiter)
        timer = None if pool_timeout is None else loop.call_later(pool_timeout, self._pool_timed_out, waiter)
        try:
            got = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a connection or a slot, then cancelled
                handed = waiter.result()
                if handed is not None:
                    self.release(handed)
                else:
                    self.total -= 1
                    self._wake_one()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if got is None:  # a slot was freed and reserved for us: open a connection of our own
            return await self._open(connect_timeout, reserved=True)
        return got

    def _pool_timed_out(self, waiter: asyncio.Future[_Connection | None]) -> None:
        if not waiter.done():
            waiter.set_exception(httpx.PoolTimeout("no connection became free within the pool timeout"))

    async def _open(self, connect_timeout: float | None, reserved: bool = False) -> _Connection:
        loop = asyncio.get_running_loop()
        if not reserved:
            self.total += 1
        try:
            ssl_context: ssl.SSLContext | None = None
            if self.scheme == "https":
                ssl_context = self.owner.ssl_context
            coro = loop.create_connection(
                lambda: _Connection(self),
                self.host,
                self.port,
                ssl=ssl_context,
                server_hostname=self.host if ssl_context is not None else None,
            )
            try:
                _, conn = await (coro if connect_timeout is None else asyncio.wait_for(coro, connect_timeout))
            except asyncio.TimeoutError:
                raise httpx.ConnectTimeout(f"could not connect to {self.host}:{self.port} in time") from None
            except (OSError, ssl.SSLError) as err:
                raise httpx.ConnectError(f"{type(err).__name__}: {err}") from None
        except BaseException:
            self.total -= 1
            self._wake_one()
            raise
        self.owner.connections_opened += 1
        return conn

    def release(self, conn: _Connection) -> None:
        """Hand a healthy connection to the next waiting request, or park it as idle."""
        if conn.closed:
            return
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.idle_since = time.monotonic()
        self.idle.append(conn)

    def forget(self, conn: _Connection) -> None:
        """A connection closed (either side): free its slot for a waiting request."""
        if conn.forgotten:
            return
        conn.forgotten = True
        self.total -= 1
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)
        self._wake_one()

    def _wake_one(self) -> None:
        """A slot is free: reserve it for the first queued request (it opens a new connection)."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                self.total += 1
                waiter.set_result(None)
                return

    def close(self) -> None:
        for conn in list(self.idle):
            conn.close()
        self.idle.clear()
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(httpx.ConnectError("the transport was closed"))


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None, float | None]:
    timeout: dict[str, Any] = request.extensions.get("timeout") or {}
    # the request is small and handed to the socket buffer at once: the read timeout bounds the wait
    read = timeout.get("read")
    return timeout.get("connect"), read if read is not None else timeout.get("write"), timeout.get("pool")


class AsyncHTTP1Transport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 over asyncio protocols; ``max_connections`` per origin, FIFO queue."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 8,
        keepalive_expiry: float = 30.0,
    ) -> None:
        self.ssl_context = ssl_context
        self.max_connections = max(1, int(max_connections))
        self.keepalive_expiry = keepalive_expiry
        self._pools: dict[tuple[str, str, int], _OriginPool] = {}
        self.connections_opened = 0
        self._closed = False

    @staticmethod
    def _encode(request: httpx.Request, body: bytes) -> bytes:
        url = request.url
        lines = [b"%s %s HTTP/1.1" % (request.method.encode(), url.raw_path)]
        has_host = has_length = False
        for name, value in request.headers.raw:
            lower = name.lower()
            if lower == b"host":
                has_host = True
            elif lower == b"content-length":
                has_length = True
            elif lower == b"transfer-encoding":
                continue  # the body is sent whole with a Content-Length
            lines.append(name + b": " + value)
        if not has_host:
            default = 443 if url.raw_scheme == b"https" else 80
            host = url.raw_host if url.port in (None, default) else b"%s:%d" % (url.raw_host, url.port)
            lines.insert(1, b"Host: " + host)
        if not has_length and (body or request.method not in ("GET", "HEAD", "DELETE", "OPTIONS")):
            lines.append(b"Content-Length: %d" % len(body))
        lines.append(b"\r\n")
        return b"\r\n".join(lines) + body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The httpx transport interface (used by ``httpx.AsyncClient`` and anything generic)."""
        url = request.url
        scheme = url.raw_scheme.decode("ascii")
        port = url.port or (443 if scheme == "https" else 80)
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        status, headers, content = await self.exchange(
            scheme,
            url.raw_host.decode("ascii"),
            port,
            request.method,
            self._encode(request, body),
            *_timeouts(request),
        )
        return httpx.Response(
            status, headers=headers, content=content, extensions={"http_version": b"HTTP/1.1"}
        )

    async def exchange(
        self,
        scheme: str,
        host: str,
        port: int,
        method: str,
        data: bytes,
        connect_timeout: float | None = None,
        exchange_timeout: float | None = None,
        pool_timeout: float | None = None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send one encoded request on a pooled connection; return status, raw headers, body.

        The lower-level entry point: callers that already hold the request as bytes (the shared
        client of :mod:`engine.transport`) skip building httpx model objects per call.
        """
        if self._closed:
            raise httpx.ConnectError("the transport was closed")
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            if scheme not in ("http", "https"):
                raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
            pool = self._pools[key] = _OriginPool(self, scheme, host, port)
        head_only = method == "HEAD"
        for attempt in (1, 2):
            conn = await pool.acquire(connect_timeout, pool_timeout)
            reused = conn.used > 0
            try:
                parser = await conn.exchange(data, head_only, exchange_timeout)
            except _Stale as err:
                conn.close()
                if reused and attempt == 1 and method in IDEMPOTENT:
                    continue
                raise httpx.RemoteProtocolError(str(err)) from None
            except BaseException:  # timeout, protocol error, cancellation: the connection is unusable
                conn.close()
                raise
            if parser.keep_alive and not conn.closed:
                pool.release(conn)
            else:
                conn.close()
            body = parser.body[0] if len(parser.body) == 1 else b"".join(parser.body)
            return parser.status, parser.headers, body
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
