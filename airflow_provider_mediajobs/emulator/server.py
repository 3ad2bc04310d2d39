"""``Emulator``: the app served by uvicorn in a background thread, plus the Python control API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from airflow_provider_mediajobs.connection_forms import empty_extra

from .admin import add_job
from .app import build_app
from .auth import Credentials
from .faults import FaultSet, parse_spec
from .listeners import Listeners
from .protocol import Connections, protocol_class
from .providers import all_providers
from .ratelimit import RateLimiter
from .runtime import Runtime
from .state import ScriptError, State, check_success_status
from .stats import Stats
from .tls import TlsFiles, resolve
from .uploads import Uploads

START_TIMEOUT_S = 10.0


class Emulator:
    """The providers' APIs and an output CDN on one local port, plus one origin per provider.

    ``Emulator(port=0)`` picks a free port; use it as a context manager or call ``start()``/``stop()``.
    ``origin(provider)`` serves that provider's production paths at its root (``origin_ports``: the
    first of consecutive ports, one per provider, or ``{provider: port}``; default ``port+1..``, free ports
    when ``port=0``; ``origins=False`` serves only the prefixed layout).
    ``tls=True`` serves HTTPS with a generated certificate (trust ``.ca_file``); ``certfile``/``keyfile``
    serve your own; generated files go to ``tls_dir`` (default: a temporary directory).
    ``api_keys={"tensorpix": "..."}`` replaces the documented default key of those providers (to test
    with keys nobody else uses, e.g. when searching logs for leaked credentials).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 0,
        speed: float = 1.0,
        tams_qps: float = 5.0,
        rate_limits: Mapping[str, float] | None = None,
        faults: Iterable[str | Mapping[str, Any]] = (),
        tams_public_key: str | Path | None = None,
        api_keys: Mapping[str, str] | None = None,
        tls: bool = False,
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        tls_dir: str | Path | None = None,
        origins: bool = True,
        origin_ports: int | Mapping[str, int] | None = None,
        tams_strict_nonces: bool = False,
        success_status: Mapping[str, str] | None = None,
        goenhance_success_status: str | None = None,
    ) -> None:
        self.providers = all_providers()
        state = State(self.providers, seed=seed, speed=speed)
        self.host = host
        self.tls: TlsFiles | None = None
        self._tls_tmp = None
        if tls or certfile is not None or keyfile is not None:
            self.tls, self._tls_tmp = resolve(host, certfile=certfile, keyfile=keyfile, tls_dir=tls_dir)
        self._requested_port = port
        self._origin_request = self._origin_ports(port, origin_ports) if origins else {}
        limits: dict[str, float] = {}
        if tams_qps:
            limits["tensorart"] = float(tams_qps)
        for provider, qps in (rate_limits or {}).items():
            limits[self._check(provider)] = float(qps)
        creds = Credentials.create({n: p.default_key for n, p in self.providers.items()}, tams_public_key)
        for provider, key in (api_keys or {}).items():
            if not isinstance(key, str) or not key.strip():
                raise ValueError(f"api_keys[{provider!r}] must be a non-empty string")
            creds.keys[self._check(provider)] = key
        spellings = dict(success_status or {})
        if goenhance_success_status is not None:
            spellings["goenhance"] = goenhance_success_status
        try:
            spellings = {
                name: check_success_status(state.provider(name), value) for name, value in spellings.items()
            }
        except ScriptError as err:
            raise ValueError(str(err)) from None
        self.runtime = Runtime(
            state=state,
            faults=FaultSet(seed, self.providers),
            stats=Stats(),
            creds=creds,
            limiter=RateLimiter(limits),
            default_limits=limits,
            strict_nonces=tams_strict_nonces,
            uploads=Uploads(seed),
            default_success_status=spellings,
        )
        for fault in faults:
            self.inject_fault(**(parse_spec(fault) if isinstance(fault, str) else dict(fault)))
        self.runtime.connections = Connections(self.runtime.stats.count_connection)
        self.app = build_app(self.runtime)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._listeners = Listeners(self.host)

    def _check(self, provider: Any) -> str:
        """``provider`` if the emulator serves it; ValueError naming the ones it serves otherwise."""
        if provider not in self.providers:
            raise ValueError(f"provider must be one of {', '.join(self.providers)}, not {provider!r}")
        return str(provider)

    def _origin_ports(self, port: int, requested: int | Mapping[str, int] | None) -> dict[str, int]:
        first = requested if isinstance(requested, int) else (0 if port == 0 else port + 1)
        ports = {provider: 0 if first == 0 else first + i for i, provider in enumerate(self.providers)}
        if isinstance(requested, Mapping):
            for provider, value in requested.items():
                ports[self._check(provider)] = int(value)
        return ports

    # lifecycle -----------------------------------------------------------------------------------
    def _listen(self) -> None:
        self._listeners.open(self._requested_port, self._origin_request)
        self.runtime.main_port = self._listeners.port
        self.runtime.origin_ports = {port: provider for provider, port in self._listeners.origins.items()}

    def _close_listeners(self) -> None:
        self._listeners.close()
        self.runtime.origin_ports = {}

    def start(self) -> Emulator:
        if self._thread is not None:
            return self
        assert self.runtime.connections is not None
        self.runtime.closing.clear()
        self._listen()
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            loop="asyncio",
            http=protocol_class(self.runtime.connections),
            ws="none",
            lifespan="off",
            log_level="warning",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=2,
            ssl_certfile=self.tls.certfile if self.tls else None,
            ssl_keyfile=self.tls.keyfile if self.tls else None,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": list(self._listeners.socks)},
            name="mediajobs-emulator",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the mediajobs emulator failed to start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self.runtime.closing.set()
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=5)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=5)
        self._close_listeners()
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # addresses and credentials -------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._listeners.port is None:
            raise RuntimeError("the emulator is not started")
        return self._listeners.port

    def _url(self, port: int) -> str:
        host = self.host
        if host in ("", "0.0.0.0"):  # noqa: S104 - only the address clients should use
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    @property
    def url(self) -> str:
        return self._url(self.port)

    def origin(self, provider: str) -> str:
        """Base URL serving ``provider``'s production paths at its root (a real client's base URL)."""
        provider = self._check(provider)
        if self._listeners.port is None:
            raise RuntimeError("the emulator is not started")
        if provider not in self._listeners.origins:
            raise RuntimeError("this emulator serves no per-provider origins (origins=False)")
        return self._url(self._listeners.origins[provider])

    @property
    def origins(self) -> dict[str, str]:
        """``{provider: origin URL}`` (empty with ``origins=False``)."""
        return {provider: self._url(port) for provider, port in self._listeners.origins.items()}

    @property
    def ca_file(self) -> str | None:
        """PEM file of the CA that signed the generated certificate (None without TLS or with your own)."""
        return self.tls.ca_file if self.tls else None

    def base_url(self, provider: str) -> str:
        return f"{self.url}/{self._check(provider)}"

    def credentials(self, provider: str | None = None) -> dict[str, Any]:
        if provider is None:
            return self.runtime.credentials()
        return self.providers[self._check(provider)].credentials(self.runtime.creds)

    def connection(self, provider: str, *, signature: bool = True, **extra: Any) -> dict[str, Any]:
        """An Airflow connection to this emulator as ``AIRFLOW_CONN_*`` JSON; TAMS signs with the app
        id and private key unless ``signature=False``. Its extra holds every key of the provider's
        form (Airflow 3.3's edit form drops a field whose key the stored extra lacks); ``extra``
        sets some of them (``rate_limit=0``, ``timeout=10``)."""
        provider = self._check(provider)
        creds = self.credentials(provider)
        conn: dict[str, Any] = {
            "conn_type": provider,
            "host": self.base_url(provider),
            "password": creds["api_key"],
        }
        keys = self.providers[provider].signed_connection(self.runtime.creds) if signature else None
        if keys is not None:
            conn["password"] = None
        conn["extra"] = {**empty_extra(provider), **(keys or {}), **extra}
        return conn

    # control -------------------------------------------------------------------------------------
    def add_job(self, provider: str, **fields: Any) -> int | str:
        """Create a job directly (script fields: outcome, queued_s, running_s, outputs, ...)."""
        return add_job(self.runtime, provider, fields)

    def script(self, provider: str, count: int = 1, **fields: Any) -> None:
        """Script the next ``count`` jobs created through ``provider``'s create routes."""
        self.runtime.state.add_script(provider, count, fields)

    def inject_fault(self, **spec: Any) -> str:
        """Install a fault (``provider``, ``route``, ``kind``, ``count``, ...); returns its id."""
        return self.runtime.faults.add(spec).id

    def remove_fault(self, fault_id: str) -> bool:
        return self.runtime.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.runtime.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self.runtime.faults.list()

    def set_rate_limit(self, provider: str, qps: float | None) -> None:
        """Per-key rate limit for ``provider`` (``None`` or 0 disables); reset() restores the defaults."""
        self.runtime.limiter.set(self._check(provider), qps)

    def set_success_status(self, provider: str, spelling: str) -> None:
        """How ``provider`` spells a succeeded job from now on (GoEnhance: ``success`` or
        ``completed``; same as ``POST /_emulator/options``); reset() restores the constructor's."""
        name = self._check(provider)
        try:
            self.runtime.success_status[name] = check_success_status(self.providers[name], spelling)
        except ScriptError as err:
            raise ValueError(str(err)) from None

    def advance(self, seconds: float) -> float:
        """Move the emulated clock forward; returns the new emulated time (epoch seconds)."""
        return self.runtime.state.clock.advance(seconds)

    def now(self) -> float:
        return self.runtime.state.now()

    @property
    def speed(self) -> float:
        """Emulated seconds per real second (durations it reports are real: emulated / speed)."""
        return self.runtime.state.clock.speed

    def job(self, provider: str, job_id: int | str) -> dict[str, Any] | None:
        """Internal view of a job: its phase now and how it was scripted (None if unknown)."""
        job = self.runtime.state.get_job(self._check(provider), job_id)
        if job is None:
            return None
        phase = job.phase(self.now())
        return {
            "job_id": job.native_id,
            "kind": job.kind,
            "state": phase.state,
            "outcome": job.outcome,
            "queued_s": job.queued_s,
            "running_s": job.running_s,
            "outputs": list(job.outputs),
            "request": dict(job.request),
        }

    def stats(self) -> dict[str, Any]:
        return self.runtime.stats_snapshot()

    def reset(self) -> None:
        """Drop jobs, scripts, faults, stats, seen signatures and nonces; restore rate limits; re-seed;
        clock = real time."""
        self.runtime.reset()
