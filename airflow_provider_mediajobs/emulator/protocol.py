"""A uvicorn HTTP protocol that counts TCP connections and lets the app kill its own connection.

ASGI gives an application no handle on the socket, so the ``reset`` and ``truncated`` faults need help
from the protocol: every accepted connection registers its transport under the client address (which
is also ``scope["client"]``), and the app looks it up to abort or close it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class Connections:
    """Open transports by client address; touched only from the server's event loop."""

    def __init__(self, on_open: Callable[[], None]) -> None:
        self._on_open = on_open
        self._transports: dict[tuple[str, int], tuple[asyncio.BaseTransport, asyncio.Event]] = {}

    def opened(self, client: Any, transport: asyncio.BaseTransport) -> None:
        self._on_open()
        if client:
            self._transports[(str(client[0]), int(client[1]))] = (transport, asyncio.Event())

    def closed(self, client: Any) -> None:
        if client:
            entry = self._transports.pop((str(client[0]), int(client[1])), None)
            if entry is not None:
                entry[1].set()

    async def kill(self, client: Any, *, abort: bool, timeout: float = 2.0) -> None:
        """Abort (drop unsent data) or close (flush, then FIN) the request's connection and wait for it."""
        if not client:
            return
        key = (str(client[0]), int(client[1]))
        entry = self._transports.get(key)
        if entry is None:
            return
        transport, closed = entry
        if abort and isinstance(transport, asyncio.WriteTransport):
            transport.abort()
        else:
            transport.close()
        # Wait for connection_lost so uvicorn sees a disconnect, not an unfinished response.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(closed.wait(), timeout)


def protocol_class(connections: Connections) -> type[H11Protocol]:
    """An ``H11Protocol`` subclass bound to ``connections`` (pass it as ``uvicorn.Config(http=...)``)."""

    class EmulatorProtocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                # asyncio skips TCP_NODELAY on sockets accepted from a listener made with proto 0;
                # without it, Nagle + delayed ACK add ~40 ms to every response written in two parts.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connections.opened(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            connections.closed(self.client)
            super().connection_lost(exc)

    return EmulatorProtocol
