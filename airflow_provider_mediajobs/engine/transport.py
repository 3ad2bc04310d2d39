"""Sending :class:`ApiRequest` objects: sync over ``requests``, async over a shared ``httpx`` pool.

Both paths build the same URL and headers (:func:`prepare`) and return the same transport-neutral
:class:`ApiResponse`, so the dialect parses them identically. Transport failures (timeouts,
refused or reset connections, bodies cut short) become :class:`MediaJobTransientError`.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from airflow_provider_mediajobs import __version__
from airflow_provider_mediajobs.dialects.base import ApiRequest, ApiResponse, CallContext, Dialect
from airflow_provider_mediajobs.engine.config import ApiConfig
from airflow_provider_mediajobs.exceptions import MediaJobTransientError

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


def _transport_error(ctx: CallContext, config: ApiConfig, err: Exception) -> MediaJobTransientError:
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
@dataclass
class _Pooled:
    client: httpx.AsyncClient
    users: int = 0


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, float], _Pooled]] = (
    weakref.WeakKeyDictionary()
)

POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30.0)


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


def _new_client(timeout: float, verify: ssl.SSLContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=_transport_override,
        verify=verify,
        timeout=httpx.Timeout(timeout),
        limits=POOL_LIMITS,
        follow_redirects=False,
        trust_env=False,
    )


@asynccontextmanager
async def client_lease(config: ApiConfig) -> AsyncIterator[httpx.AsyncClient]:
    """Borrow the loop's shared client for ``config``'s endpoint; the last borrower closes it.

    Every wait in a triggerer shares one connection pool per provider endpoint instead of opening
    a session per poll; when no wait needs it any more, its connections are closed.
    """
    loop = asyncio.get_running_loop()
    per_loop = _pools.setdefault(loop, {})
    key = (config.origin, config.timeout)
    pooled = per_loop.get(key)
    if pooled is None or pooled.client.is_closed:
        verify = _ssl_context if _ssl_context is not None else await asyncio.to_thread(shared_ssl_context)
        pooled = per_loop.get(key)  # another wait may have created it meanwhile
        if pooled is None or pooled.client.is_closed:
            pooled = per_loop[key] = _Pooled(_new_client(config.timeout, verify))
    pooled.users += 1
    try:
        yield pooled.client
    finally:
        pooled.users -= 1
        if pooled.users == 0 and per_loop.get(key) is pooled:
            del per_loop[key]
            await asyncio.shield(pooled.client.aclose())


async def send_async(
    client: httpx.AsyncClient, dialect: Dialect, config: ApiConfig, request: ApiRequest, ctx: CallContext
) -> ApiResponse:
    prepared = prepare(dialect, config, request)
    try:
        response = await client.request(
            prepared.method, prepared.url, headers=prepared.headers, content=prepared.body
        )
    except httpx.HTTPError as err:
        raise _transport_error(ctx, config, err) from None
    headers = {k.lower(): v for k, v in response.headers.items()}
    return ApiResponse(response.status_code, response.content, headers)
