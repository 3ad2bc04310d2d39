"""The values a dialect builds and reads, and that the engine sends and receives: a request below
the connection's base URL, the answer, one connection's secrets, and who is asking (every error
names it; redaction strips its secrets)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote

from airflow_provider_mediajobs.engine.urls import strip_signed
from airflow_provider_mediajobs.exceptions import MediaJobError, redact


@dataclass(frozen=True)
class ApiRequest:
    """A request below the connection's base URL. ``path`` is already percent-encoded."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def path_and_query(self) -> str:
        if not self.query:
            return self.path
        return self.path + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.query)

    @classmethod
    def json(cls, method: str, path: str, payload: Mapping[str, Any]) -> ApiRequest:
        # Serialized once: the exact bytes sent are the bytes signed (TAMS).
        return cls(method, path, body=json.dumps(payload, separators=(",", ":")).encode())


@dataclass(frozen=True)
class ApiResponse:
    status_code: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, repr=False)
class Credentials:
    """Secrets of one connection. ``repr`` never shows them."""

    api_key: str | None = None
    app_id: str | None = None
    private_key: Any = None  # a loaded cryptography private key (TAMS signature mode)
    secret_texts: tuple[str, ...] = ()  # every secret string, for redaction

    def __repr__(self) -> str:
        mode = "rsa" if self.private_key is not None else ("key" if self.api_key else "none")
        return f"Credentials(mode={mode!r}, app_id={self.app_id!r})"


@dataclass(frozen=True)
class CallContext:
    """Who is asking: goes into every error, and tells redaction which secrets to strip (signed
    query strings of URLs in the text are cut too)."""

    provider: str
    conn_id: str | None = None
    job_id: str | None = None
    secrets: tuple[str, ...] = ()

    def error(self, cls: type[MediaJobError], detail: str, **kwargs: Any) -> MediaJobError:
        return cls(
            strip_signed(redact(detail, self.secrets)),
            provider=self.provider,
            conn_id=self.conn_id,
            job_id=self.job_id,
            **kwargs,
        )

    def fail(self, cls: type[MediaJobError], detail: str, **kwargs: Any) -> NoReturn:
        raise self.error(cls, detail, **kwargs)


__all__ = ["ApiRequest", "ApiResponse", "CallContext", "Credentials"]
