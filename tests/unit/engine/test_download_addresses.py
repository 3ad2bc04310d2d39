"""Downloads over real sockets: which addresses they reach, how long and how much they may take.

A small HTTP server on 127.0.0.1 stands in for everything: it is the "internal service" a hostile
output URL points at (every spelling of loopback, a redirect hop to it), and, reached through a
name whose lookup the test controls, the "public CDN". Only 127.0.0.1 is ever connected to.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from airflow_provider_mediajobs.dialects.wire import CallContext
from airflow_provider_mediajobs.engine import addresses as addresses_module
from airflow_provider_mediajobs.engine.addresses import output_client
from airflow_provider_mediajobs.engine.download import DEFAULT_MAX_BYTES, download, max_bytes_for
from airflow_provider_mediajobs.exceptions import (
    OutputTooLargeError,
    OutputTooSlowError,
    PrivateOutputHostError,
    UnsafeOutputUrlError,
)

CTX = CallContext("vozo", "vozo_cdn", "job-77", ("sk-secret-77",))
BODY = b"internal secret " * 64


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server: Server = self.server  # type: ignore[assignment]
        server.hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/endless"):
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"\0" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
        elif self.path.startswith("/trickle"):
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                return
        else:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]
    redirect_to: str = ""


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    srv.hits = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def target(tmp_path: Path, name: str = "out.mp4") -> Any:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(f"file://{tmp_path}/{name}")


def fetch(url: str, tmp_path: Path, allow_private: bool = False, **kwargs: Any) -> Any:
    with output_client(5.0, CTX, "mediajobs-test", allow_private=allow_private) as client:
        return download(client, url, target(tmp_path), kind="video", ctx=CTX, **kwargs)


def assert_nothing_written(tmp_path: Path) -> None:
    assert list(tmp_path.iterdir()) == [], "a partial or complete file was left behind"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.1.2.3"])
def test_loopback_is_refused_by_default_and_nothing_is_requested(
    server: Server, tmp_path: Path, host: str
) -> None:
    port = server.server_address[1]
    with pytest.raises(PrivateOutputHostError) as caught:
        fetch(f"http://{host}:{port}/secret?sig=abc", tmp_path)
    message = str(caught.value)
    for needed in ("vozo", "vozo_cdn", "job-77", host.strip("[]").split(":")[-1] if "[" in host else host):
        assert needed in message, message
    assert "loopback" in message and "sig=abc" not in message and "allow_private_hosts" in message
    assert server.hits == []
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001"])
def test_numeric_spellings_of_loopback_are_refused(server: Server, tmp_path: Path, spelling: str) -> None:
    port = server.server_address[1]
    with pytest.raises(UnsafeOutputUrlError) as caught:
        fetch(f"http://{spelling}:{port}/secret", tmp_path, allow_private=True)
    assert "127.0.0.1" in str(caught.value)  # what the spelling means is said
    assert server.hits == []


def test_private_hosts_are_reached_when_allowed(server: Server, tmp_path: Path) -> None:
    port = server.server_address[1]
    done = fetch(f"http://127.0.0.1:{port}/out.mp4?sig=abc", tmp_path, allow_private=True)
    assert done.bytes == len(BODY) and done.url == f"http://127.0.0.1:{port}/out.mp4"
    assert server.hits == ["/out.mp4?sig=abc"]


@pytest.fixture
def public_cdn(server: Server, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """``cdn.public.example`` resolves to a public address (8.8.8.8); a connect to that address
    is carried to the local server instead. Records every lookup and every connect."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = httpcore.SyncBackend.connect_tcp
    port = server.server_address[1]
    seen: list[tuple[str, Any]] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(("lookup", host))
        if host == "cdn.public.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", args[0] if args else 80))]
        if host == "rebind.public.example":  # public first, loopback on any later lookup
            looked = sum(1 for kind, h in seen if kind == "lookup" and h == host)
            address = "8.8.8.8" if looked == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, args[0] if args else 80))]
        return real_getaddrinfo(host, *args, **kwargs)

    def connect_tcp(self: Any, host: str, port_: int, *args: Any, **kwargs: Any) -> Any:
        seen.append(("connect", host))
        if host == "8.8.8.8":
            return real_connect(self, "127.0.0.1", port, *args, **kwargs)
        return real_connect(self, host, port_, *args, **kwargs)

    monkeypatch.setattr(addresses_module.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)
    return seen


def test_the_connection_goes_to_the_address_that_was_checked(
    public_cdn: list[tuple[str, Any]], server: Server, tmp_path: Path
) -> None:
    done = fetch("http://rebind.public.example/out.mp4", tmp_path)
    assert done.bytes == len(BODY)
    # one lookup, and the connect went to its (checked) answer: no second lookup to rebind
    # (the stand-in connect to 127.0.0.1 looks up its numeric address: not a name lookup)
    names = [entry for entry in public_cdn if entry != ("lookup", "127.0.0.1")]
    assert names == [("lookup", "rebind.public.example"), ("connect", "8.8.8.8")]


@pytest.mark.parametrize(
    "hop",
    [
        "http://127.0.0.1:{port}/secret",
        "http://localhost:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ],
)
def test_every_redirect_hop_is_checked(
    public_cdn: list[tuple[str, Any]], server: Server, tmp_path: Path, hop: str
) -> None:
    server.redirect_to = hop.format(port=server.server_address[1])
    with pytest.raises(UnsafeOutputUrlError) as caught:
        fetch("http://cdn.public.example/redirect?sig=abc", tmp_path)
    assert "job-77" in str(caught.value) and "sig=abc" not in str(caught.value)
    assert server.hits == ["/redirect?sig=abc"]  # the internal target was never requested
    assert_nothing_written(tmp_path)


def test_an_endless_body_stops_at_the_default_limit_and_leaves_nothing(
    public_cdn: list[tuple[str, Any]], server: Server, tmp_path: Path
) -> None:
    # the defaults are finite for every kind; a small one here keeps the test fast
    assert all(0 < limit <= 8 * 2**30 for limit in DEFAULT_MAX_BYTES.values())
    assert max_bytes_for("image") < max_bytes_for("video")
    with pytest.raises(OutputTooLargeError):
        fetch("http://cdn.public.example/endless", tmp_path, max_bytes={"video": 2 * 2**20})
    assert_nothing_written(tmp_path)


def test_a_download_past_its_deadline_fails_and_leaves_nothing(
    public_cdn: list[tuple[str, Any]], server: Server, tmp_path: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(OutputTooSlowError) as caught:
        fetch("http://cdn.public.example/trickle", tmp_path, deadline=0.5)
    assert time.monotonic() - started < 5  # the read timeout (5 s) never fires: bytes keep coming
    assert "deadline" in str(caught.value) and "job-77" in str(caught.value)
    assert_nothing_written(tmp_path)


def test_per_kind_limits_are_overridable() -> None:
    assert max_bytes_for("video", 10) == 10
    assert max_bytes_for("image", {"video": 10}) == DEFAULT_MAX_BYTES["image"]
    assert max_bytes_for("video", {"video": 10}) == 10
    assert max_bytes_for("subtitle") == DEFAULT_MAX_BYTES["other"]


def test_https_still_verifies_the_certificate_against_the_url_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TCP connect goes to the checked address; TLS still checks the URL's host name: a name
    the certificate does not list fails even though it resolves to the right address."""
    import ssl

    from airflow_provider_mediajobs.emulator import Emulator
    from airflow_provider_mediajobs.exceptions import MediaJobTransientError

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real_getaddrinfo("127.0.0.1" if host == "other.example" else host, *args, **kwargs)

    monkeypatch.setattr(addresses_module.socket, "getaddrinfo", getaddrinfo)
    with Emulator(tls=True, speed=1000, tams_qps=0) as emu:
        job = emu.add_job("tensorpix", outcome="succeeded", queued_s=0, running_s=1, output_bytes=5000)
        emu.advance(5)
        trusted = ssl.create_default_context(cafile=emu.ca_file)
        key = emu.connection("tensorpix")["password"]
        status = httpx.get(
            f"{emu.base_url('tensorpix')}/api/jobs/{job}/",
            headers={"Authorization": f"Token {key}"},
            verify=trusted,
        ).json()
        url = status["output_video"]["file"]
        assert url.startswith("https://127.0.0.1:")
        with output_client(5.0, CTX, "t", trusted, allow_private=True) as client:
            for host in ("127.0.0.1", "localhost"):  # both named in the emulator's certificate
                done = download(
                    client,
                    url.replace("127.0.0.1", host),
                    target(tmp_path, f"{host}.mp4"),
                    kind="video",
                    ctx=CTX,
                )
                assert done.bytes == 5000
            with pytest.raises(MediaJobTransientError, match="ConnectError"):
                link = url.replace("127.0.0.1", "other.example")
                download(client, link, target(tmp_path, "other.mp4"), kind="video", ctx=CTX)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["127.0.0.1.mp4", "localhost.mp4"]
