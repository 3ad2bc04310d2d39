"""TLS mode: generated CA + server certificate, your own certificate, the CLI flags and the fixtures.

Clients are plain httpx/requests trusting only the CA file the emulator hands out.
"""

from __future__ import annotations

import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import requests

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.emulator.tls import generate

from support.emulator_api import auth_header, output_urls, status_path

LISTENING = re.compile(r"mediajobs-emulator listening on (https://127\.0\.0\.1:\d+)")
CA_LINE = re.compile(r"mediajobs-emulator CA file: (\S+)")


def trusting(ca_file: str | None) -> ssl.SSLContext:
    assert ca_file is not None
    return ssl.create_default_context(cafile=ca_file)


def test_tls_mode_serves_https_verified_by_the_ca_file():
    with Emulator(tls=True, speed=1000, tams_qps=0) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        assert emu.ca_file is not None and Path(emu.ca_file).read_text().startswith("-----BEGIN CERTIFICATE")
        tokens = emu.base_url("goenhance") + "/api/v1/user/tokens"
        with httpx.Client(verify=trusting(emu.ca_file)) as client:
            assert client.get(tokens, headers=auth_header("goenhance")).json()["code"] == 0
            # The certificate names localhost too.
            localhost = tokens.replace("127.0.0.1", "localhost")
            assert client.get(localhost, headers=auth_header("goenhance")).status_code == 200
        response = requests.get(tokens, headers=auth_header("goenhance"), verify=emu.ca_file, timeout=10)
        assert response.status_code == 200
        # A client that trusts only the system store refuses the emulator's certificate.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(tokens, headers=auth_header("goenhance"))


def test_tls_output_urls_are_https_and_download():
    with Emulator(tls=True, tams_qps=0) as emu:
        job = emu.add_job("tensorpix", outcome="succeeded", queued_s=0, running_s=1)
        emu.advance(5)
        with httpx.Client(base_url=emu.url, verify=trusting(emu.ca_file)) as client:
            body = client.get(status_path("tensorpix", job), headers=auth_header("tensorpix")).json()
            [(_, url)] = output_urls("tensorpix", body)
            assert url.startswith(emu.url + "/cdn/")
            download = client.get(url)
        assert download.status_code == 200
        assert download.headers["content-type"] == "video/mp4"


def test_tls_dir_keeps_the_generated_files(tmp_path: Path):
    with Emulator(tls=True, tls_dir=tmp_path / "tls") as emu:
        assert emu.ca_file == str(tmp_path / "tls" / "ca.pem")
        assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == [
            "ca.pem",
            "server-key.pem",
            "server.pem",
        ]
        assert (tmp_path / "tls" / "server-key.pem").stat().st_mode & 0o077 == 0
        assert httpx.get(emu.url + "/_emulator/health", verify=trusting(emu.ca_file)).status_code == 200


def test_own_certificate_and_key(tmp_path: Path):
    files = generate(tmp_path)  # stands for a certificate the user made with their own CA
    with Emulator(certfile=files.certfile, keyfile=files.keyfile) as emu:
        assert emu.url.startswith("https://")
        assert emu.ca_file is None  # the emulator does not know your CA
        assert httpx.get(emu.url + "/_emulator/health", verify=trusting(files.ca_file)).status_code == 200
    with pytest.raises(ValueError, match="go together"):
        Emulator(certfile=files.certfile)
    with pytest.raises(ValueError, match="no such file"):
        Emulator(certfile=tmp_path / "missing.pem", keyfile=files.keyfile)


def test_cli_tls_prints_the_ca_file_and_serves_https(tmp_path: Path):
    command = [sys.executable, "-m", "airflow_provider_mediajobs.emulator", "--port", "0", "--tls"]
    proc = subprocess.Popen(
        [*command, "--tls-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        url = ca_file = None
        while (url is None or ca_file is None) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if match := LISTENING.search(line):
                url = match.group(1)
            if match := CA_LINE.search(line):
                ca_file = match.group(1)
        assert url and ca_file == str(tmp_path / "ca.pem"), proc.stderr.read() if proc.stderr else ""
        path = url + "/tensorpix/api/accounts/profile/balance/"
        response = requests.get(path, headers=auth_header("tensorpix"), verify=ca_file, timeout=10)
        assert response.json() == {"balance": 1250.0}
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_cli_certfile_without_keyfile_is_refused(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_mediajobs.emulator", "--certfile", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "--keyfile" in proc.stderr


def test_tls_fixtures(mediajobs_emulator_tls_session, mediajobs_emulator_tls):
    emu = mediajobs_emulator_tls
    assert emu is mediajobs_emulator_tls_session
    assert emu.url.startswith("https://")
    job = emu.add_job("vozo", kind="lipsync", outcome="succeeded", queued_s=1, running_s=1)
    response = httpx.get(
        emu.base_url("vozo") + f"/v1/video_generation/{job}",
        headers=auth_header("vozo"),
        verify=trusting(emu.ca_file),
    )
    assert response.status_code == 200
