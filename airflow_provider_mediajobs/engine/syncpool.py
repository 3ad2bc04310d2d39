"""The sync path's ``requests`` adapter: urllib3's own pools, telling the call's deadline which
connection they hand out, so that the deadline can end a call that is still connecting, in the TLS
handshake or reading the status line and headers (see :class:`.limits.SyncDeadline`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import urllib3.poolmanager
from requests.adapters import DEFAULT_POOLBLOCK, DEFAULT_POOLSIZE, HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Watcher(Protocol):
    def attach(self, connection: Any) -> None: ...


_current = threading.local()


@contextmanager
def reporting_to(watcher: Watcher) -> Iterator[None]:
    """Within the block, connections this thread takes from a reporting pool go to ``watcher``."""
    previous = getattr(_current, "watcher", None)
    _current.watcher = watcher
    try:
        yield
    finally:
        _current.watcher = previous


class _Reporting:
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        watcher = getattr(_current, "watcher", None)
        if watcher is not None:
            watcher.attach(conn)
        return conn


class ReportingHTTPConnectionPool(_Reporting, HTTPConnectionPool):
    pass


class ReportingHTTPSConnectionPool(_Reporting, HTTPSConnectionPool):
    pass


_DEFAULT_POOLS = urllib3.poolmanager.pool_classes_by_scheme
_REPORTING_POOLS = {"http": ReportingHTTPConnectionPool, "https": ReportingHTTPSConnectionPool}


def _use_reporting_pools(manager: Any) -> Any:
    # only where the manager uses urllib3's default pools (a SOCKS proxy brings its own)
    if getattr(manager, "pool_classes_by_scheme", None) == _DEFAULT_POOLS:
        manager.pool_classes_by_scheme = _REPORTING_POOLS
    return manager


class DeadlineAdapter(HTTPAdapter):
    """``requests``' default adapter whose pools report the connection each request gets."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _use_reporting_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return _use_reporting_pools(super().proxy_manager_for(proxy, **proxy_kwargs))


def ensure_deadline_adapter(session: Any, url: str) -> None:
    """Give ``session`` the :class:`DeadlineAdapter` if ``url`` would go through requests' plain
    default adapter (a session with an adapter of its own keeps it; its deadline then starts to
    bite once the answer's headers are in)."""
    if type(session.get_adapter(url)) is not HTTPAdapter:
        return
    for prefix in ("https://", "http://"):
        old = session.adapters.get(prefix)
        if type(old) is HTTPAdapter:  # same settings, reporting pools
            session.mount(
                prefix,
                DeadlineAdapter(
                    pool_connections=getattr(old, "_pool_connections", DEFAULT_POOLSIZE),
                    pool_maxsize=getattr(old, "_pool_maxsize", DEFAULT_POOLSIZE),
                    max_retries=old.max_retries,
                    pool_block=getattr(old, "_pool_block", DEFAULT_POOLBLOCK),
                ),
            )
            old.close()
