"""``test_connection()``: one cheap documented call; (True, msg) or (False, clear msg), never raises,
never shows the key."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from airflow_provider_mediajobs.emulator import Emulator

from support.connections import set_connections
from support.constants import BASE_URLS, PROVIDERS, SENTINEL, TAMS_HOST
from support.wire import make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

# the documented cheap authenticated call of each provider, and a documented answer to it
CHEAP_CALL: dict[str, tuple[str, str, dict[str, Any], int, str]] = {
    "goenhance": (
        "GET",
        "/api/v1/user/tokens",
        {"code": 0, "msg": "success", "data": {"count": 4207}},
        200,
        "Connected to GoEnhance. Credits left: 4207.",
    ),
    "tensorart": ("POST", "/v1/jobs/credits", {"credits": "1.5"}, 200, "Connected to TensorArt TAMS."),
    # Vozo has no account endpoint: an id that cannot exist is "not found" with a right key
    "vozo": (
        "GET",
        "/v1/video_generation/airflow-connection-test",
        {"code": "404", "message": "task not found", "serverTs": "1"},
        404,
        "Connected to Vozo: the API key was accepted.",
    ),
    "tensorpix": (
        "GET",
        "/api/accounts/profile/balance/",
        {"balance": 12.5},
        200,
        "Connected to TensorPix. Balance: 12.5.",
    ),
}
UNAUTHORIZED = {
    "goenhance": {"code": 401, "msg": "Token is required"},
    "tensorart": {"code": 16, "message": "unauthenticated", "details": []},
    "vozo": {"code": "1302", "message": f"api key {SENTINEL} revoked", "serverTs": "1"},
    "tensorpix": {"detail": "Invalid token."},
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_ok_on_the_documented_cheap_call(requests_mock: Any, provider: str) -> None:
    method, path, body, status, message = CHEAP_CALL[provider]
    requests_mock.register_uri(method, BASE_URLS[provider] + path, json=body, status_code=status)
    assert make_hook(provider).test_connection() == (True, message)
    assert requests_mock.call_count == 1
    sent = requests_mock.last_request
    scheme = "Token" if provider == "tensorpix" else "Bearer"
    assert sent.headers["Authorization"] == f"{scheme} {SENTINEL}"
    if provider == "tensorart":  # pricing a minimal job: free, and proves the key
        assert json.loads(sent.body)["stages"][1]["type"] == "DIFFUSION"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [401, 403])
def test_false_with_a_clear_message_on_a_wrong_key(requests_mock: Any, provider: str, status: int) -> None:
    method, path, *_ = CHEAP_CALL[provider]
    requests_mock.register_uri(
        method, BASE_URLS[provider] + path, json=UNAUTHORIZED[provider], status_code=status
    )
    ok, message = make_hook(provider).test_connection()
    assert ok is False
    assert f"HTTP {status}" in message
    assert "this connection" in message  # Airflow tests under a random conn id: no id to name
    assert "API key" in message or "private key" in message  # names the field as the form labels it
    assert "password" not in message
    assert SENTINEL not in message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_false_on_connection_refused(monkeypatch: pytest.MonkeyPatch, provider: str) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conn = {"conn_type": provider, "host": f"http://127.0.0.1:{port}", "password": SENTINEL}
    set_connections(monkeypatch, {"refused": conn})
    ok, message = make_hook(provider, conn_id="refused").test_connection()
    assert ok is False
    assert f"API at http://127.0.0.1:{port}: connection problem" in message
    assert SENTINEL not in message


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ({}, "neither an API key"),
        ({"app_id": "a", "private_key": f"not a key {SENTINEL}"}, "is not a PEM key"),
    ],
)
def test_false_on_an_unusable_tams_connection(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, str], text: str
) -> None:
    conn = {"conn_type": "tensorart", "host": TAMS_HOST, "extra": extra}
    set_connections(monkeypatch, {"tams_bad": conn})
    ok, message = make_hook("tensorart", conn_id="tams_bad").test_connection()
    assert ok is False and text in message
    assert SENTINEL not in message


def test_false_on_a_missing_connection() -> None:
    ok, message = make_hook("vozo", conn_id="does_not_exist").test_connection()
    assert ok is False and "does not exist" in message


def test_vozo_tells_a_wrong_key_from_a_right_one(requests_mock: Any) -> None:
    url = BASE_URLS["vozo"] + CHEAP_CALL["vozo"][1]
    requests_mock.get(url, status_code=400, json={"code": "5", "message": "invalid task id"})
    assert make_hook("vozo").test_connection()[0] is True
    for code in ("7", "814", "1302", "1305", "1503"):
        requests_mock.get(url, status_code=400, json={"code": code, "message": "no permission"})
        ok, message = make_hook("vozo").test_connection()
        assert ok is False and f"code {code}" in message
    requests_mock.get(url, status_code=503, text="upstream down")
    assert make_hook("vozo").test_connection()[0] is False


@pytest.mark.parametrize("answer", [{"text": "<html>Not Found</html>"}, {"json": {}}, {"text": ""}])
def test_vozo_a_404_from_some_other_server_is_not_success(requests_mock: Any, answer: dict[str, Any]) -> None:
    """Any web server answers 404 to the probe path: only Vozo's own {code, message} counts."""
    requests_mock.get(BASE_URLS["vozo"] + CHEAP_CALL["vozo"][1], status_code=404, **answer)
    ok, message = make_hook("vozo").test_connection()
    assert ok is False and "does not look like the Vozo API" in message
    assert "host of this connection" in message  # what to check


@pytest.mark.parametrize("provider", PROVIDERS)
def test_against_the_emulator(
    mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    """Real HTTP: the emulator accepts its keys (TAMS: signature mode) and refuses a wrong one."""
    creds = mediajobs_emulator.credentials(provider)
    host = mediajobs_emulator.base_url(provider)
    if provider == "tensorart":
        good: dict[str, Any] = {"extra": {"app_id": creds["app_id"], "private_key": creds["private_key"]}}
    else:
        good = {"password": creds["api_key"]}
    set_connections(monkeypatch, {"emu_good": {"conn_type": provider, "host": host, **good}})
    set_connections(monkeypatch, {"emu_bad": {"conn_type": provider, "host": host, "password": SENTINEL}})
    ok, message = make_hook(provider, conn_id="emu_good").test_connection()
    assert ok is True, message
    ok, message = make_hook(provider, conn_id="emu_bad").test_connection()
    assert ok is False and "401" in message and SENTINEL not in message
