"""``mediajobs-emulator`` / ``python -m airflow_provider_mediajobs.emulator``."""

from __future__ import annotations

import argparse
import functools
import json
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from . import require_dependencies

try:  # the web stack is the [emulator] extra: say so instead of a traceback
    require_dependencies()
except ImportError as missing:
    print(f"mediajobs-emulator: {missing}", file=sys.stderr)
    raise SystemExit(2) from None

from .faults import FaultError, parse_spec
from .providers import all_providers
from .server import Emulator

PROVIDERS = tuple(all_providers())  # the registry's providers that have an emulator module


def _rate_limit(text: str) -> tuple[str, float]:
    provider, sep, qps = text.partition("=")
    if not sep or provider not in PROVIDERS:
        raise argparse.ArgumentTypeError(f"expected PROVIDER=QPS with PROVIDER in {', '.join(PROVIDERS)}")
    try:
        return provider, float(qps)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad QPS in {text!r}") from None


def _api_key(text: str) -> tuple[str, str]:
    provider, sep, key = text.partition("=")
    if not sep or provider not in PROVIDERS or not key.strip():
        raise argparse.ArgumentTypeError(f"expected PROVIDER=KEY with PROVIDER in {', '.join(PROVIDERS)}")
    return provider, key


def _origin_port(text: str) -> tuple[str | None, int]:
    provider, sep, port = text.rpartition("=")
    if sep and provider not in PROVIDERS:
        raise argparse.ArgumentTypeError(
            f"expected PORT or PROVIDER=PORT with PROVIDER in {', '.join(PROVIDERS)}"
        )
    try:
        value = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}")
    return (provider if sep else None), value


def _origin_ports(values: list[tuple[str | None, int]]) -> int | dict[str, int] | None:
    """``PORT``: the first of one consecutive origin port per provider; ``PROVIDER=PORT`` overrides one."""
    first = [port for provider, port in values if provider is None]
    named = {provider: port for provider, port in values if provider is not None}
    if not first and not named:
        return None
    if not named:
        return first[-1]
    if first:
        base = first[-1]
        return {p: (0 if base == 0 else base + i) for i, p in enumerate(PROVIDERS)} | named
    return named


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mediajobs-emulator",
        description="Local emulator of the media-job APIs: " + ", ".join(PROVIDERS) + ".",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8790, help="port; 0 picks a free one (default: 8790)")
    p.add_argument("--seed", type=int, default=0, help="seed of job durations and ids (default: 0)")
    p.add_argument("--speed", type=float, default=1.0, help="emulated seconds per real second (default: 1)")
    p.add_argument("--tams-qps", type=float, default=5.0, help="TAMS rate limit per key; 0 disables")
    # an option given any number of times, collected in a list
    repeatable = functools.partial(p.add_argument, action="append", default=[])
    repeatable(
        "--rate-limit",
        type=_rate_limit,
        metavar="PROVIDER=QPS",
        help="rate limit for another provider (repeatable)",
    )
    repeatable(
        "--fault",
        metavar="SPEC",
        help="PROVIDER:ROUTE:KIND[:key=value,...], e.g. tensorpix:status:http_503:count=3",
    )
    p.add_argument("--tams-public-key", metavar="FILE", help="PEM public key for TAMS signatures")
    repeatable(
        "--api-key",
        type=_api_key,
        metavar="PROVIDER=KEY",
        help="accept KEY instead of the provider's default key (repeatable)",
    )
    p.add_argument("--print-credentials", action="store_true", help="print the credentials JSON")
    repeatable(
        "--origin-port",
        type=_origin_port,
        metavar="PORT|PROVIDER=PORT",
        help="ports of the per-provider origins (production paths at the root): PORT is the first of "
        f"{len(PROVIDERS)} ({', '.join(PROVIDERS)}); default --port+1.., free ports with --port 0",
    )
    p.add_argument("--no-origins", action="store_true", help="serve only the prefixed layout on --port")
    p.add_argument(
        "--tams-strict-nonces",
        action="store_true",
        help="refuse any reused TAMS nonce (default: refuse only exact replays of a signed request)",
    )
    for name, provider in all_providers().items():
        if provider.success_statuses:
            p.add_argument(
                f"--{name}-success-status",
                choices=provider.success_statuses,
                default=None,
                help=f"how {name} spells a succeeded job's status (default: {provider.success_statuses[0]})",
            )
    p.add_argument(
        "--print-env",
        action="store_true",
        help="print the shell lines that point Airflow at this emulator (AIRFLOW_HOME, the DAGs folder, "
        "the default connections as AIRFLOW_CONN_*, TAMS in Bearer mode; then airflow db migrate)",
    )
    p.add_argument(
        "--airflow-home", default="airflow-home", metavar="DIR", help="AIRFLOW_HOME of --print-env"
    )
    p.add_argument("--dags-folder", default="dags", metavar="DIR", help="DAGs folder of --print-env")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a generated certificate")
    p.add_argument("--certfile", metavar="FILE", help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--keyfile", metavar="FILE", help="the PEM private key of --certfile")
    p.add_argument(
        "--tls-dir",
        metavar="DIR",
        help="where --tls writes ca.pem, server.pem, server-key.pem (default: a temporary directory)",
    )
    return p


ENV_BEGIN = "# --- paste into the shell that runs Airflow (your own DAGs against this emulator) ---"
ENV_END = "# --- end of mediajobs-emulator --print-env ---"


def airflow_env(emulator: Emulator, airflow_home: Path, dags_folder: Path) -> list[str]:
    """Shell lines that point an Airflow in this venv at ``emulator``: a fresh AIRFLOW_HOME and DAGs
    folder, each provider's ``<provider>_default`` connection (TAMS with its API key, Bearer mode;
    private hosts allowed, for the emulator's CDN), and the metadata DB migration. The emulator's keys are fixed and public: nothing secret is printed."""
    home, dags = airflow_home.resolve(), dags_folder.resolve()
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    if emulator.ca_file is not None:
        env["SSL_CERT_FILE"] = env["REQUESTS_CA_BUNDLE"] = emulator.ca_file
    for provider in PROVIDERS:
        # the emulator's CDN is on 127.0.0.1: downloads must be allowed to reach it
        conn = emulator.connection(provider, signature=False, allow_private_hosts=True)
        env[f"AIRFLOW_CONN_{provider.upper()}_DEFAULT"] = json.dumps(conn)
    lines = [ENV_BEGIN, f"mkdir -p {shlex.quote(str(dags))}"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    return [*lines, "airflow db migrate", ENV_END]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        require_dependencies()
    except ImportError as err:
        print(f"mediajobs-emulator: {err}", file=sys.stderr)
        return 2
    args = parser().parse_args(argv)
    if args.speed <= 0:
        parser().error("--speed must be > 0")
    if (args.certfile is None) != (args.keyfile is None):
        parser().error("--certfile and --keyfile go together")
    spellings = {
        name: getattr(args, f"{name}_success_status")
        for name in PROVIDERS
        if getattr(args, f"{name}_success_status", None) is not None
    }
    try:
        faults = [parse_spec(spec) for spec in args.fault]
        emulator = Emulator(
            host=args.host,
            port=args.port,
            seed=args.seed,
            speed=args.speed,
            tams_qps=args.tams_qps,
            rate_limits=dict(args.rate_limit),
            faults=faults,
            tams_public_key=args.tams_public_key,
            api_keys=dict(args.api_key),
            tls=args.tls,
            certfile=args.certfile,
            keyfile=args.keyfile,
            tls_dir=args.tls_dir,
            origins=not args.no_origins,
            origin_ports=_origin_ports(args.origin_port),
            tams_strict_nonces=args.tams_strict_nonces,
            success_status=spellings,
        )
    except (FaultError, ValueError, OSError) as err:
        print(f"mediajobs-emulator: {err}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        emulator.start()
    except (OSError, RuntimeError) as err:
        print(f"mediajobs-emulator: cannot start: {err}", file=sys.stderr)
        return 1
    try:
        print(f"mediajobs-emulator listening on {emulator.url}", flush=True)
        if args.print_credentials:  # the line right after the listening line, as documented
            print(json.dumps(emulator.credentials()), flush=True)
        if emulator.ca_file is not None:
            print(f"mediajobs-emulator CA file: {emulator.ca_file}", flush=True)
        for provider, url in emulator.origins.items():
            print(f"mediajobs-emulator origin {provider}: {url}", flush=True)
        if args.print_env:
            print(
                "\n".join(airflow_env(emulator, Path(args.airflow_home), Path(args.dags_folder))), flush=True
            )
        while not stop.wait(0.5):
            if not emulator.running:
                print("mediajobs-emulator: server thread exited", file=sys.stderr)
                return 1
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
