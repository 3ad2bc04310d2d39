"""HTTPS and proxies on both paths: what production traffic needs and the emulator (plain HTTP) cannot show.

The real APIs are all HTTPS. These tests run a TLS server on 127.0.0.1 with a self-signed
certificate for ``localhost`` and check that the async transport verifies the certificate and the
host name (SNI), that an untrusted certificate is a clear, non-retryable error, and that both paths
honour the standard proxy variables (``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY``) as
``requests`` and ``httpx`` do.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airflow_provider_mediajobs.engine import transport
from airflow_provider_mediajobs.exceptions import MediaJobConfigError, MediaJobError
from airflow_provider_mediajobs.hooks import TensorPixHook

from support.connections import set_connections

KEY = "mj-tls-test-key-5d1e"
JOB: dict[str, Any] = {
    "id": 42,
    "status": 2,
    "processing_progress": 1.0,
    "eta_s": 0.0,
    "cost_usd": "0.5000",
    "output_video": {"id": 7, "file": "https://cdn.example/out.mp4?sig=abc"},
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str | None]]

    def do_GET(self) -> None:
        self.seen.append((self.requestline, self.headers.get("Authorization")))
        body = json.dumps({**JOB, "via": self.server.server_address[1]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server:
    """A threaded HTTP(S) server on 127.0.0.1 that answers every GET with a finished TensorPix job."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        handler = type("Handler", (_Handler,), {"seen": []})
        self.seen: list[tuple[str, str | None]] = handler.seen
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate valid for the DNS name ``localhost`` only (not for 127.0.0.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    assert not any(
        isinstance(n, x509.IPAddress) and n.value == ipaddress.ip_address("127.0.0.1")
        for n in certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    )
    return cert_file, key_file


@pytest.fixture
def tls_server(cert: tuple[Path, Path]) -> Iterator[Server]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    server = Server(context)
    yield server
    server.close()


@pytest.fixture
def plain_server() -> Iterator[Server]:
    server = Server()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.lower(), raising=False)
    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(transport, "_ssl_context", None)  # rebuilt from this test's environment


def use_host(monkeypatch: pytest.MonkeyPatch, host: str) -> TensorPixHook:
    conn = {"conn_type": "tensorpix", "host": host, "password": KEY}
    set_connections(monkeypatch, {"tp_net": conn})
    return TensorPixHook(conn_id="tp_net")


async def test_https_verifies_the_certificate_against_ssl_cert_file(
    monkeypatch: pytest.MonkeyPatch, tls_server: Server, cert: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert[0]))
    hook = use_host(monkeypatch, f"https://localhost:{tls_server.port}")
    job = await hook.aget_job("42")
    assert job.state.value == "succeeded" and job.output_urls == ["https://cdn.example/out.mp4?sig=abc"]
    assert hook.get_job("42").state.value == "succeeded"  # the sync path (requests) too
    assert [line for line, _ in tls_server.seen] == ["GET /api/jobs/42/ HTTP/1.1"] * 2
    assert {auth for _, auth in tls_server.seen} == {f"Token {KEY}"}


async def test_an_untrusted_certificate_is_a_clear_error_without_retries(
    monkeypatch: pytest.MonkeyPatch, tls_server: Server
) -> None:
    hook = use_host(monkeypatch, f"https://localhost:{tls_server.port}")  # public CAs only
    with pytest.raises(MediaJobConfigError) as caught:
        await hook.aget_job("42")
    message = str(caught.value)
    assert "certificate" in message and "SSL_CERT_FILE" in message
    assert "tensorpix" in message.lower() and "tp_net" in message and "42" in message
    assert KEY not in message and tls_server.seen == []


async def test_the_host_name_is_checked(
    monkeypatch: pytest.MonkeyPatch, tls_server: Server, cert: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    hook = use_host(monkeypatch, f"https://127.0.0.1:{tls_server.port}")  # the cert names localhost only
    with pytest.raises(MediaJobError) as caught:
        await hook.aget_job("42")
    assert "certificate" in str(caught.value) and tls_server.seen == []


async def test_both_paths_go_through_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, plain_server: Server
) -> None:
    proxy = plain_server  # answers absolute-form requests itself, like a caching proxy would
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    hook = use_host(monkeypatch, "http://tensorpix.api.test:8080")  # reachable only through the proxy
    assert (await hook.aget_job("42")).state.value == "succeeded"
    assert hook.get_job("42").state.value == "succeeded"
    assert [line for line, _ in proxy.seen] == [
        "GET http://tensorpix.api.test:8080/api/jobs/42/ HTTP/1.1"
    ] * 2
    assert {auth for _, auth in proxy.seen} == {f"Token {KEY}"}


async def test_no_proxy_goes_direct(
    monkeypatch: pytest.MonkeyPatch, plain_server: Server, tls_server: Server
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{tls_server.port}")  # would fail if used
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    hook = use_host(monkeypatch, f"http://127.0.0.1:{plain_server.port}")
    assert (await hook.aget_job("42")).state.value == "succeeded"
    assert hook.get_job("42").state.value == "succeeded"
    assert [line for line, _ in plain_server.seen] == ["GET /api/jobs/42/ HTTP/1.1"] * 2
