"""The HTTP/1.1 response parser of :mod:`.http1`: bytes in, status, headers and body out.

Sans-IO and incremental: :meth:`ResponseParser.feed` takes whatever ``data_received`` got (any
split, one byte at a time included), :meth:`ResponseParser.eof` is told when the peer closed.
Bodies are delimited by ``Content-Length``, chunked transfer encoding (trailers skipped) or the
close of the connection; 1xx interim responses are skipped. Malformed or oversized input raises
:class:`httpx.RemoteProtocolError`, which the transport reports like httpx's own transport does.
"""

from __future__ import annotations

import httpx

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024


class ResponseParser:
    """Incremental HTTP/1.1 response parser (status line, headers, Content-Length/chunked/close body)."""

    __slots__ = (
        "_buf",
        "_chunk_left",
        "_head_only",
        "_mode",
        "_remaining",
        "body",
        "done",
        "headers",
        "keep_alive",
        "status",
    )

    def __init__(self, head_only: bool = False) -> None:
        self._buf = b""
        self._mode = "head"  # head -> length | chunked | close -> done
        self._remaining = 0
        self._chunk_left = -1
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.keep_alive = True
        self.done = False
        self._head_only = head_only

    def feed(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        self._buf = b""
        while buf and not self.done:
            if self._mode == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEADER_BYTES:
                        raise httpx.RemoteProtocolError("response headers too large")
                    self._buf = buf
                    return
                self._parse_head(buf[:end])
                buf = buf[end + 4 :]
            elif self._mode == "length":
                take = buf[: self._remaining]
                self.body.append(take)
                self._remaining -= len(take)
                buf = buf[len(take) :]
                if self._remaining == 0:
                    self.done = True
            elif self._mode == "close":
                self.body.append(buf)
                if sum(map(len, self.body)) > MAX_BODY_BYTES:
                    raise httpx.RemoteProtocolError("response body too large")
                buf = b""
            else:
                buf = self._chunked(buf)
        if buf and self.done:
            # bytes after a complete response on a one-request-at-a-time connection: unusable
            self.keep_alive = False

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}")
        try:
            status = int(parts[1])
        except ValueError:
            raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}") from None
        if 100 <= status < 200:  # interim response (100 Continue): skip it, keep parsing
            return
        headers = []
        length = None
        chunked = False
        keep_alive = parts[0] == b"HTTP/1.1"
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise httpx.RemoteProtocolError("malformed response header")
            value = value.strip()
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise httpx.RemoteProtocolError("bad Content-Length") from None
            elif lower == b"transfer-encoding":
                chunked = value.lower().endswith(b"chunked")
            elif lower == b"connection":
                token = value.lower()
                if b"close" in token:
                    keep_alive = False
                elif b"keep-alive" in token:
                    keep_alive = True
        self.status, self.headers, self.keep_alive = status, headers, keep_alive
        if self._head_only or status in (204, 304):
            self.done = True
        elif chunked:
            self._mode = "chunked"
        elif length is not None:
            if length > MAX_BODY_BYTES:
                raise httpx.RemoteProtocolError("response body too large")
            self._mode, self._remaining = "length", length
            self.done = length == 0
        else:
            self._mode, self.keep_alive = "close", False

    def _chunked(self, buf: bytes) -> bytes:
        while buf:
            if self._chunk_left < 0:  # expecting a size line
                end = buf.find(b"\r\n")
                if end < 0:
                    self._buf = buf
                    return b""
                try:
                    size = int(buf[:end].split(b";", 1)[0], 16)
                except ValueError:
                    raise httpx.RemoteProtocolError("bad chunk size") from None
                buf = buf[end + 2 :]
                if size == 0:
                    end = buf.find(b"\r\n\r\n") if buf[:2] != b"\r\n" else 0
                    if end < 0:  # trailers not complete yet
                        self._buf, self._chunk_left = b"0\r\n" + buf, -1
                        return b""
                    self.done = True
                    return buf[end + (2 if end == 0 else 4) :]
                self._chunk_left = size + 2  # data + CRLF
            take = buf[: self._chunk_left]
            buf = buf[len(take) :]
            self._chunk_left -= len(take)
            data = take if self._chunk_left >= 2 else take[: len(take) - (2 - self._chunk_left)]
            if data:
                self.body.append(data)
            if self._chunk_left == 0:
                self._chunk_left = -1
        return b""

    def eof(self) -> bool:
        """The peer closed: True if that completes the response (close-delimited body)."""
        if self._mode == "close" and not self.done:
            self.done = True
        return self.done


__all__ = ["MAX_BODY_BYTES", "MAX_HEADER_BYTES", "ResponseParser"]
