"""engine.download on its own: URL checks, credential-free client, lengths, limits, atomic commit.

HTTP comes from ``httpx.MockTransport`` (the emulator tests cover real sockets); targets are real
local files and an in-memory fsspec store that stands in for an object store without rename.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_mediajobs.engine.addresses import check_output_url
from airflow_provider_mediajobs.engine.download import download
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
    OutputExistsError,
    OutputExpiredError,
    OutputTooLargeError,
    UnsafeOutputUrlError,
)

from support.downloads import BODY, CTX, SECRET, client_for, listing, local, serve

URL = "https://cdn.example/outputs/4242/out.mp4?Expires=4102444800&Signature=abc"


# ---- which URLs are fetched ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://cdn.example/out.mp4",
        "gopher://cdn.example/x",
        "javascript:alert(1)",
        "//cdn.example/no-scheme.mp4",
        "/relative/out.mp4",
        "",
        "https://user:password@cdn.example/out.mp4",
        "https://tensorpix-key@backend.tensorpix.ai/api/jobs/1/",
        "http://[::1/broken",
        "https://cdn.example:99999/out.mp4",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fe80::1]/x",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(UnsafeOutputUrlError) as caught:
        check_output_url(url, CTX)
    message = str(caught.value)
    assert message.startswith("[tensorpix conn_id='tensorpix_default' job_id='4242']")
    assert "Nothing was downloaded" in message
    assert "password" not in message.replace("user:password@host", "")


@pytest.mark.parametrize("url", ["https://cdn.example/a.png?sig=1", "HTTP://127.0.0.1:8790/cdn/x/y/z.mp4"])
def test_accepted_urls(url: str) -> None:
    assert check_output_url(url, CTX) == url


def test_non_string_url_is_refused() -> None:
    with pytest.raises(UnsafeOutputUrlError):
        check_output_url(None, CTX)


# ---- the happy path and what is sent ---------------------------------------------------------------
def test_streams_verified_bytes_without_any_credentials(tmp_path: Path) -> None:
    client, seen = client_for(serve())
    done = download(client, URL, local(tmp_path), kind="video", ctx=CTX)

    assert listing(tmp_path) == {"out.mp4": BODY}
    assert done.bytes == len(BODY)
    assert done.sha256 == hashlib.sha256(BODY).hexdigest()
    assert done.content_type == "video/mp4"
    assert done.url == "https://cdn.example/outputs/4242/out.mp4"  # no signature in XCom
    assert done.path == f"file://{tmp_path}/out.mp4"
    assert done.skipped is False
    (request,) = seen.requests
    assert "authorization" not in request.headers
    assert "cookie" not in request.headers
    assert request.headers["accept-encoding"] == "identity"
    assert request.headers["user-agent"] == "mediajobs-test"


def test_redirect_to_another_host_is_followed_and_each_hop_checked(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            return httpx.Response(
                302, headers={"location": "https://bucket.s3.example/out.mp4?X-Amz-Signature=1"}
            )
        return serve()(request)

    client, seen = client_for(handler)
    download(client, URL, local(tmp_path), kind="video", ctx=CTX)

    assert [r.url.host for r in seen.requests] == ["cdn.example", "bucket.s3.example"]
    assert all("authorization" not in r.headers for r in seen.requests)
    assert listing(tmp_path) == {"out.mp4": BODY}


@pytest.mark.parametrize(
    "location",
    [
        "https://user:pw@evil.example/out.mp4",
        "file:///etc/passwd",
        "ftp://evil.example/x",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_redirect_to_an_unsafe_url_is_refused(tmp_path: Path, location: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            return httpx.Response(302, headers={"location": location})
        return serve()(request)

    client, seen = client_for(handler)
    with pytest.raises((UnsafeOutputUrlError, MediaJobTransientError)):
        download(client, URL, local(tmp_path), kind="video", ctx=CTX)
    assert [r.url.host for r in seen.requests] == ["cdn.example"]  # the unsafe hop was never sent
    assert listing(tmp_path) == {}


def test_a_server_that_compresses_anyway_is_measured_on_the_wire(tmp_path: Path) -> None:
    packed = gzip.compress(BODY)
    client, _ = client_for(serve(packed, headers={"content-encoding": "gzip"}))
    done = download(client, URL, local(tmp_path), kind="video", ctx=CTX)
    assert listing(tmp_path) == {"out.mp4": BODY}
    assert done.sha256 == hashlib.sha256(BODY).hexdigest()
    # the compressed Content-Length is not mistaken for the stored file's size
    assert download(client, URL, local(tmp_path), kind="video", ctx=CTX).skipped is True


# ---- broken or refused downloads -----------------------------------------------------------------
def test_body_shorter_than_content_length_leaves_nothing(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-length": str(len(BODY))}, stream=httpx.ByteStream(BODY[:1000])
        )

    client, _ = client_for(handler)
    with pytest.raises(MediaJobTransientError) as caught:
        download(client, URL, local(tmp_path), kind="video", ctx=CTX)
    assert f"ended after 1000 of {len(BODY)} bytes" in str(caught.value)
    assert "Signature" not in str(caught.value)
    assert listing(tmp_path) == {}


def test_max_bytes_is_enforced_while_streaming_without_content_length(tmp_path: Path) -> None:
    chunks = [b"x" * 4000] * 10

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter(chunks))  # chunked: no Content-Length

    client, _ = client_for(handler)
    with pytest.raises(OutputTooLargeError) as caught:
        download(client, URL, local(tmp_path), kind="video", ctx=CTX, max_bytes=10_000)
    assert "exceeded max_bytes=10000 while streaming" in str(caught.value)
    assert listing(tmp_path) == {}

    done = download(client, URL, local(tmp_path), kind="video", ctx=CTX, max_bytes=40_000)
    assert done.bytes == 40_000


def test_declared_length_over_max_bytes_is_refused_before_reading(tmp_path: Path) -> None:
    pulled: list[int] = []

    def body() -> Iterator[bytes]:
        for i in range(3):
            pulled.append(i)
            yield b"x" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": "3000"}, content=body())

    client, _ = client_for(handler)
    with pytest.raises(OutputTooLargeError):
        download(client, URL, local(tmp_path), kind="video", ctx=CTX, max_bytes=2999)
    assert pulled == []
    assert listing(tmp_path) == {}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (403, OutputExpiredError),
        (410, OutputExpiredError),
        (404, MediaJobApiError),
        (503, MediaJobTransientError),
        (408, MediaJobTransientError),
    ],
)
def test_status_codes_are_classified(tmp_path: Path, status: int, error: type[Exception]) -> None:
    client, _ = client_for(serve(b"<Error><Code>AccessDenied</Code></Error>", status=status))
    with pytest.raises(error) as caught:
        download(client, URL, local(tmp_path), kind="video", ctx=CTX)
    assert f"HTTP {status}" in str(caught.value)
    assert "Signature" not in str(caught.value)
    assert (status in (503, 408)) == isinstance(caught.value, MediaJobTransientError)
    assert listing(tmp_path) == {}


def test_429_carries_retry_after(tmp_path: Path) -> None:
    client, _ = client_for(serve(b"slow down", status=429, headers={"retry-after": "7"}))
    with pytest.raises(MediaJobRateLimitedError) as caught:
        download(client, URL, local(tmp_path), kind="video", ctx=CTX)
    assert caught.value.retry_after == 7


def test_connection_error_is_transient_and_redacted(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"boom {SECRET}")

    client, _ = client_for(handler)
    with pytest.raises(MediaJobTransientError) as caught:
        download(client, URL, local(tmp_path), kind="video", ctx=CTX)
    assert "ConnectError" in str(caught.value)
    assert SECRET not in str(caught.value)


# ---- existing targets ---------------------------------------------------------------------------------
def test_identical_existing_file_is_skipped_and_different_one_kept(tmp_path: Path) -> None:
    client, _ = client_for(serve())
    target = local(tmp_path)
    download(client, URL, target, kind="video", ctx=CTX)
    inode = (tmp_path / "out.mp4").stat().st_ino

    again = download(client, URL, target, kind="video", ctx=CTX)
    assert again.skipped is True
    assert (tmp_path / "out.mp4").stat().st_ino == inode

    (tmp_path / "out.mp4").write_bytes(b"y" * len(BODY))  # same size, other bytes
    with pytest.raises(OutputExistsError):
        download(client, URL, target, kind="video", ctx=CTX)
    assert listing(tmp_path) == {"out.mp4": b"y" * len(BODY)}

    replaced = download(client, URL, target, kind="video", ctx=CTX, overwrite=True)
    assert replaced.skipped is False
    assert listing(tmp_path) == {"out.mp4": BODY}


def test_abandoned_part_files_of_the_target_are_swept(tmp_path: Path) -> None:
    # what a SIGKILLed worker leaves behind: the next download of the same output removes it
    import os
    import time

    client, _ = client_for(serve())
    old = tmp_path / ".out.mp4.part-0123456789ab"
    live = tmp_path / ".out.mp4.part-ba9876543210"  # another download still writing
    other = tmp_path / ".other.mp4.part-0123456789ab"  # another output's leftover
    lookalike = tmp_path / ".out.mp4.part-notours"
    for path in (old, live, other, lookalike):
        path.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    for path in (old, other, lookalike):
        os.utime(path, (hour_ago, hour_ago))
    logger = ListLogger()

    download(client, URL, local(tmp_path), kind="video", ctx=CTX, abandoned_after=300, logger=logger)

    assert sorted(listing(tmp_path)) == sorted(["out.mp4", live.name, other.name, lookalike.name])
    assert any(str(old) in line and "stopped 3600 s ago" in line for line in logger.lines), logger.lines


def test_no_sweep_unless_asked(tmp_path: Path) -> None:
    import os

    client, _ = client_for(serve())
    old = tmp_path / ".out.mp4.part-0123456789ab"
    old.write_bytes(b"partial")
    os.utime(old, (0, 0))
    download(client, URL, local(tmp_path), kind="video", ctx=CTX)
    assert old.exists()


# ---- progress ------------------------------------------------------------------------------------------
class ListLogger:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)


def test_progress_is_logged_per_interval(tmp_path: Path) -> None:
    client, _ = client_for(serve())
    quiet, chatty = ListLogger(), ListLogger()
    download(client, URL, local(tmp_path, "a.mp4"), kind="video", ctx=CTX, logger=quiet)
    download(client, URL, local(tmp_path, "b.mp4"), kind="video", ctx=CTX, logger=chatty, progress_interval=0)

    assert quiet.lines == []  # a small, fast file logs nothing
    assert len(chatty.lines) == 2  # one line per 1 MiB chunk here
    assert chatty.lines[-1].startswith(
        "Downloading https://cdn.example/outputs/4242/out.mp4: 1.2 of 1.2 MiB (100%)"
    )
    assert all("Signature" not in line for line in chatty.lines)


# ---- an object store without rename -------------------------------------------------------------------
class ObjectStoreFS(MemoryFileSystem):
    """In-memory store with its own keys, recording writes and moves (copy + delete, like S3)."""

    store: dict[str, Any] = {}
    pseudo_dirs = [""]
    journal: list[tuple[str, ...]] = []

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "w" in mode:
            self.journal.append(("write", path))
        return super()._open(path, mode, **kwargs)

    def mv(self, path1: str, path2: str, **kwargs: Any) -> None:
        self.journal.append(("mv", path1, path2))
        super().mv(path1, path2, **kwargs)


@pytest.fixture
def object_store() -> Iterator[ObjectStoreFS]:
    from airflow.sdk.io import store

    fs = ObjectStoreFS()
    fs.store.clear()
    fs.journal.clear()
    store._STORE_CACHE.pop("memory", None)
    store.attach(protocol="memory", fs=fs)
    yield fs
    store._STORE_CACHE.pop("memory", None)
    fs.store.clear()


def test_object_store_target_only_appears_complete(object_store: ObjectStoreFS) -> None:
    from airflow.sdk import ObjectStoragePath

    target = ObjectStoragePath("memory://bucket/renders/out.mp4")
    seen_mid_stream: list[tuple[bool, list[str]]] = []

    def look(size: int) -> None:
        keys = [k for k in object_store.store if "renders" in k]
        seen_mid_stream.append((object_store.exists(target.path), keys))

    client, _ = client_for(serve())
    download(client, URL, target, kind="video", ctx=CTX, on_chunk=look)

    assert seen_mid_stream and all(exists is False for exists, _ in seen_mid_stream)
    assert all(keys and all("/.out.mp4.part-" in k for k in keys) for _, keys in seen_mid_stream)
    assert object_store.cat_file(target.path) == BODY
    assert [k for k in object_store.store if "renders" in k] == [target.path]
    (write,), (move,) = (
        [j for j in object_store.journal if j[0] == "write"],
        [j for j in object_store.journal if j[0] == "mv"],
    )
    assert ".part-" in write[1]  # the target key itself was never opened for writing
    assert move[1] == write[1]
    assert move[2] == target.path


def test_object_store_failure_leaves_no_key(object_store: ObjectStoreFS) -> None:
    from airflow.sdk import ObjectStoragePath

    target = ObjectStoragePath("memory://bucket/renders/out.mp4")

    def fail(size: int) -> None:
        raise httpx.ReadError("connection dropped")

    client, _ = client_for(serve())
    with pytest.raises(MediaJobTransientError):
        download(client, URL, target, kind="video", ctx=CTX, on_chunk=fail)
    assert [k for k in object_store.store if "renders" in k] == []
