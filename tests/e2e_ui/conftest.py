"""Fixtures of the browser test: a real Airflow API server, the emulator and headless Chromium.

Everything binds to 127.0.0.1. The browser is Debian's ``chromium`` driven through its
``chromedriver`` (``make e2e-ui`` installs both); nothing is downloaded. Without them the test
skips, unless ``MEDIAJOBS_E2E_UI_REQUIRED=1`` (set by ``make e2e-ui``) turns that into a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.connections import environ_without_airflow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
    # loopback only: any other name (a provider URL on a page) fails to resolve, nothing leaves
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)


def _require_browser() -> None:
    if CHROMIUM and CHROMEDRIVER:
        return
    reason = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver, or make e2e-ui)"
    if os.environ.get("MEDIAJOBS_E2E_UI_REQUIRED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AirflowServer:
    url: str
    home: Path
    log: Path


def _airflow_env(home: Path, url: str) -> dict[str, str]:
    env = environ_without_airflow()
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__TEST_CONNECTION="Enabled",
        # SimpleAuthManager with everyone admin: the browser is logged in without a password form.
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(64),
        AIRFLOW__API__BASE_URL=url,
        AIRFLOW__API__WORKERS="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow api-server exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"airflow api-server not healthy after {timeout}s; see {log}")


@pytest.fixture(scope="session")
def airflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowServer]:
    """``airflow db migrate`` on SQLite in a fresh AIRFLOW_HOME, then ``airflow api-server``."""
    _require_browser()
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    url = f"http://127.0.0.1:{_free_port()}"
    env = _airflow_env(home, url)
    log = home / "api-server.log"
    with log.open("ab") as out:
        subprocess.run([AIRFLOW, "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
    port = url.rsplit(":", 1)[1]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [AIRFLOW, "api-server", "-H", "127.0.0.1", "-p", port, "-w", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(url, proc, log)
        yield AirflowServer(url=url, home=home, log=log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def require_browser() -> None:
    """For a fixture that starts something heavy before the first browser opens."""
    _require_browser()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    _require_browser()
    from airflow_provider_mediajobs.emulator import Emulator

    emu = Emulator(port=0)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    browser = webdriver.Chrome(options=options, service=service)
    browser.implicitly_wait(0)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """``docs/screenshots`` under ``make e2e-ui`` (MEDIAJOBS_E2E_UI_SCREENSHOTS), a temp dir otherwise."""
    target = Path(os.environ.get("MEDIAJOBS_E2E_UI_SCREENSHOTS") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target
