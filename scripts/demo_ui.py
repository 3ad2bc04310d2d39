"""`make demo-ui`: the example pipeline in a real Airflow deployment, its outputs in the Media view.

1. starts the emulator (all four providers on 127.0.0.1, real time; every job it is sent takes a
   few seconds, in every run; the TensorPix job's signed URL lasts ``--url-lifetime`` seconds, so the
   view shows one expiring),
2. starts Airflow from this venv in a throwaway AIRFLOW_HOME under ``build/demo-ui``: SQLite,
   api-server, scheduler (LocalExecutor), dag-processor and triggerer, all on 127.0.0.1, the simple
   auth manager with one admin user and a fresh password,
3. creates the four default connections (REST API, so they show under Admin -> Connections),
4. runs ``mediajobs_pipeline`` and ``mediajobs_tensorart_batch`` (10 mapped TAMS jobs), then the
   pipeline once more with its TAMS job scripted to fail (on both tries), and prints the login and
   the URL of each run's Media view,
5. keeps everything running until Ctrl-C (or SIGTERM), then stops every process it started: each
   Airflow process runs in a process group of its own and carries a marker in its environment, so
   what left its group (task runners) is found and stopped too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "demo-ui"
DAG_ID = "mediajobs_pipeline"
BATCH_DAG_ID = "mediajobs_tensorart_batch"
BATCH_SIZE = 10
#: what the emulator's TAMS says when the failing run's job fails
FAILURE_REASON = "The prompt was flagged by the content filter; nothing was generated."
#: every job the emulator is sent takes this long (emulated = real time, so expiry times are true)
QUICK = {"queued_s": 1, "running_s": 4}
USER = "admin"
MARKER = "MEDIAJOBS_DEMO_UI"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
PROVIDERS = ("goenhance", "tensorart", "vozo", "tensorpix")
PROCESSES = {
    "api-server": ("api-server", "-H", "127.0.0.1", "-p", "{port}", "-w", "1"),
    "scheduler": ("scheduler", "--skip-serve-logs"),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer", "--skip-serve-logs"),
}


class Stop(Exception):
    """Ctrl-C or SIGTERM: stop everything and exit."""


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Deployment:
    """The Airflow processes of the demo, their environment and the REST calls it makes."""

    def __init__(
        self,
        work: Path,
        port: int,
        marker: str,
        dag_files: tuple[Path, ...] = (
            ROOT / "example_dags" / "example_pipeline.py",
            ROOT / "example_dags" / "example_tensorart_batch.py",
        ),
    ) -> None:
        self.dag_files = dag_files
        self.work = work
        self.home = work / "airflow-home"
        self.logs = work / "logs"
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.password = secrets.token_urlsafe(12)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.marker = marker
        self._token: str | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
        env.update(
            {
                MARKER: marker,
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.home / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                # the failing run's retry starts after 3 s, not 5 min
                "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "3",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                # only the run this script triggers: no cron runs of the daily pipeline
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
                "MEDIAJOBS_OUTPUT_DIR": str(work / "outputs"),
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.env = env

    def prepare(self) -> None:
        (self.home / "dags").mkdir(parents=True)
        self.logs.mkdir(parents=True)
        for dag_file in self.dag_files:
            shutil.copy(dag_file, self.home / "dags")
        # the simple auth manager reads (and would otherwise generate) the password here
        passwords = self.home / "simple_auth_manager_passwords.json.generated"
        passwords.write_text(json.dumps({USER: self.password}) + "\n")
        passwords.chmod(0o600)
        with (self.logs / "db-migrate.log").open("ab") as out:
            subprocess.run(
                [AIRFLOW, "db", "migrate"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                check=True,
            )

    def start(self) -> None:
        for name, args in PROCESSES.items():
            with (self.logs / f"{name}.log").open("ab") as out:
                self.procs[name] = subprocess.Popen(
                    [AIRFLOW, *(a.format(port=self.port) for a in args)],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"airflow {name} exited ({proc.returncode}); see {self.logs / name}.log")

    def stop(self) -> None:
        """SIGTERM each process group, SIGKILL what is left after 10 s, then anything marked as ours."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        for pid in marked_pids(self.marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    # ---- REST -------------------------------------------------------------------------------
    def wait_until(self, check: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            value = check()
            if value:
                return value
            time.sleep(1)
        raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}; logs: {self.logs}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=3) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def token(self) -> str:
        if self._token is None:
            body = json.dumps({"username": USER, "password": self.password}).encode()
            request = urllib.request.Request(
                f"{self.url}/auth/token", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as resp:
                self._token = str(json.loads(resp.read())["access_token"])
        return self._token

    def rest(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token()}"},
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            text = resp.read().decode()
        return json.loads(text) if text else None

    def dag_parsed(self, dag_id: str = DAG_ID) -> bool:
        try:
            self.rest("GET", f"/dags/{dag_id}")
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return False
            raise
        return True

    def trigger(self, dag_id: str) -> str:
        return str(self.rest("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"])


def marked_pids(marker: str) -> list[int]:
    """PIDs whose environment carries ``MEDIAJOBS_DEMO_UI=marker`` (Linux /proc; none elsewhere)."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        if int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def connections(emulator: Any) -> list[dict[str, Any]]:
    """The four default connections for the REST API; TAMS signs like a production TAMS app would.
    Every extra holds every form key: the UI's edit form drops a field whose key it lacks."""
    found = []
    for provider in PROVIDERS:
        conn = emulator.connection(provider, allow_private_hosts=True)  # its CDN is on 127.0.0.1
        found.append({"connection_id": f"{provider}_default", **conn, "extra": json.dumps(conn["extra"])})
    return found


def script_jobs(emulator: Any, url_lifetime: float) -> None:
    """Every job the emulator is sent finishes in seconds, in the order the demo's runs send them.

    Scripts are used in creation order per provider: the first pipeline run and the batch (11 TAMS
    jobs, all succeed), then the second pipeline run, whose TAMS job fails on both tries (a failure
    with a reason and a cost; "transitory", so Airflow retries it), then any run a user triggers
    (all succeed, quickly).
    """
    emulator.script("tensorpix", count=1, url_lifetime_s=url_lifetime, **QUICK)
    emulator.script("tensorart", count=1 + BATCH_SIZE, **QUICK)
    emulator.script(
        "tensorart",
        count=2,
        outcome="failed",
        failure_reason=FAILURE_REASON,
        failure_code="TRANSITORY_ERROR",
        **QUICK,
    )
    for provider in PROVIDERS:
        emulator.script(provider, count=1_000_000, **QUICK)


def wait_for_run(deployment: Deployment, run_id: str, timeout: float, dag_id: str = DAG_ID) -> str:
    seen: dict[tuple[str, int], str] = {}

    def finished() -> str | None:
        tis = deployment.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        for ti in tis:
            state = str(ti["state"])
            key = (ti["task_id"], int(ti.get("map_index", -1)))
            if seen.get(key) != state and state in ("success", "failed", "upstream_failed"):
                label = ti["task_id"] + (f"[{key[1]}]" if key[1] >= 0 else "")
                print(f"  {dag_id:<26} {label:<32} {state}", flush=True)
            seen[key] = state
        run = deployment.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        return str(run["state"]) if run["state"] in ("success", "failed") else None

    return str(deployment.wait_until(finished, timeout, f"run {run_id}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=int(os.environ.get("MEDIAJOBS_DEMO_UI_PORT", "8080")))
    parser.add_argument(
        "--url-lifetime", type=float, default=60, help="seconds the TensorPix job's signed URL lasts"
    )
    parser.add_argument(
        "--work", type=Path, default=WORK, help="the throwaway directory (default build/demo-ui)"
    )
    args = parser.parse_args(argv)

    from airflow_provider_mediajobs.emulator import Emulator
    from airflow_provider_mediajobs.plugins.links import run_view_url

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    port = args.port if args.port and port_free(args.port) else free_port()
    if args.port and port != args.port:
        print(f"port {args.port} is taken; using {port}")
    if args.work.exists():
        shutil.rmtree(args.work)
    deployment = Deployment(args.work, port, os.environ.get(MARKER) or uuid.uuid4().hex)
    emulator = Emulator(port=0, seed=7, speed=1.0)
    code = 0
    try:
        emulator.start()
        script_jobs(emulator, args.url_lifetime)
        print(f"emulator: {emulator.url} (GoEnhance, TensorArt TAMS, Vozo, TensorPix)", flush=True)
        print(f"airflow: a fresh deployment in {args.work} (logs: {deployment.logs}) ...", flush=True)
        deployment.prepare()
        deployment.start()
        deployment.wait_until(deployment.healthy, 240, "the API server")
        for conn in connections(emulator):
            deployment.rest("POST", "/connections", conn)
        for dag_id in (DAG_ID, BATCH_DAG_ID):
            deployment.wait_until(
                lambda d=dag_id: deployment.dag_parsed(d), 240, f"the dag-processor to parse {dag_id}"
            )
        run_id = deployment.trigger(DAG_ID)
        batch_id = deployment.trigger(BATCH_DAG_ID)
        print(f"airflow: triggered {DAG_ID} ({run_id}) and {BATCH_DAG_ID} ({batch_id}) ...", flush=True)
        state = wait_for_run(deployment, run_id, 600)
        batch_state = wait_for_run(deployment, batch_id, 600, BATCH_DAG_ID)
        failing_id = deployment.trigger(DAG_ID)
        print(f"airflow: triggered {DAG_ID} again ({failing_id}); its TAMS job fails ...", flush=True)
        failing_state = wait_for_run(deployment, failing_id, 600)
        print()
        print(f"DAG run {run_id}: {state}")
        print(f"Batch run {batch_id}: {batch_state}")
        print(f"Run with a failed job {failing_id}: {failing_state}")
        print(f"Airflow UI:            {deployment.url}/  (user {USER}, password {deployment.password})")
        print(f"Media view of the run: {run_view_url(DAG_ID, run_id, base=deployment.url)}")
        print(f"Media view of the batch: {run_view_url(BATCH_DAG_ID, batch_id, base=deployment.url)}")
        print(f"Media view of the failed job's run: {run_view_url(DAG_ID, failing_id, base=deployment.url)}")
        print(
            f"The TensorPix job's signed URL lasts {args.url_lifetime:g} s; its card shows the copy the "
            "pipeline persisted (a provider URL is shown, with its expiry, only while nothing is persisted)."
        )
        print(
            f"Every job the emulator is sent takes ~5 s; to finish a long one now: "
            f"curl -X POST {emulator.url}/_emulator/advance -d '{{\"seconds\": 600}}'"
        )
        print("Ctrl-C stops Airflow and the emulator.", flush=True)
        code = 0 if (state, batch_state, failing_state) == ("success", "success", "failed") else 1
        while True:
            deployment.check_alive()
            time.sleep(1)
    except Stop as stop:
        print(f"\n{stop}: stopping Airflow and the emulator ...", flush=True)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as err:
        print(f"demo-ui failed: {err}", file=sys.stderr)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        deployment.stop()
        emulator.stop()
        print("stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
