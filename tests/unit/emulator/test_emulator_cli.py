"""The command line (``python -m airflow_provider_mediajobs.emulator``) and the pytest plugin fixtures."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from support.constants import PROVIDERS
from support.emulator_api import auth_header, new_private_key, status_path, tams_signature_header

LISTENING = re.compile(r"mediajobs-emulator listening on (http://127\.0\.0\.1:(\d+))")


class CliEmulator:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_mediajobs.emulator", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def next_line(self, deadline: float) -> str:
        try:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no output in time; stderr: {''.join(self.stderr)[-2000:]}") from None
        if line is None:
            raise AssertionError(
                f"stdout closed (rc={self.proc.poll()}); stderr: {''.join(self.stderr)[-2000:]}"
            )
        return line

    def wait_listening(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            match = LISTENING.search(self.next_line(deadline))
            if match:
                assert int(match.group(2)) > 0
                return match.group(1)

    def read_json(self, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        text = ""
        while True:
            text += self.next_line(deadline)
            stripped = text.strip()
            if not stripped:
                continue
            try:
                return json.loads(stripped)
            except json.JSONDecodeError:
                continue

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the emulator did not stop on SIGTERM") from None


@pytest.fixture
def cli() -> Iterator[type[CliEmulator]]:
    started: list[CliEmulator] = []

    def start(*args: str) -> CliEmulator:
        process = CliEmulator(*args)
        started.append(process)
        return process

    yield start  # type: ignore[misc]
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


def test_cli_starts_serves_and_stops_cleanly(cli):
    server = cli("--seed", "3", "--speed", "60", "--print-credentials")
    url = server.wait_listening()
    credentials = server.read_json()
    assert credentials["tensorpix"]["api_key"] == "tensorpix-emulator-key"
    assert credentials["tensorart"]["app_id"] == "emulator-app"

    response = httpx.get(f"{url}/goenhance/api/v1/user/tokens", headers=auth_header("goenhance"))
    assert response.status_code == 200
    assert response.json()["code"] == 0
    assert httpx.get(f"{url}/_emulator/stats").json()["requests"]["goenhance test"] == {"200": 1}

    assert server.terminate() == 0, "".join(server.stderr)[-2000:]


def test_cli_fault_and_rate_limit_flags(cli):
    server = cli(
        "--fault",
        "goenhance:status:http_503:count=3",
        "--rate-limit",
        "tensorpix=2",
        "--tams-qps",
        "0",
    )
    url = server.wait_listening()
    with httpx.Client(base_url=url) as client:
        codes = [
            client.get(status_path("goenhance", "unknown-id"), headers=auth_header("goenhance")).status_code
            for _ in range(4)
        ]
        assert codes == [503, 503, 503, 200]

        responses = [
            client.get(status_path("tensorpix", 1), headers=auth_header("tensorpix")) for _ in range(6)
        ]
        throttled = [r for r in responses if r.status_code == 429]
        assert throttled
        assert {r.status_code for r in responses} <= {404, 429}
        for response in throttled:
            assert re.fullmatch(
                r"Request was throttled\. Expected available in \d+ seconds\.", response.json()["detail"]
            )
            assert int(response.headers["retry-after"]) >= 1

        tams = [client.get(status_path("tensorart", 1), headers=auth_header("tensorart")) for _ in range(10)]
        assert {r.status_code for r in tams} == {404}
        assert client.get("/_emulator/stats").json()["rate_limited"] == len(throttled)
    assert server.terminate() == 0


def test_cli_tams_public_key_file(cli, tmp_path: Path):
    key = new_private_key()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "tams.pub").write_bytes(pem)
    server = cli(
        "--tams-public-key",
        str(tmp_path / "tams.pub"),
        "--tams-qps",
        "0",
        "--fault",
        "tensorart:test:http_429:count=1,retry_after=1",
    )
    url = server.wait_listening()
    job = httpx.post(
        f"{url}/_emulator/jobs",
        json={"provider": "tensorart", "outcome": "succeeded", "queued_s": 5, "running_s": 5},
    ).json()["job_id"]
    path = f"/tensorart/v1/jobs/{job}"
    ok = httpx.get(url + path, headers={"Authorization": tams_signature_header(key, "GET", path)})
    assert ok.status_code == 200, ok.text
    other = new_private_key()
    denied = httpx.get(url + path, headers={"Authorization": tams_signature_header(other, "GET", path)})
    assert denied.status_code == 401

    def credits() -> httpx.Response:
        body = b'{"stages": [{"type": "INPUT_INITIALIZE"}]}'
        header = tams_signature_header(key, "POST", "/tensorart/v1/jobs/credits", body)
        return httpx.post(
            url + "/tensorart/v1/jobs/credits",
            content=body,
            headers={"Authorization": header, "Content-Type": "application/json"},
        )

    throttled = credits()
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert throttled.json()["code"] == 8
    assert credits().status_code == 200
    assert server.terminate() == 0


def test_cli_api_key_flag_replaces_that_providers_default_key(cli):
    server = cli("--api-key", "tensorpix=my-own-key", "--api-key", "vozo=another", "--print-credentials")
    url = server.wait_listening()
    credentials = server.read_json()
    assert credentials["tensorpix"]["api_key"] == "my-own-key"
    assert credentials["goenhance"]["api_key"] == "goenhance-emulator-key"
    path = url + "/tensorpix/api/accounts/profile/balance/"
    assert httpx.get(path, headers=auth_header("tensorpix", "my-own-key")).status_code == 200
    assert httpx.get(path, headers=auth_header("tensorpix")).status_code == 401  # the default is gone
    assert server.terminate() == 0


@pytest.mark.parametrize("flag", ["tensorpix", "nobody=key", "vozo="])
def test_cli_api_key_flag_refuses_bad_values(flag):
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_mediajobs.emulator", "--api-key", flag],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "PROVIDER=KEY" in proc.stderr


def test_python_api_keys_option():
    from airflow_provider_mediajobs.emulator import Emulator

    with Emulator(api_keys={"goenhance": "sentinel-123"}) as emu:
        assert emu.credentials("goenhance")["api_key"] == "sentinel-123"
        tokens = emu.base_url("goenhance") + "/api/v1/user/tokens"
        assert httpx.get(tokens, headers=auth_header("goenhance", "sentinel-123")).json()["code"] == 0
    with pytest.raises(ValueError, match="provider must be one of"):
        Emulator(api_keys={"runway": "x"})
    with pytest.raises(ValueError, match="non-empty"):
        Emulator(api_keys={"vozo": " "})


# ------------------------------------------------------------------------------------------------
# The pytest plugin's fixtures (its pytest11 entry point)
# ------------------------------------------------------------------------------------------------
def test_plugin_fixture_is_fast_and_unlimited(mediajobs_emulator):
    emu = mediajobs_emulator
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=100, running_s=200)
    headers = auth_header("tensorpix")
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = httpx.get(emu.url + status_path("tensorpix", job_id), headers=headers).json()["status"]
        seen.append(status)
        if status == 2:
            break
        time.sleep(0.02)
    assert seen[-1] == 2  # speed=1000: 300 emulated seconds in ~0.3 s
    tams = emu.add_job("tensorart", outcome="succeeded", queued_s=5, running_s=5)
    codes = {
        httpx.get(emu.url + status_path("tensorart", tams), headers=auth_header("tensorart")).status_code
        for _ in range(20)
    }
    assert codes == {200}  # tams_qps=0


def test_plugin_function_fixture_resets_the_session_one(mediajobs_emulator_session, mediajobs_emulator):
    assert mediajobs_emulator.url == mediajobs_emulator_session.url
    stats = mediajobs_emulator.stats()
    assert all(n == 0 for n in stats["jobs"].values())  # the previous test's jobs are gone
    assert {k: v for k, v in stats["requests"].items() if "admin" not in k} == {}


# ------------------------------------------------------------------------------------------------
# --print-env: the lines to paste (README "Your own DAG against the emulator" runs them end to end)
# ------------------------------------------------------------------------------------------------
def test_print_env_lines_point_airflow_at_the_emulator(mediajobs_emulator, tmp_path):
    import shlex

    from airflow_provider_mediajobs.emulator.__main__ import ENV_BEGIN, ENV_END, airflow_env

    lines = airflow_env(mediajobs_emulator, tmp_path / "home", tmp_path / "dags")
    assert lines[0] == ENV_BEGIN and lines[-1] == ENV_END and lines[-2] == "airflow db migrate"
    exported = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in lines
        if line.startswith("export ")
    )
    assert exported["AIRFLOW_HOME"] == str(tmp_path / "home")
    assert exported["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")
    tams = json.loads(exported["AIRFLOW_CONN_TENSORART_DEFAULT"])
    assert tams["password"] == "tensorart-emulator-key" and tams["extra"]["private_key"] is None  # Bearer
    for provider in PROVIDERS:
        conn = json.loads(exported[f"AIRFLOW_CONN_{provider.upper()}_DEFAULT"])
        assert conn["conn_type"] == provider and conn["host"] == mediajobs_emulator.base_url(provider)
