"""Uploaded inputs: TAMS resource images (presigned PUT) and TensorPix videos, kept in memory, capped.

Upload URLs live on the emulator's CDN: ``/cdn/uploads/{provider}/{id}/{name}?expires=..&sig=..``; a
URL signed for PUT cannot be used to GET and the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from . import cdn

if TYPE_CHECKING:
    from .runtime import Runtime

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # one upload; larger bodies get 413
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # all uploads together; beyond that 507 (reset() frees them)


@dataclass
class Upload:
    provider: str
    id: str
    name: str
    created_at: float  # emulated epoch
    ready_at: float  # emulated epoch the provider has finished processing it
    data: bytes | None = None
    content_type: str = "application/octet-stream"


class Uploads:
    """All uploads by (provider, id); thread-safe; ids drawn from a seeded generator."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.rng = random.Random(f"uploads-{self.seed}")
            self.items: dict[tuple[str, str], Upload] = {}
            self.total = 0
            self._next_int = 500_000 + self.rng.randrange(100_000)

    def create(
        self, provider: str, name: str, now: float, ready_s: float = 0.0, *, sequential: bool = False
    ) -> Upload:
        """A new upload slot; ``sequential``: small increasing integer ids, else 64-bit random ones."""
        with self.lock:
            if sequential:
                self._next_int += 1 + self.rng.randrange(5)
                upload_id = str(self._next_int)
            else:
                upload_id = str(self.rng.randrange(10**17, 9 * 10**18))
            upload = Upload(provider, upload_id, name, now, now + ready_s)
            self.items[(provider, upload_id)] = upload
            return upload

    def get(self, provider: str, upload_id: str | None) -> Upload | None:
        with self.lock:
            return self.items.get((provider, str(upload_id)))

    def store(self, upload: Upload, data: bytes, content_type: str | None) -> bool:
        """Keep ``data`` as the upload's bytes; False when the total cap would be exceeded."""
        with self.lock:
            previous = len(upload.data) if upload.data is not None else 0
            if self.total - previous + len(data) > MAX_TOTAL_BYTES:
                return False
            self.total += len(data) - previous
            upload.data = data
            upload.content_type = content_type or "application/octet-stream"
            return True


def upload_url(rt: Runtime, base: str, upload: Upload, method: str, expires: int) -> str:
    sig = rt.signer.signature(f"{method}:{upload.provider}", upload.id, upload.name, expires)
    path = f"/cdn/uploads/{quote(upload.provider)}/{quote(upload.id)}/{quote(upload.name)}"
    return f"{base.rstrip('/')}{path}?expires={expires}&sig={sig}"


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The request body, or ``None`` as soon as it is (or announces to be) longer than ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _xml_error(code: str, message: str, resource: str, status: int) -> Response:
    body = cdn.access_denied(message, resource).replace("AccessDenied", code, 1)
    return Response(body, status, media_type="application/xml")


def upload_endpoint(rt: Runtime) -> Callable[..., Any]:
    """``PUT`` (with a URL from the upload route) stores the bytes; ``GET`` serves them back."""

    async def endpoint(request: Request) -> Response:
        response = await handle(request)
        rt.stats.record("cdn upload" if request.method == "PUT" else "cdn", response.status_code)
        return response

    async def handle(request: Request) -> Response:
        params = request.path_params
        provider, upload_id, name = params["provider"], params["upload_id"], params["name"]
        resource = request.url.path
        method = "put" if request.method == "PUT" else "get"
        try:
            expires = int(request.query_params.get("expires", ""))
        except ValueError:
            return _xml_error("AccessDenied", "Invalid expires parameter", resource, 403)
        expected = rt.signer.signature(f"{method}:{provider}", upload_id, name, expires)
        if not hmac.compare_digest(expected, request.query_params.get("sig", "")):
            message = "The request signature we calculated does not match the signature you provided."
            return _xml_error("AccessDenied", message, resource, 403)
        if rt.state.now() > expires:
            return _xml_error("AccessDenied", "Request has expired", resource, 403)
        upload = rt.uploads.get(provider, upload_id)
        if upload is None or upload.name != name:
            return _xml_error("NoSuchKey", "The specified key does not exist.", resource, 404)
        if method == "get":
            if upload.data is None:
                return _xml_error("NoSuchKey", "The specified key does not exist.", resource, 404)
            return Response(upload.data, 200, media_type=upload.content_type)
        data = await read_capped(request, MAX_UPLOAD_BYTES)
        if data is None:
            message = "Your proposed upload exceeds the maximum allowed size"
            return _xml_error("EntityTooLarge", message, resource, 413)
        if not rt.uploads.store(upload, data, request.headers.get("content-type")):
            return _xml_error("InsufficientStorage", "The emulator's upload space is full.", resource, 507)
        etag = hashlib.md5(data).hexdigest()  # noqa: S324 - an S3-style ETag, not security
        return Response(status_code=200, headers={"ETag": f'"{etag}"'})

    return endpoint
