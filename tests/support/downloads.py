"""Downloads without sockets: an output client whose transport is a recording ``MockTransport``,
canned CDN answers, and local ``file://`` targets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from airflow_provider_mediajobs.dialects.wire import CallContext
from airflow_provider_mediajobs.engine.addresses import output_client

SECRET = "sk-live-output-secret"
CTX = CallContext("tensorpix", "tensorpix_default", "4242", (SECRET,))
BODY = bytes(range(256)) * 5000  # 1.28 MB: two chunks of 1 MiB


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport that remembers every request it saw."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self.handler = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def client_for(handler: Handler) -> tuple[httpx.Client, Recorder]:
    recorder = Recorder(handler)
    client = output_client(10.0, CTX, "mediajobs-test")
    client._transport = httpx.MockTransport(recorder)  # same client config, no sockets
    return client, recorder


def serve(body: bytes = BODY, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        all_headers = {"content-type": "video/mp4", "content-length": str(len(body)), **(headers or {})}
        return httpx.Response(status, headers=all_headers, stream=httpx.ByteStream(body))

    return handler


def local(tmp_path: Path, name: str = "out.mp4") -> Any:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(f"file://{tmp_path}/{name}")


def listing(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in tmp_path.iterdir()}
