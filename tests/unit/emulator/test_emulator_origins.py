"""Per-provider origins: each provider's production paths at the root of a port of its own.

The clients below are written the way code for the real APIs is (provider-apis.md): base URL plus the
documented path, TAMS requests signed over ``/v1/...`` only, the vendor demo's ``md5(timestamp)``
nonce. Nothing of the emulator but its URLs and credentials is used.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import requests

from airflow_provider_mediajobs.emulator import Emulator

from support.constants import PROVIDERS
from support.emulator_api import (
    PNG_MAGIC,
    TAMS_ERROR,
    auth_header,
    load_private_key,
    tams_body,
    tams_signature_header,
    validate,
)

PRODUCTION_TEST_CALLS = {
    "goenhance": ("GET", "/api/v1/user/tokens"),
    "tensorart": ("POST", "/v1/jobs/credits"),
    "vozo": ("GET", "/v1/video_generation/no-such-task"),
    "tensorpix": ("GET", "/api/accounts/profile/balance/"),
}


@pytest.fixture
def tams_key(emu):
    return load_private_key(emu.credentials("tensorart")["private_key"])


class TamsClient:
    """A TAMS client as written for the real API: base URL + ``/v1/...``, every request signed."""

    def __init__(self, base_url: str, key, app_id: str, nonce=None) -> None:
        self.base_url = base_url
        self.key = key
        self.app_id = app_id
        self.nonce = nonce  # None: a fresh uuid per request; callable(ts): e.g. the demo's md5(ts)

    def request(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        data = json.dumps(body).encode() if body is not None else b""
        ts = int(time.time())
        nonce = self.nonce(ts) if self.nonce else None
        header = tams_signature_header(
            self.key, method, path, data, app_id=self.app_id, timestamp=ts, nonce=nonce
        )
        headers = {"Authorization": header}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return requests.request(method, self.base_url + path, data=data or None, headers=headers, timeout=10)


def demo_nonce(ts: int) -> str:
    """The vendor's signature demo: the nonce is md5 of the timestamp (repeats within a second)."""
    return hashlib.md5(str(ts).encode()).hexdigest()


def test_one_origin_per_provider(emu):
    origins = emu.origins
    assert sorted(origins) == sorted(PROVIDERS)
    ports = {int(url.rsplit(":", 1)[1]) for url in origins.values()}
    assert len(ports) == 4 and emu.port not in ports
    for provider, url in origins.items():
        assert emu.origin(provider) == url
        assert url.startswith("http://127.0.0.1:")
    with pytest.raises(ValueError, match="provider must be one of"):
        emu.origin("runway")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_production_paths_at_the_origin_root(emu, provider):
    method, path = PRODUCTION_TEST_CALLS[provider]
    body = {"stages": [{"type": "INPUT_INITIALIZE"}]} if provider == "tensorart" else None
    response = httpx.request(method, emu.origin(provider) + path, json=body, headers=auth_header(provider))
    expected = 404 if provider == "vozo" else 200  # Vozo's test call reads a task that does not exist
    assert response.status_code == expected, response.text
    assert emu.stats()["requests"][f"{provider} test" if provider != "vozo" else "vozo status"]


def test_origin_is_only_the_provider(emu):
    origin = emu.origin("tensorpix")
    # the prefixed path, another provider's path and the admin API are not this provider's routes
    for path in ("/tensorpix/api/accounts/profile/balance/", "/v1/jobs/1", "/_emulator/stats"):
        response = httpx.get(origin + path, headers=auth_header("tensorpix"))
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."}


def test_tams_client_signing_only_v1_paths_creates_polls_downloads_and_cancels(emu, tams_key):
    client = TamsClient(emu.origin("tensorart"), tams_key, emu.credentials("tensorart")["app_id"])
    body = json.loads(tams_body())
    body["_emulator"] = {"queued_s": 2, "running_s": 5, "outputs": ["image"]}
    created = client.request("POST", "/v1/jobs", body)
    assert created.status_code == 200, created.text
    job_id = created.json()["job"]["id"]

    assert client.request("GET", f"/v1/jobs/{job_id}").json()["job"]["status"] in (
        "CREATED",
        "PENDING",
        "WAITING",
    )
    emu.advance(10)
    job = client.request("GET", f"/v1/jobs/{job_id}").json()["job"]
    assert job["status"] == "SUCCESS"
    [image] = job["successInfo"]["images"]
    assert image["url"].startswith(emu.url + "/cdn/")  # the CDN is the emulator's, not TAMS's origin
    download = requests.get(image["url"], timeout=10)
    assert download.status_code == 200 and download.content.startswith(PNG_MAGIC)

    other = client.request("POST", "/v1/jobs", json.loads(tams_body())).json()["job"]["id"]
    canceled = client.request("DELETE", f"/v1/jobs/{other}")
    assert canceled.status_code == 200 and canceled.json() == {"jobId": other}
    assert client.request("GET", f"/v1/jobs/{other}").json()["job"]["status"] == "CANCELED"
    assert emu.stats()["requests"]["tensorart cancel"] == {"200": 1}


def test_tams_origin_verifies_the_path_as_sent(emu, tams_key):
    """On the origin the signed path is ``/v1/...``; a signature over the prefixed path is refused."""
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    header = tams_signature_header(tams_key, "GET", f"/tensorart/v1/jobs/{job_id}")
    response = requests.get(f"{emu.origin('tensorart')}/v1/jobs/{job_id}", headers={"Authorization": header})
    assert response.status_code == 401
    validate(response.json(), TAMS_ERROR)
    assert "does not match" in response.json()["message"]
    query = f"/v1/jobs/{job_id}?view=full"
    header = tams_signature_header(tams_key, "GET", query)
    assert requests.get(emu.origin("tensorart") + query, headers={"Authorization": header}).status_code == 200


def test_vendor_demo_nonce_from_the_current_second_is_accepted(emu, tams_key):
    client = TamsClient(
        emu.origin("tensorart"), tams_key, emu.credentials("tensorart")["app_id"], nonce=demo_nonce
    )
    # Start right after a second boundary so that all calls share one timestamp, hence one nonce.
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    second = int(time.time())
    created = client.request("POST", "/v1/jobs", json.loads(tams_body()))
    job_id = created.json()["job"]["id"]
    read = client.request("GET", f"/v1/jobs/{job_id}")
    credits = client.request("POST", "/v1/jobs/credits", {"stages": [{"type": "INPUT_INITIALIZE"}]})
    assert int(time.time()) == second, "the machine was too slow to test within one second"
    assert [created.status_code, read.status_code, credits.status_code] == [200, 200, 200]


def test_exact_replay_on_the_origin_is_refused(emu, tams_key):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    url = f"{emu.origin('tensorart')}/v1/jobs/{job_id}"
    header = {"Authorization": tams_signature_header(tams_key, "GET", f"/v1/jobs/{job_id}")}
    assert requests.get(url, headers=header, timeout=10).status_code == 200
    replay = requests.get(url, headers=header, timeout=10)
    assert replay.status_code == 401 and "replayed" in replay.json()["message"]


def test_faults_and_stats_apply_on_origins(emu):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=1, running_s=1)
    emu.inject_fault(provider="tensorpix", route="status", kind="http_503", count=1)
    url = f"{emu.origin('tensorpix')}/api/jobs/{job_id}/"
    codes = [httpx.get(url, headers=auth_header("tensorpix")).status_code for _ in range(2)]
    assert codes == [503, 200]
    assert emu.stats()["requests"]["tensorpix status"] == {"503": 1, "200": 1}


def test_prefixed_layout_still_served_on_the_main_port(emu, api):
    job_id = emu.add_job("vozo", kind="lipsync", outcome="succeeded", queued_s=1, running_s=1)
    assert api.status("vozo", job_id)["status"] in ("pending", "processing")
    assert emu.base_url("vozo") == emu.url + "/vozo"


def test_origins_off():
    with Emulator(origins=False) as emu:
        assert emu.origins == {}
        with pytest.raises(RuntimeError, match="origins=False"):
            emu.origin("vozo")


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def test_python_origin_ports_option():
    [first, *_] = free_ports(1)
    with Emulator(origin_ports={"tensorpix": first}) as emu:
        assert emu.origin("tensorpix") == f"http://127.0.0.1:{first}"
        balance = httpx.get(
            emu.origin("tensorpix") + "/api/accounts/profile/balance/", headers=auth_header("tensorpix")
        )
        assert balance.json() == {"balance": 1250.0}


def test_cli_prints_the_origins_and_serves_them():
    [main, tensorpix] = free_ports(2)
    command = [sys.executable, "-m", "airflow_provider_mediajobs.emulator", "--port", str(main)]
    proc = subprocess.Popen(
        [*command, "--origin-port", "0", "--origin-port", f"tensorpix={tensorpix}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        origins: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while len(origins) < 4 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if match := re.search(r"mediajobs-emulator origin (\w+): (http://\S+)", line):
                origins[match.group(1)] = match.group(2)
        assert sorted(origins) == sorted(PROVIDERS), proc.stderr.read() if proc.stderr else ""
        assert origins["tensorpix"] == f"http://127.0.0.1:{tensorpix}"
        tokens = httpx.get(origins["goenhance"] + "/api/v1/user/tokens", headers=auth_header("goenhance"))
        assert tokens.json()["code"] == 0
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_cli_default_origin_ports_follow_the_main_port():
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_mediajobs.emulator", "--origin-port", "runway=1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "PROVIDER=PORT" in proc.stderr
    for _ in range(5):  # port+1..+4 may happen to be taken by someone else: try another port
        emu = Emulator(port=free_ports(1)[0])
        try:
            emu.start()
        except OSError:
            continue
        try:
            ports = [int(url.rsplit(":", 1)[1]) for url in emu.origins.values()]
            assert ports == [emu.port + i for i in range(1, 5)]
        finally:
            emu.stop()
        return
    pytest.fail("no free run of five ports found")


def test_tls_origins_are_https(tmp_path):
    with Emulator(tls=True, tls_dir=tmp_path) as emu:
        assert all(url.startswith("https://") for url in emu.origins.values())
        context = ssl.create_default_context(cafile=emu.ca_file)
        response = httpx.get(
            emu.origin("vozo") + f"/v1/media/translate/{uuid.uuid4().hex}",
            headers=auth_header("vozo"),
            verify=context,
        )
        assert response.status_code == 404 and response.json()["code"] == "404"
