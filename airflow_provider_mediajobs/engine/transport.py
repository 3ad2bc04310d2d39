"""Sending :class:`ApiRequest` objects: sync over ``requests``, async over httpx on aiohttp.

Both paths build the same URL and headers (:func:`prepare`), apply the same limits
(:mod:`.limits`: total deadline, size cap, bounded decoding, typed errors) and return the same
transport-neutral :class:`ApiResponse`, so the dialect parses them identically.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from airflow_provider_mediajobs import __version__
from airflow_provider_mediajobs.dialects.base import ApiRequest, ApiResponse, CallContext, Dialect
from airflow_provider_mediajobs.engine.config import ApiConfig
from airflow_provider_mediajobs.engine.errormap import map_error
from airflow_provider_mediajobs.engine.limits import (
    ACCEPT_ENCODING,
    READ_CHUNK,
    BodyReader,
    SyncDeadline,
    deadline,
)

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
URL_CACHE = 4096  # parsed status URLs kept per client: one per wait polling the endpoint, bounded


class SharedClient:
    """The loop's HTTP client for one endpoint: an httpx transport plus the per-call defaults.

    Requests go straight to the transport (httpx's public ``handle_async_request``), not through
    an ``httpx.AsyncClient``: its auth flow, redirect loop and cookie jar do nothing for these
    calls (no auth object, no redirects, no cookies kept) and cost time on every read.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: float) -> None:
        self.transport = transport
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._headers: dict[tuple[str, str | None], httpx.Headers] = {}
        self._urls: dict[str, httpx.URL] = {}
        # Reads beyond the connection limit queue here, before any request object exists, instead
        # of inside aiohttp's connector with their whole httpx/aiohttp call stack (memory per wait).
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.is_closed = False

    def headers(
        self, dialect: Dialect, config: ApiConfig, request: ApiRequest, path_and_query: str
    ) -> Mapping[str, str]:
        """The request's headers. Without a body and without a signing key (a signing dialect signs
        every request) they depend only on the dialect and the API key: built once (as the
        ``httpx.Headers`` a request copies), shared."""
        if request.body is not None or config.credentials.private_key is not None:
            return prepare(dialect, config, request).headers
        key = (dialect.name, config.credentials.api_key)
        cached = self._headers.get(key)
        if cached is None:
            if len(self._headers) >= 64:
                self._headers.clear()
            cached = self._headers[key] = httpx.Headers(prepare(dialect, config, request).headers)
        return cached

    def url(self, url: str) -> httpx.URL:
        """``url`` parsed once per wait, not on every read: httpx's URL parsing and validation is
        the costliest part of building a request."""
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= URL_CACHE:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None, max_bytes: int
    ) -> ApiResponse:
        """Send one request; read the answer within ``max_bytes`` (see :class:`BodyReader`)."""
        async with self._slots:
            return await self._send(method, url, headers, content, max_bytes)

    async def _send(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None, max_bytes: int
    ) -> ApiResponse:
        request = httpx.Request(method, self.url(url), headers=headers, content=content)
        request.extensions["timeout"] = self._timeout
        response = await self.transport.handle_async_request(request)
        try:
            found = {k: v for k, v in response.headers.items()}  # httpx: lower-case names
            reader = BodyReader(max_bytes, found.get("content-encoding"), found.get("content-length"))
            if response.is_stream_consumed:
                # a transport that answered with bytes in hand (httpx.MockTransport, a wrapper that
                # read the answer) has its content already; its exhausted stream must not be re-read
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


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, float], _Pooled]] = (
    weakref.WeakKeyDictionary()
)


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


_tls_builds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[ssl.SSLContext]] = (
    weakref.WeakKeyDictionary()
)


async def ashared_ssl_context() -> ssl.SSLContext:
    """:func:`shared_ssl_context` built once in a thread, however many waits start at once.

    Waits starting together share one build instead of each starting a thread and loading the
    CA bundle in parallel, which holds up the event loop (tests/e2e/test_trigger_event_loop.py).
    """
    if _ssl_context is not None:
        return _ssl_context
    loop = asyncio.get_running_loop()
    build = _tls_builds.get(loop)
    if build is None:
        build = _tls_builds[loop] = loop.run_in_executor(None, shared_ssl_context)
    try:
        return await asyncio.shield(build)
    finally:
        if build.done():
            _tls_builds.pop(loop, None)  # built (or failed: the next wait tries again)


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


def _new_client(timeout: float, verify: ssl.SSLContext, origin: str) -> SharedClient:
    """Build the client for ``origin`` on the running loop (an aiohttp session belongs to one loop)."""
    if _transport_override is not None:
        transport: httpx.AsyncBaseTransport = _transport_override
    else:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport

        from airflow_provider_mediajobs.engine.pool import CheckedConnector

        proxy = environment_proxy(origin)
        connector = CheckedConnector(
            limit=MAX_CONNECTIONS,
            keepalive_timeout=KEEPALIVE_EXPIRY,
            ttl_dns_cache=int(DNS_CACHE_TTL),
            ssl=verify,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # one client serves every key on the endpoint
            auto_decompress=False,  # BodyReader decodes, within the size cap
            # The proxy is resolved once per client above; trust_env would look it up (and a .netrc
            # login) in a worker thread for every request.
            trust_env=False,
        )
        transport = AiohttpTransport(
            verify=verify, trust_env=False, proxy=httpx.Proxy(proxy) if proxy else None, client=session
        )
    return SharedClient(transport, timeout)


async def _acquire(config: ApiConfig) -> tuple[_Pooled, dict[tuple[str, float], _Pooled], tuple[str, float]]:
    loop = asyncio.get_running_loop()
    per_loop = _pools.get(loop)
    if per_loop is None:
        per_loop = _pools.setdefault(loop, {})
    key = (config.origin, config.timeout)
    pooled = per_loop.get(key)
    if pooled is None or pooled.client.is_closed:
        verify = await ashared_ssl_context()
        pooled = per_loop.get(key)  # another wait may have created it meanwhile
        if pooled is None or pooled.client.is_closed:
            pooled = per_loop[key] = _Pooled(_new_client(config.timeout, verify, config.origin))
    pooled.users += 1
    return pooled, per_loop, key


async def _release(
    pooled: _Pooled, per_loop: dict[tuple[str, float], _Pooled], key: tuple[str, float]
) -> None:
    pooled.users -= 1
    if pooled.users == 0 and per_loop.get(key) is pooled:
        del per_loop[key]
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
        self._held: tuple[_Pooled, dict[tuple[str, float], _Pooled], tuple[str, float]] | None = None

    async def __aenter__(self) -> SharedClient:
        self._held = await _acquire(self._config)
        return self._held[0].client

    async def __aexit__(self, *exc: object) -> None:
        held, self._held = self._held, None
        if held is not None:
            await _release(*held)


async def send_async(
    client: SharedClient | None, dialect: Dialect, config: ApiConfig, request: ApiRequest, ctx: CallContext
) -> ApiResponse:
    """Send ``request`` on ``client``, or on the loop's shared client for ``config`` when None."""
    if client is None:
        pooled, per_loop, key = await _acquire(config)
        try:
            return await send_async(pooled.client, dialect, config, request, ctx)
        finally:
            await _release(pooled, per_loop, key)
    path_and_query = config.base_path + request.path_and_query
    headers = client.headers(dialect, config, request, path_and_query)
    url = config.origin + path_and_query
    try:
        async with deadline(config.timeout):
            return await client.send(request.method, url, headers, request.body, config.max_response_bytes)
    except Exception as err:  # the libraries', the deadline's and the size cap's: all typed
        raise map_error(ctx, config, err) from None
