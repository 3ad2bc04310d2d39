"""Sending :class:`ApiRequest` objects: sync over ``requests``, async over a shared ``httpx`` transport.

Both paths build the same URL and headers (:func:`prepare`) and return the same transport-neutral
:class:`ApiResponse`, so the dialect parses them identically. Transport failures (timeouts,
refused or reset connections, bodies cut short) become :class:`MediaJobTransientError`.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
import weakref
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from airflow_provider_mediajobs import __version__
from airflow_provider_mediajobs.dialects.base import ApiRequest, ApiResponse, CallContext, Dialect
from airflow_provider_mediajobs.engine.config import ApiConfig
from airflow_provider_mediajobs.engine.http1 import AsyncHTTP1Transport
from airflow_provider_mediajobs.exceptions import MediaJobConfigError, MediaJobError, MediaJobTransientError

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
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if request.body is not None:
        headers["Content-Type"] = "application/json"
    headers.update(dialect.auth_headers(config.credentials, request, path_and_query))
    return PreparedRequest(request.method, config.origin + path_and_query, headers, request.body)


TLS_HINT = (
    "Check the connection's host, or, for a server with a private CA (a proxy that inspects TLS, "
    "a staging endpoint), point SSL_CERT_FILE (async path) and REQUESTS_CA_BUNDLE (sync path) of "
    "the Airflow processes at a CA bundle that includes it."
)


def _certificate_problem(err: BaseException) -> str | None:
    """The verification failure behind a transport error, if it is one: retrying cannot fix it."""
    text = str(err)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = text.rsplit("certificate verify failed:", 1)[-1].strip(" ')\"")
        return detail.split(" (_ssl.c")[0] or "verification failed"
    return None


def _transport_error(ctx: CallContext, config: ApiConfig, err: Exception) -> MediaJobError:
    problem = _certificate_problem(err)
    if problem is not None:
        return ctx.error(
            MediaJobConfigError,
            f"{config.provider} API at {config.origin}: the server's TLS certificate was refused ({problem}).",
            hint=TLS_HINT,
        )
    kind = type(err).__name__
    if isinstance(err, (httpx.TimeoutException, TimeoutError)) or "Timeout" in kind:
        what = f"no answer within {config.timeout:g}s"
    else:
        what = f"connection problem ({kind})"
    error = ctx.error(MediaJobTransientError, f"{config.provider} API at {config.origin}: {what}.")
    assert isinstance(error, MediaJobTransientError)
    return error


# ---- sync ---------------------------------------------------------------------------------------
def send_sync(
    session: requests.Session, dialect: Dialect, config: ApiConfig, request: ApiRequest, ctx: CallContext
) -> ApiResponse:
    import requests

    prepared = prepare(dialect, config, request)
    try:
        response = session.request(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            data=prepared.body,
            timeout=config.timeout,
            allow_redirects=False,
        )
        body = response.content
    except requests.RequestException as err:
        raise _transport_error(ctx, config, err) from None
    headers = {k.lower(): v for k, v in response.headers.items()}
    return ApiResponse(response.status_code, body, headers)


# ---- async: one pooled client per event loop and endpoint ---------------------------------------
# Design measured in benchmarks/ (docs/benchmarks.md): httpx's AsyncClient + httpcore pool cost
# milliseconds of CPU per status read with ~1,000 waits on one loop (pool rescans, per-request
# client machinery) and opened a connection per few dozen calls. The shared client below sends
# httpx Requests straight to an httpx transport -- by default the lean keep-alive HTTP/1.1
# transport of engine.http1, a handful of connections per endpoint with a FIFO request queue --
# and keeps the per-call work to building the request bytes and reading the response.
MAX_CONNECTIONS = 8  # per endpoint and event loop; requests beyond that queue (FIFO)
KEEPALIVE_EXPIRY = 30.0


class SharedClient:
    """The loop's HTTP client for one endpoint: an httpx transport plus the per-call defaults.

    With the default transport a request goes out as bytes built here (request line, Host, the
    given headers) and comes back as status, headers and body: no httpx ``Request``/``Response``
    objects per call (their URL parsing and header normalisation were ~20 % of the CPU per status
    read). Any other transport (``httpx.MockTransport`` in tests) gets a regular httpx request.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: float) -> None:
        self.transport = transport
        self._timeout = httpx.Timeout(timeout)
        self._timeouts = (timeout, timeout, timeout)  # connect, answer, wait for a pooled connection
        self._fast = transport if isinstance(transport, AsyncHTTP1Transport) else None
        self._origins: dict[str, tuple[str, str, int, str]] = {}
        self._headers: dict[tuple[str, str | None], dict[str, str]] = {}
        self.is_closed = False

    def headers(
        self, dialect: Dialect, config: ApiConfig, request: ApiRequest, path_and_query: str
    ) -> Mapping[str, str]:
        """The request's headers. Without a body and without a signing key (the TAMS RSA mode signs
        every request) they depend only on the dialect and the API key: built once, shared."""
        if request.body is not None or config.credentials.private_key is not None:
            return prepare(dialect, config, request).headers
        key = (dialect.name, config.credentials.api_key)
        cached = self._headers.get(key)
        if cached is None:
            if len(self._headers) >= 64:
                self._headers.clear()
            cached = self._headers[key] = prepare(dialect, config, request).headers
        return cached

    def _origin(self, origin: str) -> tuple[str, str, int, str]:
        target = self._origins.get(origin)
        if target is None:
            parts = urlsplit(origin)
            scheme, host = parts.scheme, parts.hostname or ""
            default = 443 if scheme == "https" else 80
            port = parts.port or default
            host_header = parts.netloc.rsplit("@", 1)[-1]
            if parts.port == default:
                host_header = host_header.rsplit(":", 1)[0]
            target = self._origins[origin] = (scheme, host, port, host_header)
        return target

    async def send(
        self, method: str, origin: str, path: str, headers: Mapping[str, str], content: bytes | None
    ) -> ApiResponse:
        """Send ``method origin+path``; return the answer as an :class:`ApiResponse`."""
        if self._fast is not None:
            scheme, host, port, host_header = self._origin(origin)
            lines = [f"{method} {path} HTTP/1.1", f"Host: {host_header}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            if content is not None or method in ("POST", "PUT", "PATCH"):
                lines.append(f"Content-Length: {len(content or b'')}")
            lines.append("\r\n")
            try:
                data = "\r\n".join(lines).encode("ascii")
            except UnicodeEncodeError:  # non-ASCII in the path or a header: let httpx encode it
                pass
            else:
                status, raw, body = await self._fast.exchange(
                    scheme, host, port, method, data + content if content else data, *self._timeouts
                )
                found = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}
                encoding = found.get("content-encoding")
                if encoding and body:
                    body = _decode_body(encoding, body)
                return ApiResponse(status, body, found)
        request = httpx.Request(method, origin + path, headers=dict(headers), content=content)
        request.extensions["timeout"] = self._timeout.as_dict()
        response = await self.transport.handle_async_request(request)
        await response.aread()
        return ApiResponse(
            response.status_code, response.content, {k.lower(): v for k, v in response.headers.items()}
        )

    async def aclose(self) -> None:
        self.is_closed = True
        await self.transport.aclose()


def _decode_body(encoding: str, body: bytes) -> bytes:
    """Undo a Content-Encoding we did not ask for (we send no Accept-Encoding)."""
    encoding = encoding.strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error as err:
        raise httpx.DecodingError(f"could not decode a {encoding} body: {err}") from None
    return body  # identity or unknown: hand over as is


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
    """One verified TLS context per process: building one reads the CA bundle (~15 ms of disk and
    CPU), which must not happen on the triggerer's event loop for every client."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx.create_ssl_context()
    return _ssl_context


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
    transport: httpx.AsyncBaseTransport
    proxy = None if _transport_override else environment_proxy(origin)
    if _transport_override is not None:
        transport = _transport_override
    elif proxy is not None:
        # through a proxy: httpx's own transport (CONNECT tunnels for https, absolute-form for http)
        limits = httpx.Limits(max_connections=MAX_CONNECTIONS, keepalive_expiry=KEEPALIVE_EXPIRY)
        transport = httpx.AsyncHTTPTransport(proxy=proxy, verify=verify, limits=limits, trust_env=False)
    else:
        transport = AsyncHTTP1Transport(
            ssl_context=verify, max_connections=MAX_CONNECTIONS, keepalive_expiry=KEEPALIVE_EXPIRY
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
        verify = _ssl_context if _ssl_context is not None else await asyncio.to_thread(shared_ssl_context)
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


@asynccontextmanager
async def client_lease(config: ApiConfig) -> AsyncIterator[SharedClient]:
    """Borrow the loop's shared client for ``config``'s endpoint; the last borrower closes it.

    Every wait in a triggerer shares one connection pool per provider endpoint instead of opening
    a session per poll; when no wait needs it any more, its connections are closed.
    """
    pooled, per_loop, key = await _acquire(config)
    try:
        yield pooled.client
    finally:
        await _release(pooled, per_loop, key)


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
    try:
        return await client.send(request.method, config.origin, path_and_query, headers, request.body)
    except httpx.HTTPError as err:
        raise _transport_error(ctx, config, err) from None
