"""Every failure of one HTTP call, sync or async, as one of the package's typed errors.

A library error (requests, urllib3, httpx, aiohttp, ssl), a broken limit of :mod:`.limits` or a
deadline becomes a transient error (a retry may fix it), a bad-response error (the server spoke
something that is not valid HTTP, or too much of it) or a config error (a refused certificate):
nothing untyped leaves a hook or a trigger, and a dropped connection is not called a timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from airflow_provider_mediajobs.engine.limits import BadEncoding, ResponseTooLarge
from airflow_provider_mediajobs.exceptions import (
    MediaJobBadResponseError,
    MediaJobConfigError,
    MediaJobError,
    MediaJobTransientError,
)

if TYPE_CHECKING:
    from airflow_provider_mediajobs.dialects.wire import CallContext
    from airflow_provider_mediajobs.engine.config import ApiConfig

TLS_HINT = (
    "Check the connection's host, or, for a server with a private CA (a proxy that inspects TLS, "
    "a staging endpoint), point SSL_CERT_FILE (async path) and REQUESTS_CA_BUNDLE (sync path) of "
    "the Airflow processes at a CA bundle that includes it."
)
SIZE_HINT = (
    "Status answers are a few KB; check that the host of connection '{conn_id}' is the provider's "
    "API, or raise 'max_response_bytes' in its extra if the provider legitimately answers more."
)


def _chain(err: BaseException) -> Iterator[BaseException]:
    """``err``, what caused it, and exceptions carried in its args (requests wraps urllib3's so)."""
    seen: set[int] = set()
    todo = [err]
    while todo:
        current = todo.pop()
        if id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        yield current
        todo += [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError
        todo += [c for c in (current.__cause__, current.__context__, reason) if isinstance(c, BaseException)]


def _certificate_problem(err: BaseException) -> str | None:
    for current in _chain(err):
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            detail = text.rsplit("certificate verify failed:", 1)[-1].strip(" ')\"]")
            return detail.split(" (_ssl.c")[0] or "verification failed"
    return None


_PROTOCOL = {
    "HttpProcessingError",  # aiohttp's parser: bad status line, header too long, bad length/chunk
    "ClientPayloadError",
    "ClientResponseError",
    "RemoteProtocolError",
    "LocalProtocolError",
    "DecodingError",
    "ChunkedEncodingError",
    "ContentDecodingError",
    "InvalidChunkLength",
    "IncompleteRead",
    "HTTPException",  # http.client: LineTooLong, BadStatusLine, UnknownProtocol
    "HeaderParsingError",
    "InvalidHeader",
}
_DROPPED = {"ServerDisconnectedError", "RemoteDisconnected", "ConnectionResetError", "BrokenPipeError"}
_CONNECT = {
    "ClientConnectorError",
    "NewConnectionError",
    "ConnectionRefusedError",
    "ConnectError",
    "gaierror",
}


def _kinds(err: BaseException) -> set[str]:
    """Class names along the chain; an httpx exception that only re-labels a cause is skipped
    (httpx-aiohttp maps every aiohttp connection error, a refused or dropped one too, to a timeout)."""
    return {
        cls.__name__
        for e in _chain(err)
        if not (type(e).__module__.startswith("httpx") and e.__cause__ is not None)
        for cls in type(e).__mro__
    }


def describe(
    err: BaseException, timeout: float, deadline_hit: bool = False
) -> tuple[type[MediaJobError], str]:
    """The typed error class and a short description for a failure of one HTTP call."""
    if isinstance(err, ResponseTooLarge):
        how = "declares" if err.declared else "exceeded"
        return (
            MediaJobBadResponseError,
            f"the answer {how} {err.size} bytes, over max_response_bytes={err.cap}",
        )
    if isinstance(err, BadEncoding):
        return MediaJobBadResponseError, f"the server sent {err}"
    kinds = _kinds(err)
    if deadline_hit:
        return MediaJobTransientError, _no_answer(timeout)
    # a peer that hangs up before answering is a dropped connection, whatever the parser calls it
    # (also mid-body: a truncated answer), which a retry can fix
    hung_up = any(
        text in str(e)
        for e in _chain(err)
        for text in ("disconnected without sending", "peer closed connection", "payload is not completed")
    ) or bool(kinds & {"IncompleteRead"})
    if kinds & _PROTOCOL and not hung_up:
        return MediaJobBadResponseError, f"an answer that is not valid HTTP ({_root_name(err)})"
    if kinds & _DROPPED or hung_up:
        closed = "the server closed the connection before a complete answer"
        return MediaJobTransientError, f"connection problem ({_root_name(err)}: {closed})"
    if kinds & _CONNECT:  # before timeouts: urllib3's NewConnectionError is a ConnectTimeoutError
        return MediaJobTransientError, f"connection problem ({_root_name(err)}: could not connect)"
    if kinds & {"TimeoutError", "TimeoutException", "Timeout"}:
        return MediaJobTransientError, _no_answer(timeout)
    return MediaJobTransientError, f"connection problem ({_root_name(err)})"


def _no_answer(timeout: float) -> str:
    return f"no answer within {timeout:g}s (the connection's timeout, for the whole call)"


def _root_name(err: BaseException) -> str:
    root = err
    while root.__cause__ is not None:
        root = root.__cause__
    return type(root).__name__


def map_error(
    ctx: CallContext, config: ApiConfig, err: BaseException, deadline_hit: bool = False
) -> MediaJobError:
    """Any failure of one call (transport, framing, limits) as one of the package's typed errors."""
    if isinstance(err, MediaJobError):
        return err
    where = f"{config.provider} API at {config.origin}"
    problem = _certificate_problem(err)
    if problem is not None:
        return ctx.error(
            MediaJobConfigError,
            f"{where}: the server's TLS certificate was refused ({problem}).",
            hint=TLS_HINT,
        )
    cls, what = describe(err, config.timeout, deadline_hit)
    hint = SIZE_HINT if isinstance(err, ResponseTooLarge) else None
    return ctx.error(cls, f"{where}: {what}.", hint=hint)


__all__ = ["SIZE_HINT", "TLS_HINT", "describe", "map_error"]
