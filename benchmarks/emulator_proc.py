"""The emulator in a separate process, started through its CLI, scripted through its admin API."""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
from typing import Any

LISTENING = re.compile(r"mediajobs-emulator listening on (https?://[^\s]+)")
CA_LINE = re.compile(r"mediajobs-emulator CA file: (.+)$")


class EmulatorProcess:
    """``python -m airflow_provider_mediajobs.emulator --port 0 ...`` as a child process.

    ``tls=True`` runs it with ``--tls`` (HTTPS, a CA generated at start): :attr:`ca_file` is then the
    CA every client under test must trust.
    """

    def __init__(
        self,
        *,
        speed: float,
        seed: int,
        tams_qps: float = 0.0,
        tls: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "airflow_provider_mediajobs.emulator",
            "--port",
            "0",
            "--speed",
            repr(float(speed)),
            "--seed",
            str(int(seed)),
            "--tams-qps",
            repr(float(tams_qps)),
            "--no-origins",
        ] + (["--tls"] if tls else [])
        self.tls = tls
        self.ca_file: str | None = None
        self.speed = float(speed)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.host = ""
        self.port = 0
        self._stderr: list[str] = []

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        found: list[str] = []
        ca: list[str] = []

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                match = LISTENING.search(line)
                if match:
                    found.append(match.group(1))
                match = CA_LINE.search(line.rstrip("\n"))
                if match:
                    ca.append(match.group(1))
                if found and (ca or not self.tls):
                    break

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        if not found or (self.tls and not ca):
            self.stop()
            raise RuntimeError(
                f"the emulator did not print its listening line within {self.start_timeout:g}s: "
                + "".join(self._stderr[-20:])
            )
        self.url = found[0]
        self.ca_file = ca[0] if ca else None
        hostport = self.url.split("://", 1)[1]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


class Admin:
    """A keep-alive connection to ``/_emulator`` (sync: used outside any measured event loop)."""

    def __init__(self, url: str, ca_file: str | None = None) -> None:
        scheme, hostport = url.split("://", 1)
        host, port = hostport.rsplit(":", 1)
        if scheme == "https":
            context = ssl.create_default_context(cafile=ca_file)
            self.conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, int(port), timeout=30, context=context
            )
        else:
            self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in range(3):
            try:
                self.conn.request(method, "/_emulator" + path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (
                OSError,
                http.client.HTTPException,
            ):  # also a TLS EOF on a connection the server closed while idle
                self.conn.close()
                if attempt == 2:
                    raise
                time.sleep(0.1)
        if response.status >= 400:
            raise RuntimeError(f"emulator admin {method} {path}: HTTP {response.status} {payload[:200]!r}")
        return json.loads(payload) if payload else None

    def reset(self) -> None:
        self.call("POST", "/reset")

    def stats(self) -> dict[str, Any]:
        return self.call("GET", "/stats")

    def credentials(self) -> dict[str, Any]:
        return self.call("GET", "/credentials")

    def add_job(self, provider: str, **fields: Any) -> tuple[str, float]:
        """Create a job; return its id and the real time the emulator created it (RTT midpoint)."""
        t0 = time.time()
        job_id = self.call("POST", "/jobs", {"provider": provider, **fields})["job_id"]
        return str(job_id), (t0 + time.time()) / 2

    def set_rate_limit(self, provider: str, qps: float | None) -> None:
        self.call("POST", "/rate_limits", {"provider": provider, "qps": qps})

    def close(self) -> None:
        self.conn.close()


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What happened between two ``/_emulator/stats`` snapshots."""
    requests: dict[str, dict[str, int]] = {}
    for key, codes in after["requests"].items():
        old = before["requests"].get(key, {})
        diff = {code: n - old.get(code, 0) for code, n in codes.items() if n - old.get(code, 0)}
        if diff:
            requests[key] = diff
    status_calls = sum(
        n for key, codes in requests.items() if key.endswith(" status") for n in codes.values()
    )
    http_429 = sum(codes.get("429", 0) for key, codes in requests.items() if key.endswith(" status"))
    return {
        "connections": after["connections"] - before["connections"],
        "rate_limited": after["rate_limited"] - before["rate_limited"],
        "status_calls": status_calls,
        "status_429": http_429,
        "requests": requests,
    }
