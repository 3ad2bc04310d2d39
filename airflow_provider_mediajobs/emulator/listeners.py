"""The emulator's listening sockets: its main port and one per provider origin (port 0: the OS
picks a free one), bound before the server starts so their ports are known at once."""

from __future__ import annotations

import socket
from collections.abc import Mapping


class Listeners:
    def __init__(self, host: str) -> None:
        self.host = host
        self.socks: list[socket.socket] = []
        self.port: int | None = None
        self.origins: dict[str, int] = {}

    def _bind(self, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, port))
            sock.listen(128)
        except OSError as err:
            sock.close()
            raise OSError(err.errno, f"cannot listen on {self.host}:{port}: {err.strerror}") from err
        return sock

    def open(self, port: int, origins: Mapping[str, int]) -> None:
        """Listen on ``port`` and on each provider's origin port; none stays open if one fails."""
        try:
            main = self._bind(port)
            self.socks.append(main)
            self.port = int(main.getsockname()[1])
            for provider, origin_port in origins.items():
                sock = self._bind(origin_port)
                self.socks.append(sock)
                self.origins[provider] = int(sock.getsockname()[1])
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        for sock in self.socks:
            sock.close()
        self.socks = []
        self.origins = {}
