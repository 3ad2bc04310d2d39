"""The async path's aiohttp connector: aiohttp's own ``TCPConnector``, minus one unsafe reuse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from aiohttp.client_reqrep import ConnectionKey
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace


class CheckedConnector(aiohttp.TCPConnector):
    """Closes instead of reusing a pooled connection whose protocol reports ``should_close``: bytes the
    server sent on it while idle, which aiohttp would take as the next request's answer (urllib3 drops
    such a connection; aio-libs/aiohttp#13656). Overrides ``_get``, the pool's reuse step (aiohttp >= 3.11)."""

    async def _get(self, key: ConnectionKey, traces: list[Trace]) -> Connection | None:
        conn = await super()._get(key, traces)
        while conn is not None and (conn.protocol is None or conn.protocol.should_close):
            conn.close()  # releases its slot and closes the transport
            conn = await super()._get(key, traces)
        return conn
