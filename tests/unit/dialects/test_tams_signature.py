"""TAMS-SHA256-RSA, verified the way the server does it: with the public key, over the exact
request that left the client (method, path+query, timestamp, nonce and body bytes as sent)."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from airflow_provider_mediajobs.dialects.wire import ApiRequest
from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.engine.api import Operation
from airflow_provider_mediajobs.exceptions import MediaJobAuthError, MediaJobConfigError
from airflow_provider_mediajobs.models import JobState

from support.connections import set_connections
from support.constants import SENTINEL, TAMS_HOST
from support.wire import Reply, Sent, Wire, make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

APP_ID = "app-7d1e"
JOB = {"job": {"id": "784512339871236541", "status": "RUNNING"}}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any, fmt: serialization.PrivateFormat, password: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


def pem_variants(key: rsa.RSAPrivateKey) -> dict[str, str]:
    pkcs1 = pem(key, serialization.PrivateFormat.TraditionalOpenSSL)
    pkcs8 = pem(key, serialization.PrivateFormat.PKCS8)
    return {
        "pkcs1": pkcs1,
        "pkcs8": pkcs8,
        "pkcs8-escaped-newlines": pkcs8.strip().replace("\n", "\\n"),  # "\n" typed as two characters
        "pkcs1-one-line": pkcs1.strip().replace("\n", " "),  # a single-line password input
        "pkcs8-crlf-indented": "\r\n".join("   " + line for line in pkcs8.splitlines()),
    }


def set_tams_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, host: str = TAMS_HOST, **extra: Any) -> None:
    conn = {"conn_type": "tensorart", "host": host, "extra": {"rate_limit": 0, **extra}}
    set_connections(monkeypatch, {conn_id: conn})


def verify(public_key: rsa.RSAPublicKey, sent: Sent) -> dict[str, str]:
    """What the TAMS server does; returns the header's fields."""
    scheme, _, params = sent.headers["authorization"].partition(" ")
    assert scheme == "TAMS-SHA256-RSA"
    fields = dict(part.split("=", 1) for part in params.split(","))
    assert sorted(fields) == ["app_id", "nonce_str", "signature", "timestamp"]
    assert fields["app_id"] == APP_ID
    assert abs(int(fields["timestamp"]) - time.time()) < 300  # Unix seconds, current
    to_sign = b"\n".join(
        [
            sent.method.encode(),
            sent.path_and_query.encode(),
            fields["timestamp"].encode(),
            fields["nonce_str"].encode(),
            sent.body,
        ]
    )
    signature = base64.b64decode(fields["signature"], validate=True)
    public_key.verify(signature, to_sign, padding.PKCS1v15(), hashes.SHA256())
    return fields


@pytest.mark.parametrize(
    "variant", ["pkcs1", "pkcs8", "pkcs8-escaped-newlines", "pkcs1-one-line", "pkcs8-crlf-indented"]
)
async def test_status_reads_are_signed_over_the_exact_request(
    wire: Wire, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    set_tams_conn(monkeypatch, "tams_rsa", app_id=APP_ID, private_key=pem_variants(key)[variant])
    wire.reply(Reply(json=JOB))
    job = await wire.get_job(make_hook("tensorart", conn_id="tams_rsa"), "784512339871236541")
    assert job.state is JobState.RUNNING
    sent = wire.sent[0]
    assert (sent.method, sent.path_and_query, sent.body) == ("GET", "/v1/jobs/784512339871236541", b"")
    verify(key.public_key(), sent)


async def test_the_signature_covers_a_base_path_an_encoded_id_and_a_query(
    wire: Wire, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_tams_conn(
        monkeypatch,
        "tams_prefixed",
        host=f"{TAMS_HOST}/gateway/",
        app_id=APP_ID,
        private_key=pem_variants(key)["pkcs8"],
    )
    hook = make_hook("tensorart", conn_id="tams_prefixed")
    wire.reply(Reply(json=JOB))
    await wire.get_job(hook, "id:with@chars")
    request = ApiRequest("GET", "/v1/jobs", query=(("cursor", "a b/c"), ("size", "10")))
    api = hook.api

    def parse(response: Any, ctx: Any) -> int:
        return response.status_code

    op = Operation(request, parse, api.config.context())
    if wire.mode == "sync":
        api.call(hook.session, op)
    else:
        await api.acall(op)
    first, second = wire.sent
    assert first.path_and_query == "/gateway/v1/jobs/id%3Awith%40chars"
    assert second.path_and_query == "/gateway/v1/jobs?cursor=a%20b%2Fc&size=10"
    for sent in wire.sent:
        verify(key.public_key(), sent)


async def test_a_tampered_request_does_not_verify(
    wire: Wire, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: change any signed part and verification breaks."""
    set_tams_conn(monkeypatch, "tams_rsa", app_id=APP_ID, private_key=pem_variants(key)["pkcs8"])
    wire.reply(Reply(json=JOB))
    await wire.get_job(make_hook("tensorart", conn_id="tams_rsa"), "784512339871236541")
    sent = wire.sent[0]
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    for tampered, public_key in [
        (Sent("DELETE", sent.url, sent.path_and_query, sent.headers, sent.body), key.public_key()),
        (Sent(sent.method, sent.url, sent.path_and_query + "1", sent.headers, sent.body), key.public_key()),
        (Sent(sent.method, sent.url, sent.path_and_query, sent.headers, b"{}"), key.public_key()),
        (sent, other.public_key()),
    ]:
        with pytest.raises(InvalidSignature):
            verify(public_key, tampered)


def test_creates_sign_the_body_bytes_actually_sent(
    requests_mock: Any, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_tams_conn(monkeypatch, "tams_rsa", app_id=APP_ID, private_key=pem_variants(key)["pkcs1"])
    requests_mock.post(f"{TAMS_HOST}/v1/jobs", json={"job": {"id": "99", "status": "CREATED"}})
    payload = {
        "requestId": "r-1",
        "stages": [{"type": "DIFFUSION", "diffusion": {"prompts": [{"text": "猫 ☕"}]}}],
    }
    assert make_hook("tensorart", conn_id="tams_rsa").submit_job(payload, kind="job") == "99"
    request = requests_mock.last_request
    sent = Sent(
        request.method,
        request.url,
        "/v1/jobs",
        {k.lower(): v for k, v in request.headers.items()},
        request.body,
    )
    assert json.loads(sent.body) == payload
    assert sent.headers["content-type"] == "application/json"
    verify(key.public_key(), sent)


async def test_cancel_and_test_connection_are_signed(
    wire: Wire, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_tams_conn(monkeypatch, "tams_rsa", app_id=APP_ID, private_key=pem_variants(key)["pkcs8"])
    hook = make_hook("tensorart", conn_id="tams_rsa")
    wire.reply(Reply(json={"jobId": "784512339871236541"}))
    assert await wire.cancel_job(hook, "784512339871236541") is True
    if wire.mode == "sync":
        wire.reply(Reply(json={"credits": "1.5"}))
        assert hook.test_connection()[0] is True
    assert [(s.method, s.path) for s in wire.sent][:1] == [("DELETE", "/v1/jobs/784512339871236541")]
    for sent in wire.sent:
        verify(key.public_key(), sent)
    if wire.mode == "sync":
        assert (wire.sent[1].method, wire.sent[1].path) == ("POST", "/v1/jobs/credits")
        assert json.loads(wire.sent[1].body)["stages"]


async def test_nonces_are_unique_per_request(
    wire: Wire, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_tams_conn(monkeypatch, "tams_rsa", app_id=APP_ID, private_key=pem_variants(key)["pkcs8"])
    hook = make_hook("tensorart", conn_id="tams_rsa")
    wire.reply(Reply(json=JOB))
    for _ in range(25):  # within the same second: a timestamp-derived nonce would repeat
        await wire.get_job(hook, "784512339871236541")
    fields = [verify(key.public_key(), sent) for sent in wire.sent]
    nonces = [f["nonce_str"] for f in fields]
    assert len(set(nonces)) == len(nonces) == 25
    assert all(len(n) >= 16 for n in nonces)


async def test_bearer_mode_sends_the_key_as_bearer(wire: Wire) -> None:
    wire.reply(Reply(json=JOB))
    await wire.get_job(make_hook("tensorart"), "784512339871236541")
    assert wire.sent[0].headers["authorization"] == f"Bearer {SENTINEL}"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_signature_mode_against_the_emulator(
    mode: str, mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real server that verifies signatures and refuses replayed nonces accepts every request."""
    creds = mediajobs_emulator.credentials("tensorart")
    conn = {
        "conn_type": "tensorart",
        "host": mediajobs_emulator.base_url("tensorart"),
        "extra": {"app_id": creds["app_id"], "private_key": creds["private_key"], "rate_limit": 0},
    }
    set_connections(monkeypatch, {"tams_emu": conn})
    job_id = mediajobs_emulator.add_job("tensorart", outcome="succeeded", queued_s=0, running_s=3600)
    hook = make_hook("tensorart", conn_id="tams_emu")
    for _ in range(5):
        job = hook.get_job(job_id) if mode == "sync" else await hook.aget_job(job_id)
        assert job.job_id == job_id and not job.is_terminal
    # the same connection with another key is refused by the server
    other = pem(
        rsa.generate_private_key(public_exponent=65537, key_size=1024), serialization.PrivateFormat.PKCS8
    )
    conn["extra"]["private_key"] = other
    set_connections(monkeypatch, {"tams_emu_wrong": conn})
    wrong = make_hook("tensorart", conn_id="tams_emu_wrong")
    with pytest.raises(MediaJobAuthError) as info:
        wrong.get_job(job_id) if mode == "sync" else await wrong.aget_job(job_id)
    assert "HTTP 401" in str(info.value) and "private key" in str(info.value)
    assert other.splitlines()[1] not in str(info.value)


# ---- keys that cannot be used ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_keys(key: rsa.RSAPrivateKey) -> dict[str, tuple[dict[str, Any], str]]:
    pkcs8 = pem_variants(key)["pkcs8"]
    lines = pkcs8.splitlines()
    truncated = "\n".join(lines[: len(lines) // 2] + lines[-1:])
    ec_key = pem(ec.generate_private_key(ec.SECP256R1()), serialization.PrivateFormat.PKCS8)
    encrypted = pem(key, serialization.PrivateFormat.PKCS8, password=b"s3cret-pass")
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {
        "not-pem": ({"app_id": APP_ID, "private_key": SENTINEL}, "is not a PEM key"),
        "base64-without-armor": ({"app_id": APP_ID, "private_key": "".join(lines[1:-1])}, "is not a PEM key"),
        "truncated": ({"app_id": APP_ID, "private_key": truncated}, "could not be loaded"),
        "encrypted": ({"app_id": APP_ID, "private_key": encrypted}, "could not be loaded"),
        "public-key": ({"app_id": APP_ID, "private_key": public}, "could not be loaded"),
        "ec-key": ({"app_id": APP_ID, "private_key": ec_key}, "must be an RSA key"),
        "no-app-id": ({"private_key": pkcs8}, "no app id"),
    }


@pytest.mark.parametrize(
    "name", ["not-pem", "base64-without-armor", "truncated", "encrypted", "public-key", "ec-key", "no-app-id"]
)
async def test_an_unusable_key_is_a_clear_config_error_without_key_material(
    wire: Wire,
    bad_keys: dict[str, tuple[dict[str, Any], str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    extra, text = bad_keys[name]
    set_tams_conn(monkeypatch, "tams_bad", **extra)
    with pytest.raises(MediaJobConfigError) as info:
        await wire.get_job(make_hook("tensorart", conn_id="tams_bad"), "784512339871236541")
    assert wire.sent == []
    message = str(info.value)
    assert text in message
    assert message.startswith("[tensorart conn_id='tams_bad'")
    material = [
        line.strip()
        for line in extra["private_key"].replace("\\n", "\n").splitlines()
        if len(line.strip()) > 20
    ]
    material += [extra["private_key"][i : i + 24] for i in range(0, len(extra["private_key"]) - 24, 24)]
    for chunk in material:
        if "-----" not in chunk:
            assert chunk not in message and chunk not in repr(info.value) and chunk not in caplog.text
    assert info.value.__cause__ is None or "PRIVATE" not in str(info.value.__cause__)


def test_credentials_and_config_reprs_show_no_secret(
    key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkcs8 = pem_variants(key)["pkcs8"]
    set_tams_conn(monkeypatch, "tams_rsa", app_id=APP_ID, private_key=pkcs8)
    set_connections(
        monkeypatch,
        {
            "tams_both": {
                "conn_type": "tensorart",
                "host": TAMS_HOST,
                "password": SENTINEL,
                "extra": {"app_id": APP_ID, "private_key": pkcs8},
            }
        },
    )
    for conn_id in ("tams_rsa", "tams_both", "tensorart_default"):
        hook = make_hook("tensorart", conn_id=conn_id)
        for text in (repr(hook), repr(hook.config), repr(hook.config.credentials), str(hook.config)):
            assert SENTINEL not in text and pkcs8.splitlines()[1] not in text
    assert (
        repr(make_hook("tensorart", conn_id="tams_rsa").config.credentials)
        == "Credentials(mode='rsa', app_id='app-7d1e')"
    )
