"""A resolved connection: where to send requests, with which credentials, how fast.

:func:`build_config` turns an Airflow connection (sync or async lookup, the caller's choice) into
an :class:`ApiConfig`; nothing else in the package reads connection fields.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_mediajobs.connection_forms import form_keys
from airflow_provider_mediajobs.dialects.base import Dialect
from airflow_provider_mediajobs.dialects.values import as_float
from airflow_provider_mediajobs.dialects.wire import CallContext, Credentials
from airflow_provider_mediajobs.engine.urls import shown_url
from airflow_provider_mediajobs.exceptions import MediaJobConfigError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # status and control answers are a few KB
MAX_TIMEOUT = 3600.0  # one HTTP request; asyncio and socket timeouts overflow far above this
MAX_RATE_LIMIT = 10_000.0  # requests per second
#: the extra that lets downloads reach loopback/private hosts (the emulator, a store of one's own)
ALLOW_PRIVATE_HOSTS = "allow_private_hosts"


@dataclass(frozen=True, repr=False)
class ApiConfig:
    provider: str
    conn_id: str
    base_url: str  # scheme://host[:port][/prefix], no trailing slash
    credentials: Credentials
    timeout: float = DEFAULT_TIMEOUT
    rate_limit: float | None = None  # requests/second shared by every wait in the process; None = off
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES  # per answer, on the wire and decoded
    allow_private_hosts: bool = False  # downloads may reach loopback/private addresses

    @cached_property
    def base_path(self) -> str:
        """The path prefix of every request (``""`` when the base URL has none)."""
        return urlsplit(self.base_url).path.rstrip("/")

    @cached_property
    def origin(self) -> str:
        """``scheme://host[:port]``: the endpoint one pooled client serves."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def context(self, job_id: str | None = None) -> CallContext:
        return CallContext(self.provider, self.conn_id, job_id, self.credentials.secret_texts)

    def __repr__(self) -> str:
        return f"ApiConfig(provider={self.provider!r}, conn_id={self.conn_id!r}, base_url={self.base_url!r})"


def extra_field(extras: Mapping[str, Any], conn_type: str, name: str) -> Any:
    """A custom form field, stored either plainly or with the ``extra__<type>__`` prefix."""
    value = extras.get(name)
    if value in (None, ""):
        value = extras.get(f"extra__{conn_type}__{name}")
    return None if value == "" else value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _number(
    fields: Mapping[str, Any], name: str, low: float, high: float, ctx: CallContext, *, zero: bool = False
) -> float | None:
    """A numeric setting of the connection, or None when empty; a clear error when it is not a
    number in ``low..high`` (``0`` also allowed when ``zero``: "off")."""
    raw = fields.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value = as_float(raw) if not isinstance(raw, bool) else None
    if value is None or not (low <= value <= high or (zero and value == 0)):
        shown = str(raw)[:40]
        allowed = f"0 (off) or {low:g}..{high:g}" if zero else f"{low:g}..{high:g}"
        ctx.fail(
            MediaJobConfigError,
            f"The connection's {name!r} is {shown!r}: it must be a number in {allowed}.",
            hint="Fix the value in the connection's form (or its extra), or leave it empty for the default.",
        )
    return value


def _flag(fields: Mapping[str, Any], name: str, ctx: CallContext) -> bool:
    raw = fields.get(name)
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("", "false", "0", "no", "off"):
        return False
    ctx.fail(MediaJobConfigError, f"The connection's {name!r} is {str(raw)[:40]!r}: use true or false.")


def build_base_url(
    dialect: Dialect, host: str | None, port: int | None, schema: str | None, ctx: CallContext
) -> str:
    host = (host or "").strip()
    if not host:
        if dialect.default_base_url is None:
            hint = f" ({dialect.spec.base_url_hint})" if dialect.spec.base_url_hint else ""
            ctx.fail(
                MediaJobConfigError,
                f"{dialect.display_name} needs its endpoint in the connection's "
                f"{dialect.spec.host_label!r} field{hint}.",
            )
        return dialect.default_base_url.rstrip("/")
    if "://" not in host:
        scheme = "http" if _is_loopback(host) else "https"
        host = f"{scheme}://{host}{f':{port}' if port else ''}{'/' + schema.strip('/') if schema else ''}"
    parts = urlsplit(host)
    # Checked first, and the host is only ever shown without userinfo, query and fragment: a key
    # pasted into the URL must not end up in the error message.
    if parts.username or parts.password or "@" in parts.netloc:
        ctx.fail(
            MediaJobConfigError, f"Put the key in the {dialect.spec.key_label!r} field, not in the host URL."
        )
    shown = shown_url(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        ctx.fail(MediaJobConfigError, f"The connection's host {shown!r} is not an http(s) base URL.")
    if parts.query or parts.fragment:
        ctx.fail(
            MediaJobConfigError,
            f"The connection's host {shown!r} must not carry a query or fragment (put the key in "
            f"the {dialect.spec.key_label!r} field).",
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        log.warning(
            "Connection %r sends its %s API key over plain http to %s; use https.",
            ctx.conn_id,
            dialect.display_name,
            parts.hostname,
        )
    return host.rstrip("/")


def build_config(
    dialect: Dialect,
    *,
    conn_id: str,
    conn_type: str | None,
    host: str | None,
    port: int | None,
    schema: str | None,
    password: str | None,
    extras: Mapping[str, Any],
) -> ApiConfig:
    ctx = CallContext(dialect.name, conn_id)
    if conn_type and conn_type != dialect.name:
        ctx.fail(
            MediaJobConfigError,
            f"Connection {conn_id!r} is of type {conn_type!r}, but this needs a {dialect.name!r} connection.",
        )
    keys = (*form_keys(dialect.spec), "max_response_bytes", ALLOW_PRIVATE_HOSTS)
    fields = {key: extra_field(extras, dialect.name, key) for key in keys}
    credentials = dialect.build_credentials(password, fields, ctx)
    timeout = _number(fields, "timeout", 0.001, MAX_TIMEOUT, ctx)
    rate_limit = _number(fields, "rate_limit", 0.0001, MAX_RATE_LIMIT, ctx, zero=True)
    max_bytes = as_float(fields["max_response_bytes"])
    if rate_limit is None:
        rate_limit = dialect.default_rate_limit
    return ApiConfig(
        provider=dialect.name,
        conn_id=conn_id,
        base_url=build_base_url(dialect, host, port, schema, ctx),
        credentials=credentials,
        timeout=timeout if timeout and timeout > 0 else DEFAULT_TIMEOUT,
        rate_limit=rate_limit if rate_limit and rate_limit > 0 else None,
        max_response_bytes=int(max_bytes)
        if max_bytes and 1 <= max_bytes < 2**40
        else DEFAULT_MAX_RESPONSE_BYTES,
        allow_private_hosts=_flag(fields, ALLOW_PRIVATE_HOSTS, ctx),
    )


def config_from_connection(dialect: Dialect, conn: Any, extras: Mapping[str, Any]) -> ApiConfig:
    """Read an Airflow ``Connection`` (already fetched, sync or async) into an :class:`ApiConfig`."""
    return build_config(
        dialect,
        conn_id=conn.conn_id,
        conn_type=conn.conn_type,
        host=conn.host,
        port=conn.port,
        schema=conn.schema,
        password=conn.password,
        extras=extras or {},
    )
