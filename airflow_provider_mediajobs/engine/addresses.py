"""The HTTP client for output URLs: no credentials, and only public addresses.

Output URLs are CDN / object-store links signed by the provider. They are fetched by a client of
their own that has no ``Authorization`` header, no cookies and no ``.netrc`` (``trust_env=False``):
the provider's API key never reaches them. Only URLs the URL policy (:mod:`.urls`) accepts are
fetched, and only from public addresses: the host is resolved once, every address it resolves to
is checked (loopback, private, link-local, reserved, multicast and unspecified are refused, IPv4
inside IPv6 included) and the connection goes to a checked address, never through a second
lookup. Every redirect hop is checked the same way. ``allow_private`` (a connection's
``allow_private_hosts`` extra, the operator's setting) lifts the address check for hosts of
one's own (the emulator).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from airflow_provider_mediajobs.dialects.wire import CallContext
from airflow_provider_mediajobs.engine.urls import (
    ALWAYS_REFUSED,
    UrlRefused,
    check_url,
    refusal_of_address,
    shown_url,
)
from airflow_provider_mediajobs.exceptions import PrivateOutputHostError, UnsafeOutputUrlError


def check_output_url(url: object, ctx: CallContext) -> str:
    """``url`` when the URL policy (:mod:`.urls`) accepts it; :class:`UnsafeOutputUrlError` otherwise."""
    try:
        checked = check_url(url)
    except UrlRefused as refused:
        shown = shown_url(url)[:120]
        ctx.fail(UnsafeOutputUrlError, f"Refusing output URL {shown!r}: {refused} ({refused.reason}).")
    refusal = refusal_of_address(checked.address) if checked.address else None
    if refusal in ALWAYS_REFUSED:
        ctx.fail(
            PrivateOutputHostError,
            f"Refusing output URL on {checked.host}, a {refusal} address (a cloud metadata service "
            "lives at 169.254.169.254; no provider serves outputs from such addresses).",
        )
    return checked.url


def resolve_checked(host: str, port: int, ctx: CallContext, allow_private: bool) -> list[str]:
    """Every address ``host`` resolves to, each checked: one that is not public refuses the host
    (unless ``allow_private``), so a name resolving to both a public and an internal address is
    refused too. The caller connects to these addresses, never to the name (no second lookup)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise httpcore.ConnectError(f"cannot resolve the output host ({type(err).__name__})") from None
    addresses: list[str] = []
    for *_, sockaddr in found:
        text = str(sockaddr[0])
        if text in addresses:
            continue
        refusal = refusal_of_address(ipaddress.ip_address(text))
        if refusal and (refusal in ALWAYS_REFUSED or not allow_private):
            ctx.fail(
                PrivateOutputHostError,
                f"Refusing to download from {host!r}: it resolves to {text}, a {refusal} address "
                "(downloads reach only public addresses).",
            )
        addresses.append(text)
    if not addresses:
        raise httpcore.ConnectError("the output host resolves to no address")
    return addresses


class CheckedNetwork(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses :func:`resolve_checked` passed.

    TLS still verifies the certificate against the URL's host name (httpcore passes it as
    ``server_hostname`` separately); only the TCP connect goes to the checked address.
    """

    def __init__(self, ctx: CallContext, allow_private: bool) -> None:
        self.ctx, self.allow_private = ctx, allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in resolve_checked(host, port, self.ctx, self.allow_private):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                failure = err
        assert failure is not None
        raise failure


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport over a pool whose connections go through :class:`CheckedNetwork`.

    ``HTTPTransport`` takes no network backend, so its pool is rebuilt with one (the pool is the
    transport's only state; requests, responses and error mapping stay httpx's own).
    """

    def __init__(self, network: CheckedNetwork, verify: Any = True) -> None:
        ssl_context = (
            verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        )
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=network)


def output_client(
    timeout: float, ctx: CallContext, user_agent: str, verify: Any = True, *, allow_private: bool = False
) -> httpx.Client:
    """The HTTP client for output URLs: no credentials of any kind, every hop checked (the URL by
    the policy, every address connected to by :class:`CheckedNetwork`)."""

    def guard(request: httpx.Request) -> None:
        check_output_url(str(request.url), ctx)
        for header in ("authorization", "proxy-authorization", "cookie"):
            request.headers.pop(header, None)

    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(30.0, timeout)),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,  # no .netrc credentials, no proxy from the environment
        transport=CheckedTransport(CheckedNetwork(ctx, allow_private), verify),
        headers={"User-Agent": user_agent},
        event_hooks={"request": [guard]},
    )


__all__ = ["CheckedNetwork", "CheckedTransport", "check_output_url", "output_client", "resolve_checked"]
