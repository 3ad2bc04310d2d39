"""Import cost of the provider's sensors over ``airflow.sdk`` and parse time of the example DAGs.

Both are measured in fresh interpreters (best of ``repeat``: the machine is shared, and the
minimum is the least disturbed run). ``-X importtime`` reports, per module, the cumulative
microseconds of its import; ``airflow.sdk`` is imported first, so the sensors' figure is what
they add on top of it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")
PROBE = "import airflow.sdk; import airflow_provider_mediajobs.sensors"

PARSE = """
import time, runpy, sys
import airflow.sdk
t0 = time.perf_counter()
runpy.run_path(sys.argv[1], run_name="dag_file")
print(f"PARSE_MS {1000 * (time.perf_counter() - t0):.2f}")
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="mediajobs-bench-home-"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _importtime(env: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """module -> (self us, cumulative us, depth) of one ``-X importtime`` run of PROBE."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    out: dict[str, tuple[int, int, int]] = {}
    for line in proc.stderr.splitlines():
        match = LINE.match(line)
        if match:
            out[match.group(4)] = (int(match.group(1)), int(match.group(2)), len(match.group(3)))
    return out


def import_overhead(repeat: int = 5) -> dict[str, Any]:
    env = _env()
    _importtime(env)  # write .pyc files first
    runs = [_importtime(env) for _ in range(repeat)]
    sensors = [r["airflow_provider_mediajobs.sensors"][1] for r in runs]
    sdk = [r["airflow.sdk"][1] for r in runs if "airflow.sdk" in r]
    best = runs[sensors.index(min(sensors))]
    # the heaviest modules imported on behalf of the sensors (cumulative, not nested duplicates)
    started = False
    heavy = []
    for name, (own, cumulative, depth) in best.items():
        if name == "airflow.sdk":
            started = True
            continue
        if started and cumulative >= 3000 and depth <= 8:
            heavy.append(
                {
                    "module": name,
                    "cumulative_ms": round(cumulative / 1000, 1),
                    "self_ms": round(own / 1000, 1),
                }
            )
    return {
        "sensors_over_sdk_ms": round(min(sensors) / 1000, 1),
        "sensors_over_sdk_ms_runs": [round(s / 1000, 1) for s in sensors],
        "airflow_sdk_ms": round(min(sdk) / 1000, 1) if sdk else None,
        "heaviest": sorted(heavy, key=lambda h: -h["cumulative_ms"])[:12],
    }


def provider_share_ms(path: Path, env: dict[str, str], repeat: int = 2) -> float:
    """Milliseconds of a DAG file's parse spent importing this provider's own modules (the sum of
    their self times under ``-X importtime``); the rest is the DAG itself and Airflow's first-use
    imports (the ``@task`` machinery, timetables, assets) that any DAG file pays."""
    code = f"import airflow.sdk, runpy; runpy.run_path({str(path)!r}, run_name='dag_file')"
    best = float("inf")
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        total = 0
        for line in proc.stderr.splitlines():
            match = LINE.match(line)
            if match and match.group(4).startswith("airflow_provider_mediajobs"):
                total += int(match.group(1))
        best = min(best, total / 1000)
    return round(best, 1)


def dag_parse_times(repeat: int = 3) -> dict[str, float]:
    """Milliseconds to execute each example DAG file in a fresh interpreter that already has airflow.sdk."""
    env = _env()
    out = {}
    for path in sorted((ROOT / "example_dags").glob("*.py")):
        times = []
        for _ in range(repeat):
            proc = subprocess.run(
                [sys.executable, "-c", PARSE, str(path)], capture_output=True, text=True, env=env, check=False
            )
            match = re.search(r"PARSE_MS ([\d.]+)", proc.stdout)
            if match:
                times.append(float(match.group(1)))
        out[path.name] = min(times) if times else float("nan")
    return out


def dag_provider_shares(repeat: int = 2) -> dict[str, float]:
    env = _env()
    return {
        path.name: provider_share_ms(path, env, repeat)
        for path in sorted((ROOT / "example_dags").glob("*.py"))
    }


if __name__ == "__main__":
    import json

    print(
        json.dumps(
            {
                "import": import_overhead(),
                "dag_parse": dag_parse_times(),
                "dag_parse_provider_ms": dag_provider_shares(),
            },
            indent=1,
        )
    )
