"""The "wire": runs every hook call through either the sync path (``requests`` + requests-mock) or the
async path (``httpx`` + ``MockTransport``), answering from the same canned replies and recording
what was sent; the ``wire`` fixture gives each test both paths.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import requests_mock

from airflow_provider_mediajobs.engine.transport import override_async_transport
from airflow_provider_mediajobs.hooks import MediaJobHook, hook_class
from airflow_provider_mediajobs.models import MediaJob

from support.constants import CONN_IDS, SENTINEL


def make_hook(provider: str, conn_id: str | None = None, **kwargs: Any) -> MediaJobHook:
    """A hook with one attempt per call (no retry sleeps) unless the test asks for more."""
    kwargs.setdefault("retries", 1)
    return hook_class(provider)(conn_id=conn_id or CONN_IDS[provider], **kwargs)


# ---- the wire ---------------------------------------------------------------------------------
_MISSING = object()


@dataclass
class Reply:
    """One canned answer: a status with a JSON or raw body, or a transport failure."""

    status: int = 200
    json: Any = _MISSING
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # "timeout" | "connect"

    def content(self) -> bytes:
        if self.json is not _MISSING:
            return json.dumps(self.json).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body or b""

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.json is not _MISSING:
            headers.setdefault("Content-Type", "application/json")
        return headers


@dataclass
class Sent:
    """A request as it left the client."""

    method: str
    url: str
    path_and_query: str  # exactly as on the wire (still percent-encoded)
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return self.path_and_query.partition("?")[0]

    @property
    def query(self) -> str:
        return self.path_and_query.partition("?")[2]


class Wire:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sent: list[Sent] = []
        self._replies: list[Reply] = [Reply(json={})]

    def reply(self, *replies: Reply) -> Wire:
        """Answer with these, in order; the last one repeats."""
        self._replies = list(replies)
        return self

    def _next(self) -> Reply:
        return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    # sync: requests-mock callback
    def _sync(self, request: Any, context: Any) -> bytes:
        parts = urlsplit(request.url)
        body = request.body or b""
        self.sent.append(
            Sent(
                request.method,
                request.url,
                parts.path + (f"?{parts.query}" if parts.query else ""),
                {k.lower(): v for k, v in request.headers.items()},
                body.encode() if isinstance(body, str) else bytes(body),
            )
        )
        reply = self._next()
        if reply.error == "timeout":
            raise requests.exceptions.ReadTimeout("read timed out")
        if reply.error == "connect":
            raise requests.exceptions.ConnectionError("connection refused")
        context.status_code = reply.status
        context.headers.update(reply.all_headers())
        return reply.content()

    # async: httpx.MockTransport handler
    def _async(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(
            Sent(
                request.method,
                str(request.url),
                request.url.raw_path.decode("ascii"),
                {k.lower(): v for k, v in request.headers.items()},
                request.content,
            )
        )
        reply = self._next()
        if reply.error == "timeout":
            raise httpx.ReadTimeout("read timed out", request=request)
        if reply.error == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(reply.status, content=reply.content(), headers=reply.all_headers())

    # the calls under test, on the path this wire stands for
    async def get_job(self, hook: MediaJobHook, job_id: Any, kind: str | None = None) -> MediaJob:
        if self.mode == "sync":
            return hook.get_job(job_id, kind)
        return await hook.aget_job(job_id, kind)

    async def cancel_job(self, hook: MediaJobHook, job_id: Any, kind: str | None = None) -> bool:
        if self.mode == "sync":
            return hook.cancel_job(job_id, kind)
        return await hook.acancel_job(job_id, kind)


def assert_no_secret(secret: str, *texts: object) -> None:
    for text in texts:
        assert secret not in str(text), f"secret leaked into {str(text)[:200]!r}"


def assert_error_context(err: BaseException, provider: str, conn_id: str, job_id: str | None) -> None:
    """The message names provider, conn_id and job id, and carries none of the secrets."""
    text = str(err)
    assert provider in text, text
    assert f"conn_id={conn_id!r}" in text, text
    if job_id is not None:
        assert f"job_id={job_id!r}" in text, text
    assert_no_secret(SENTINEL, text, repr(err), err.args)


@pytest.fixture(params=["sync", "async"])
def wire(request: pytest.FixtureRequest) -> Iterator[Wire]:
    """Both paths, one canned server, each mocked once. Nothing leaves the process: requests-mock
    is active on both paths but answers only on the sync one, so a sync call made on the async
    path fails (``NoMockAddress``) instead of passing for the async path."""
    wire = Wire(request.param)
    with requests_mock.Mocker() as mocker:
        if wire.mode == "sync":
            mocker.register_uri(requests_mock.ANY, requests_mock.ANY, content=wire._sync)
            yield wire
        else:
            with override_async_transport(httpx.MockTransport(wire._async)):
                yield wire
