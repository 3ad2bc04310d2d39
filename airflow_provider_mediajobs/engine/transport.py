"""Sending :class:`ApiRequest` objects: sync over ``requests``, async over httpx on aiohttp.

Both paths build the same URL and headers (:func:`prepare`), apply the same limits
(:mod:`.limits`: total deadline, size cap, bounded decoding, typed errors) and return the same
transport-neutral :class:`ApiResponse`, so the dialect parses them identically.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from airflow_provider_mediajobs import __version__
from airflow_provider_mediajobs.dialects.base import Dialect
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext
from airflow_provider_mediajobs.engine.config import ApiConfig
from airflow_provider_mediajobs.engine.errormap import map_error
from airflow_provider_mediajobs.engine.limits import (
    ACCEPT_ENCODING,
    READ_CHUNK,
    BodyReader,
    SyncDeadline,
    deadline,
)
from airflow_provider_mediajobs.engine.loopstore import loop_store

if TYPE_CHECKING:
    import requests

USER_AGENT = f"airflow-provider-mediajobs/{__version__}"


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def prepare(dialect: Dialect, config: ApiConfig, request: ApiRequest) -> PreparedRequest:
    path_and_query = config.base_path + request.path_and_query
    headers = {"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING, "User-Agent": USER_AGENT}
    if request.body is not None:
        headers["Content-Type"] = "application/json"
    headers.update(dialect.auth_headers(config.credentials, request, path_and_query))
    return PreparedRequest(request.method, config.origin + path_and_query, headers, request.body)


# ---- sync ---------------------------------------------------------------------------------------
def send_sync(
    session: requests.Session, dialect: Dialect, config: ApiConfig, request: ApiRequest, ctx: CallContext
) -> ApiResponse:
    from airflow_provider_mediajobs.engine.syncpool import ensure_deadline_adapter

    prepared = prepare(dialect, config, request)
    ensure_deadline_adapter(session, prepared.url)  # the deadline then covers connect and headers too
    guard = SyncDeadline(config.timeout)
    try:
        with guard:
            response = session.request(
                prepared.method,
                prepared.url,
                headers=prepared.headers,
                data=prepared.body,
                timeout=config.timeout,
                allow_redirects=False,
                stream=True,  # read below, chunk by chunk, within the size cap and the deadline
            )
            guard.watch(response)
            try:
                headers = {k.lower(): v for k, v in response.headers.items()}
                reader = BodyReader(
                    config.max_response_bytes, headers.get("content-encoding"), headers.get("content-length")
                )
                for chunk in response.raw.stream(READ_CHUNK, decode_content=False):
                    reader.feed(chunk)
                body = reader.finish()
            finally:
                response.close()  # an answer not read to its end closes its connection
    except Exception as err:  # requests', urllib3's, the deadline's and the size cap's: all typed
        raise map_error(ctx, config, err, deadline_hit=guard.expired) from None
    return ApiResponse(response.status_code, body, headers)


# ---- async: one pooled client per event loop and endpoint ---------------------------------------
# httpx is the client API; under it httpx-aiohttp's AiohttpTransport puts one aiohttp ClientSession
# per event loop and endpoint (benchmarks/, docs/benchmarks.md): a few keep-alive connections, a
# DNS cache, the environment's proxy through aiohttp's own proxy support.
MAX_CONNECTIONS = 8  # per endpoint and event loop; requests beyond that wait for a free connection
KEEPALIVE_EXPIRY = 30.0
DNS_CACHE_TTL = 300.0
SHARED_HEADERS = 64  # header sets kept per client (one per dialect and key), bounded


class SharedClient:
    """The loop's HTTP client for one endpoint: an httpx transport and the one connection cap.

    Requests go straight to the transport (httpx's public ``handle_async_request``), not through
    an ``httpx.AsyncClient``: its auth flow, redirect loop and cookie jar do nothing for these
    calls (no auth object, no redirects, no cookies kept) and cost time on every read. The only
    timeout is the caller's total deadline (:func:`send_prepared`); the transport gets none.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport
        self._headers: dict[tuple[str, str | None], httpx.Headers] = {}
        # The one connection cap: reads beyond it queue here, before any request object exists,
        # not inside aiohttp's connector with their whole httpx/aiohttp call stack (memory per wait).
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.is_closed = False

    def request(
        self, prepared: PreparedRequest, shared: tuple[str, str | None] | None = None
    ) -> httpx.Request:
        """``prepared`` as the httpx request a read sends: its URL parsed and headers built here.

        A request that never changes (no body, no signature) can be sent again and again; with
        ``shared`` (the dialect and key it authenticates as) its headers are one object for every
        request on this endpoint with that key.
        """
        request = httpx.Request(
            prepared.method, prepared.url, headers=prepared.headers, content=prepared.body
        )
        if shared is not None:
            headers = self._headers.get(shared)
            if headers is None:
                if len(self._headers) >= SHARED_HEADERS:
                    self._headers.clear()
                headers = self._headers[shared] = request.headers
            request.headers = headers
        return request

    async def send(self, request: httpx.Request, max_bytes: int) -> ApiResponse:
        """Send one request; read the answer within ``max_bytes`` (see :class:`BodyReader`)."""
        async with self._slots:
            response = await self.transport.handle_async_request(request)
            try:
                found = {k: v for k, v in response.headers.items()}  # httpx: lower-case names
                reader = BodyReader(max_bytes, found.get("content-encoding"), found.get("content-length"))
                if response.is_stream_consumed:
                    # a transport that answered with bytes in hand (httpx.MockTransport, a wrapper
                    # that read the answer) has its content already; its exhausted stream must not
                    # be read again
                    reader.feed(response.content)
                else:
                    async for chunk in response.aiter_raw():
                        reader.feed(chunk)
                body = reader.finish()
            finally:
                await response.aclose()
        return ApiResponse(response.status_code, body, found)

    async def aclose(self) -> None:
        self.is_closed = True
        await self.transport.aclose()


@dataclass
class _Pooled:
    client: SharedClient
    users: int = 0


_transport_override: httpx.AsyncBaseTransport | None = None


@contextmanager
def override_async_transport(transport: httpx.AsyncBaseTransport) -> Iterator[None]:
    """Route every async call through ``transport`` (e.g. ``httpx.MockTransport``) — for tests."""
    global _transport_override
    previous, _transport_override = _transport_override, transport
    try:
        yield
    finally:
        _transport_override = previous


_ssl_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One verified TLS context per process: building one reads the CA bundle (disk and CPU),
    which must not happen on the triggerer's event loop for every client."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx.create_ssl_context()
    return _ssl_context


_TLS_BUILD = ("tls-build",)  # the loop store's key of a TLS context being built


async def ashared_ssl_context() -> ssl.SSLContext:
    """:func:`shared_ssl_context` built once in a thread, however many waits start at once.

    Waits starting together share one build instead of each starting a thread and loading the
    CA bundle in parallel, which holds up the event loop (tests/e2e/test_trigger_event_loop.py).
    """
    if _ssl_context is not None:
        return _ssl_context
    store = loop_store()
    build: asyncio.Future[ssl.SSLContext] | None = store.get(_TLS_BUILD)
    if build is None:
        build = store[_TLS_BUILD] = asyncio.get_running_loop().run_in_executor(None, shared_ssl_context)
    try:
        return await asyncio.shield(build)
    finally:
        if build.done():
            store.pop(_TLS_BUILD, None)  # built (or failed: the next wait tries again)


def environment_proxy(origin: str) -> str | None:
    """The proxy that ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` (minus ``NO_PROXY``) set for
    ``origin`` — the variables ``requests`` (the sync path) and ``httpx`` honour."""
    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    parts = urlsplit(origin)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    # proxy_bypass_environment: in urllib.request since Python 3.0, missing from typeshed's stubs
    if not proxy or urllib.request.proxy_bypass_environment(parts.netloc, proxies):  # type: ignore[attr-defined]
        return None
    return proxy


def _new_client(verify: ssl.SSLContext, origin: str) -> SharedClient:
    """Build the client for ``origin`` on the running loop (an aiohttp session belongs to one loop)."""
    if _transport_override is not None:
        transport: httpx.AsyncBaseTransport = _transport_override
    else:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport

        from airflow_provider_mediajobs.engine.pool import CheckedConnector

        proxy = environment_proxy(origin)
        connector = CheckedConnector(
            limit=0,  # the client's own cap (SharedClient) is the one limit
            keepalive_timeout=KEEPALIVE_EXPIRY,
            ttl_dns_cache=int(DNS_CACHE_TTL),
            ssl=verify,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # one client serves every key on the endpoint
            auto_decompress=False,  # BodyReader decodes, within the size cap
            timeout=aiohttp.ClientTimeout(),  # no timeout of its own: the caller's deadline is the one
            # The proxy is resolved once per client above; trust_env would look it up (and a .netrc
            # login) in a worker thread for every request.
            trust_env=False,
        )
        transport = AiohttpTransport(
            verify=verify, trust_env=False, proxy=httpx.Proxy(proxy) if proxy else None, client=session
        )
    return SharedClient(transport)


async def _acquire(config: ApiConfig) -> tuple[_Pooled, dict[Hashable, Any], Hashable]:
    store, key = loop_store(), ("client", config.origin)
    pooled = store.get(key)
    if pooled is None or pooled.client.is_closed:
        verify = await ashared_ssl_context()
        pooled = store.get(key)  # another wait may have created it meanwhile
        if pooled is None or pooled.client.is_closed:
            pooled = store[key] = _Pooled(_new_client(verify, config.origin))
    pooled.users += 1
    return pooled, store, key


async def _release(pooled: _Pooled, store: dict[Hashable, Any], key: Hashable) -> None:
    pooled.users -= 1
    if pooled.users == 0 and store.get(key) is pooled:
        del store[key]
        await asyncio.shield(pooled.client.aclose())


class ClientLease:
    """Borrow the loop's shared client for ``config``'s endpoint; the last borrower closes it.

    Every wait in a triggerer shares one connection pool per provider endpoint instead of opening
    a session per poll; when no wait needs it any more, its connections are closed. A plain class
    with ``__slots__``, not an ``asynccontextmanager``: every wait holds one for its whole life.
    """

    __slots__ = ("_config", "_held")

    def __init__(self, config: ApiConfig) -> None:
        self._config = config
        self._held: tuple[_Pooled, dict[Hashable, Any], Hashable] | None = None

    async def __aenter__(self) -> SharedClient:
        self._held = await _acquire(self._config)
        return self._held[0].client

    async def __aexit__(self, *exc: object) -> None:
        held, self._held = self._held, None
        if held is not None:
            await _release(*held)


async def send_prepared(
    client: SharedClient, request: httpx.Request, config: ApiConfig, ctx: CallContext
) -> ApiResponse:
    """Send ``request`` on ``client`` within the connection's total deadline; typed errors."""
    try:
        async with deadline(config.timeout):
            return await client.send(request, config.max_response_bytes)
    except Exception as err:  # the libraries', the deadline's and the size cap's: all typed
        raise map_error(ctx, config, err) from None


async def send_async(
    client: SharedClient | None, dialect: Dialect, config: ApiConfig, request: ApiRequest, ctx: CallContext
) -> ApiResponse:
    """Send ``request`` once (a create or cancel) on ``client``, or on the loop's shared client for
    ``config`` when None; a repeated read prepares its request once instead (:class:`~.api.StatusRead`)."""
    if client is None:
        async with ClientLease(config) as leased:
            return await send_async(leased, dialect, config, request, ctx)
    return await send_prepared(client, client.request(prepare(dialect, config, request)), config, ctx)
