"""Real Airflow processes for the triggerer tests: a throwaway PostgreSQL, an Airflow "cluster", scans.

Nothing here is a fixture; ``conftest.py`` wires it up. Every process is started in its own session
(process group) and carries a marker in its environment, so teardown can always find and kill it and
everything it spawned, even after a failed assertion.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.airflow_compat import all_admins_token
from support.connections import connection_env
from support.constants import PROVIDERS

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
MARKER = "MEDIAJOBS_TEST_CLUSTER"
HERE = Path(__file__).resolve().parent
RESTART_DAG = HERE / "dags" / "mediajobs_restart.py"
PIPELINE_DAG = HERE.parents[2] / "example_dags" / "example_pipeline.py"
RESTART_DAG_ID = "mediajobs_triggerer_restart"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    *,
    interval: float = 1.0,
    diagnose: Callable[[], str] | None = None,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with diagnostics after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{diagnose()}" if diagnose else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _marked_pids(marker: str) -> list[int]:
    """PIDs whose environment carries ``MARKER=marker`` (processes this harness started, and their children)."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


# ---- PostgreSQL -------------------------------------------------------------------------------
def postgres_bindir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``: ``MEDIAJOBS_POSTGRES_BINDIR`` if set, else PATH, else
    Debian's versioned dirs."""
    override = os.environ.get("MEDIAJOBS_POSTGRES_BINDIR")
    if override:
        found = Path(override)
        return found if (found / "initdb").is_file() and (found / "pg_ctl").is_file() else None
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def postgres_unavailable() -> str | None:
    """Why the PostgreSQL test cannot run here, or None."""
    if postgres_bindir() is None:
        return (
            "PostgreSQL is not installed (apt-get install postgresql, or point MEDIAJOBS_POSTGRES_BINDIR "
            "at the directory of initdb and pg_ctl; .ci/run installs it)"
        )
    try:
        import asyncpg  # noqa: F401  (Airflow 3 opens an async engine on the metadata DB too)
        import psycopg2  # noqa: F401
    except ImportError as err:
        return f"{err.name} is not installed (pip install -c constraints/constraints-3.11.txt -e '.[test]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if not shutil.which("runuser"):
            return "running as root and runuser is missing"
    return None


class Postgres:
    """A throwaway cluster: initdb in a temp dir, a free port on 127.0.0.1, trust auth, no fsync."""

    def __init__(self, root: Path) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries not found")
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.user = "airflow"
        self.started = False

    def _cmd(self, *args: str) -> list[str]:
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str, timeout: float) -> None:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        result = subprocess.run(
            self._cmd(*args),
            env=env,
            cwd=self.root,  # the server's user may not be allowed into the caller's directory
            capture_output=True,
            timeout=timeout,
            check=False,
            text=True,
        )
        if result.returncode != 0:
            log = tail(self.log) if self.log.exists() else ""
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({result.returncode}): {result.stdout[-2000:]}"
                f"{result.stderr[-2000:]}\n{log}"
            )

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # the server runs as postgres: it must own its directory
            shutil.chown(self.root, "postgres", "postgres")
        initdb = str(self.bindir / "initdb")
        self._run(
            initdb, "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--locale=C",
            "--no-sync", timeout=120,
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self.started = True
        pg_ctl = str(self.bindir / "pg_ctl")
        self._run(
            pg_ctl,
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
            timeout=90,
        )
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("CREATE DATABASE airflow")
        finally:
            conn.close()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/airflow"

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        result = subprocess.run(
            self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"),
            cwd=self.root,
            capture_output=True,
            timeout=60,
            check=False,
        )
        pidfile = self.data / "postmaster.pid"
        if result.returncode != 0 and pidfile.exists():
            with contextlib.suppress(OSError, ValueError, IndexError):
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)


# ---- Airflow ----------------------------------------------------------------------------------
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)


class AirflowCluster:
    """``airflow db migrate`` + ``dags reserialize`` once, then long-running Airflow processes by name.

    The minimal set of Airflow 3.3 for deferred tasks to run: ``api-server`` (the workers' execution
    API), ``scheduler`` (LocalExecutor), ``triggerer``; DAGs are serialized once with
    ``airflow dags reserialize`` instead of running a ``dag-processor`` (one process fewer).
    """

    def __init__(
        self,
        root: Path,
        *,
        db_url: str,
        dag_files: Iterable[Path],
        connections: Mapping[str, Mapping[str, Any]],
        extra_env: Mapping[str, str] | None = None,
        log_level: str = "INFO",
        asyncio_debug: bool = False,
    ) -> None:
        self.root = root
        self.asyncio_debug = asyncio_debug
        self.home = root / "airflow-home"
        self.dags = self.home / "dags"
        self.proc_logs = root / "process-logs"
        for folder in (self.dags, self.proc_logs):
            folder.mkdir(parents=True, exist_ok=True)
        for dag_file in dag_files:
            shutil.copy(dag_file, self.dags / dag_file.name)
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.marker = uuid.uuid4().hex
        self.procs: dict[str, Proc] = {}
        self.killed: set[str] = set()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) and k != "AIRFLOW_HOME"
        }
        env.update(
            {
                MARKER: self.marker,
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                # short heartbeats: a dead triggerer's triggers are re-assigned after 5 s without one
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": log_level,
            }
        )
        env.update(connection_env(connections))
        env.update(extra_env or {})
        self.env = env
        self._engine: Any = None

    # ---- processes --------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 300) -> None:
        log = self.proc_logs / "cli.log"
        with log.open("ab") as out:
            out.write(f"\n$ airflow {' '.join(args)}\n".encode())
            out.flush()
            result = subprocess.run(
                [AIRFLOW, *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                start_new_session=True,
                check=False,
            )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({result.returncode}):\n{tail(log)}")

    def prepare(self) -> None:
        self.cli("db", "migrate")
        self.cli("dags", "reserialize")

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Proc:
        log = self.proc_logs / f"{name}.log"
        out = log.open("ab")
        try:
            popen = subprocess.Popen(
                [AIRFLOW, *args],
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def start_triggerer(self, name: str, *args: str) -> Proc:
        """A triggerer whose job row's ``hostname`` is ``name`` (as if each ran on its own host)."""
        helper = self.root / "pythonpath"
        helper.mkdir(exist_ok=True)
        (helper / "mediajobs_test_hostname.py").write_text(
            "import os\n\n\ndef hostname():\n    return os.environ['MEDIAJOBS_TEST_HOSTNAME']\n"
        )
        env = {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(helper), self.env.get("PYTHONPATH")])),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "mediajobs_test_hostname.hostname",
            "MEDIAJOBS_TEST_HOSTNAME": name,
        }
        if self.asyncio_debug:  # asyncio names every callback that holds the loop > 100 ms
            env["PYTHONASYNCIODEBUG"] = "1"
        self.killed.discard(name)  # a restart under the same name
        return self.start(name, "triggerer", "--skip-serve-logs", *args, env=env)

    def start_core(self) -> None:
        """The API server first: a task the scheduler starts before it listens fails (and retries)."""
        self.start("api-server", "api-server", "-H", "127.0.0.1", "-p", str(self.port), "-w", "1")
        self.wait_api()
        self.start("scheduler", "scheduler", "--skip-serve-logs")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> float:
        """Signal the process group of ``name`` (the CLI process and its trigger-runner child)."""
        proc = self.procs[name]
        self.killed.add(name)
        killed_at = time.time()
        _signal_group(proc.popen.pid, sig)
        proc.popen.wait(timeout=30)
        return killed_at

    def signal(self, name: str, sig: int) -> None:
        """Send ``sig`` to the process group of ``name`` (SIGSTOP/SIGCONT: a stall, not a death)."""
        _signal_group(self.procs[name].popen.pid, sig)

    def check_alive(self) -> None:
        for proc in self.procs.values():
            code = proc.popen.poll()
            if code is not None and proc.name not in self.killed:
                raise AssertionError(f"airflow {proc.name} exited with {code}:\n{tail(proc.log)}")

    def stop_all(self) -> None:
        """SIGTERM every process group, SIGKILL what is left after 5 s, then anything marked as ours."""
        running = [p for p in self.procs.values() if p.popen.poll() is None]
        for proc in running:
            _signal_group(proc.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            _signal_group(proc.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=10)
        # Anything that left its process group (task supervisors, runners) still carries the marker.
        for pid in _marked_pids(self.marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self._engine is not None:
            self._engine.dispose()

    def slow_trigger_callbacks(self) -> list[tuple[str, float]]:
        """(trigger name, seconds) of asyncio's "Executing <Task name=...> took N seconds" warnings
        for trigger tasks (asyncio debug mode); the runner's own start-up import is not a trigger."""
        found = []
        for log in self.proc_logs.glob("triggerer-*.log"):
            for line in log.read_text(errors="replace").splitlines():
                match = re.search(r"Executing <Task \S+ name='([^']+)'.* took ([0-9.]+) seconds", line)
                if match and "/" in match.group(1):
                    found.append((match.group(1), float(match.group(2))))
        return found

    def diagnose(self) -> str:
        parts = []
        try:
            parts.append(json.dumps(self.task_states(), default=str, indent=1))
            parts.append(json.dumps(self.rows("SELECT id, triggerer_id FROM trigger"), default=str))
        except Exception as err:
            parts.append(f"(DB not readable: {err})")
        for proc in self.procs.values():
            parts.append(f"--- {proc.name} (exit {proc.popen.poll()}) ---\n{tail(proc.log, 25)}")
        return "\n".join(parts)

    # ---- API server -------------------------------------------------------------------------
    def rest(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {all_admins_token(self.url)}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} {path}: HTTP {err.code}: {err.read()[:2000]!r}") from None
        return json.loads(text) if text else None

    def wait_api(self, timeout: float = 240) -> None:
        def healthy() -> bool:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=3) as resp:
                    return resp.status == 200
            except OSError:
                return False

        wait_until(healthy, timeout, "the API server", diagnose=self.diagnose)

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> None:
        self.rest(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf or {})},
        )

    # ---- metadata DB (read-only SQL; the test process never loads Airflow's settings) --------
    @property
    def engine(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            args = {"timeout": 30} if self.db_url.startswith("sqlite") else {}
            self._engine = create_engine(self.db_url, poolclass=NullPool, connect_args=args)
        return self._engine

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(sql), params)]

    def task_states(self, dag_id: str | None = None) -> list[dict[str, Any]]:
        where = "WHERE ti.dag_id = :dag_id" if dag_id else ""
        return self.rows(
            "SELECT ti.dag_id, ti.run_id, ti.task_id, ti.state, ti.try_number, ti.trigger_id, "
            f"t.triggerer_id FROM task_instance ti LEFT JOIN trigger t ON t.id = ti.trigger_id {where} "
            "ORDER BY ti.run_id, ti.task_id",
            **({"dag_id": dag_id} if dag_id else {}),
        )

    def run_states(self, dag_id: str) -> dict[str, str]:
        return {
            r["run_id"]: r["state"]
            for r in self.rows("SELECT run_id, state FROM dag_run WHERE dag_id = :d", d=dag_id)
        }

    def triggerer_jobs(self) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT id, state, latest_heartbeat, end_date, unixname, hostname FROM job "
            "WHERE job_type = 'TriggererJob' ORDER BY id"
        )

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        found = self.rows(
            "SELECT value FROM xcom WHERE dag_id = :d AND run_id = :r AND task_id = :t AND key = :k",
            d=dag_id,
            r=run_id,
            t=task_id,
            k=key,
        )
        if not found:
            return None
        value = found[0]["value"]
        if isinstance(value, bytes | bytearray):
            value = value.decode()
        return json.loads(value) if isinstance(value, str) else value

    def dump_text(self) -> Iterator[tuple[str, str, str]]:
        """Every column of every row of every table as text: (table, column, value)."""
        from sqlalchemy import MetaData

        meta = MetaData()
        meta.reflect(bind=self.engine)
        with self.engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(table.select()):
                    for column, value in row._mapping.items():
                        if value is None:
                            continue
                        if isinstance(value, bytes | bytearray | memoryview):
                            text = bytes(value).decode("utf-8", errors="replace")
                        elif isinstance(value, dict | list):
                            text = json.dumps(value)
                        else:
                            text = str(value)
                        yield table.name, str(column), text


# ---- secret scanning --------------------------------------------------------------------------
@dataclass
class Sentinels:
    """Distinctive secrets and the fragments of them a leak could show."""

    needles: dict[str, str] = field(default_factory=dict)  # needle -> what it is

    def add_key(self, label: str, key: str) -> None:
        self.needles[key] = label
        body = key.split("-")[-1]
        if len(body) >= 16:  # the random part alone, and its halves
            self.needles[body] = f"{label} (random part)"
            self.needles[body[:12]] = f"{label} (first 12 chars of the random part)"
            self.needles[body[-12:]] = f"{label} (last 12 chars of the random part)"

    def add_pem(self, label: str, pem: str) -> None:
        self.needles[pem.strip()] = label
        lines = [ln.strip() for ln in pem.strip().splitlines() if ln and not ln.startswith("-----")]
        for i, line in enumerate(lines):
            if len(line) >= 16:
                self.needles[line] = f"{label} (base64 line {i + 1})"
        body = "".join(lines)
        for offset in (0, 200, 500, 900, len(body) - 40):
            self.needles[body[offset : offset + 24]] = f"{label} (24 chars at offset {offset})"
        escaped = pem.strip().replace("\n", "\\n")
        self.needles[escaped[:80]] = f"{label} (JSON-escaped start)"

    def find(self, text: str) -> list[str]:
        return [label for needle, label in self.needles.items() if needle in text]


@dataclass
class SentinelEmulator:
    """The emulator, the four connections pointing at it (sentinel keys) and what to scan for."""

    emulator: Any
    connections: dict[str, dict[str, Any]]
    sentinels: Sentinels


def scan_files(root: Path, sentinels: Sentinels) -> tuple[int, list[str]]:
    """(files scanned, hits) over every file under ``root``."""
    scanned, hits = 0, []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        scanned += 1
        hits.extend(f"{path}: {label}" for label in sentinels.find(text))
    return scanned, hits


# ---- the restart DAG's waits --------------------------------------------------------------------
def add_long_jobs(emulator: Any, runs: int, prefix: str) -> dict[str, dict[str, str]]:
    """One job per provider per run that runs for an (emulated) hour: only ``advance()`` ends them."""
    return {
        f"{prefix}{i}": {p: str(emulator.add_job(p, queued_s=2, running_s=3600)) for p in PROVIDERS}
        for i in range(1, runs + 1)
    }


class Waits:
    """The sensors of the restart DAG's runs, seen through the metadata DB and the trigger logs."""

    def __init__(self, cluster: AirflowCluster, runs: Mapping[str, Mapping[str, str]]) -> None:
        self.cluster = cluster
        self.runs = runs

    def states(self) -> list[dict[str, Any]]:
        return [r for r in self.cluster.task_states(RESTART_DAG_ID) if r["run_id"] in self.runs]

    def expected(self) -> int:
        return len(self.runs) * len(PROVIDERS)

    def deferred(self) -> list[dict[str, Any]] | None:
        """All waits deferred with their trigger assigned to a triggerer, else None."""
        self.cluster.check_alive()
        rows = self.states()
        if len(rows) == self.expected() and all(
            r["state"] == "deferred" and r["triggerer_id"] is not None for r in rows
        ):
            return rows
        return None

    def trigger_log(self, row: Mapping[str, Any], triggerer_id: int) -> Path:
        return (
            self.cluster.home
            / "logs"
            / f"dag_id={RESTART_DAG_ID}"
            / f"run_id={row['run_id']}"
            / f"task_id={row['task_id']}"
            / f"attempt={row['try_number']}.log.trigger.{triggerer_id}.log"
        )

    def job_id(self, row: Mapping[str, Any]) -> str:
        return self.runs[row["run_id"]][str(row["task_id"]).removeprefix("wait_")]

    def polling(self, rows: list[dict[str, Any]]) -> bool:
        """Each assigned trigger has read its job at least once (its trigger log names the job)."""
        for row in rows:
            log = self.trigger_log(row, row["triggerer_id"])
            try:
                if self.job_id(row) not in log.read_text(errors="replace"):
                    return False
            except OSError:
                return False
        return True

    def finished_by(self, row: Mapping[str, Any], triggerer_id: int) -> bool:
        """The trigger log of ``triggerer_id`` shows the wait ending with a succeeded job."""
        try:
            text = self.trigger_log(row, triggerer_id).read_text(errors="replace")
        except OSError:
            return False
        return f"job {self.job_id(row)}: succeeded" in text and "Trigger fired event" in text
