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
from urllib.parse import SplitResult, urlsplit

from airflow_provider_mediajobs.dialects.base import CallContext, Credentials, Dialect
from airflow_provider_mediajobs.dialects.values import as_float
from airflow_provider_mediajobs.exceptions import MediaJobConfigError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # status and control answers are a few KB


@dataclass(frozen=True, repr=False)
class ApiConfig:
    provider: str
    conn_id: str
    base_url: str  # scheme://host[:port][/prefix], no trailing slash
    credentials: Credentials
    timeout: float = DEFAULT_TIMEOUT
    rate_limit: float | None = None  # requests/second shared by every wait in the process; None = off
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES  # per answer, on the wire and decoded

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


def _shown_url(parts: SplitResult) -> str:
    """The URL as safe to show: no userinfo, no query, no fragment."""
    try:
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # an unparsable port
        host, port = parts.netloc.rpartition("@")[2], ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else f"{host}{port}{parts.path}"


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
    shown = _shown_url(parts)
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
    keys = (*dialect.spec.form_keys, "max_response_bytes")
    fields = {key: extra_field(extras, dialect.name, key) for key in keys}
    credentials = dialect.build_credentials(password, fields, ctx)
    timeout = as_float(fields["timeout"])
    rate_limit = as_float(fields["rate_limit"])
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
        max_response_bytes=int(max_bytes) if max_bytes and max_bytes >= 1 else DEFAULT_MAX_RESPONSE_BYTES,
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
