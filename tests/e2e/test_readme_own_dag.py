"""Issue 27, "done when": a person with only the README runs a mapped TAMS pipeline of their own
against the emulator, on the first try.

Everything comes from the README's "Your own DAG against the emulator" section, taken literally:
its emulator command runs in a fresh directory, the lines it prints are pasted into a fresh bash
(nothing of the test session's Airflow environment is inherited), the DAG block is saved under the
name the README gives, and the README's ``airflow dags test`` command runs it. The run must
succeed, every mapped job must have been created on the emulator and have finished, and the
report task must have printed each job.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from airflow_provider_mediajobs.emulator.__main__ import ENV_BEGIN, ENV_END

from support.readme_text import fenced, section

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def _commands(block: str) -> list[str]:
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def _pasted_lines(proc: subprocess.Popen[str], timeout: float) -> tuple[str, list[str]]:
    """The emulator's URL and the lines between the --print-env markers."""
    assert proc.stdout is not None
    url, lines, inside = "", [], False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        line = line.rstrip("\n")
        if line.startswith("mediajobs-emulator listening on "):
            url = line.rsplit(" ", 1)[1]
        if line == ENV_BEGIN:
            inside = True
        if inside:
            lines.append(line)
        if line == ENV_END:
            return url, lines
    raise AssertionError(f"no --print-env block within {timeout}s: {lines}")


def test_readme_mapped_tams_pipeline_works_first_try(tmp_path: Path) -> None:
    text = section("Your own DAG against the emulator")
    bash = fenced(text, "bash")
    (emulator_command,) = _commands(bash[0])
    assert emulator_command.startswith("mediajobs-emulator ") and "--print-env" in emulator_command
    (dag_code,) = fenced(text, "python")
    (dag_file,) = re.findall(r"saved as `(dags/\w+\.py)`", text)
    (dags_test,) = [c for b in bash for c in _commands(b) if c.startswith("airflow dags test ")]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MEDIAJOBS"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # the venv's commands, as when activated
    emulator = subprocess.Popen(
        shlex.split(emulator_command),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url, pasted = _pasted_lines(emulator, timeout=60)
        (tmp_path / "pipeline.sh").write_text(
            "set -euo pipefail\n"
            + "\n".join(pasted)
            + f"\ncat > {dag_file} <<'README_DAG'\n{dag_code}README_DAG\n"
            + f"{dags_test}\n"
        )
        run = subprocess.run(
            ["bash", "pipeline.sh"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-6000:]
        with urllib.request.urlopen(f"{url}/_emulator/stats", timeout=10) as resp:
            stats = json.loads(resp.read())
    finally:
        os.killpg(emulator.pid, signal.SIGTERM)
        emulator.wait(timeout=30)

    prompts = re.search(r"PROMPTS = (\[.*\])", dag_code)
    assert prompts is not None
    count = len(json.loads(prompts.group(1)))
    assert stats["jobs"]["tensorart"] == count, stats["jobs"]
    # the report task printed each job, finished, with its outputs; the run succeeded
    assert len(re.findall(r"\d{6,} succeeded 1 output\(s\)", output)) == count, output[-6000:]
    assert re.search(r"state=success|DagRun Finished.*success", output), output[-3000:]
    assert (tmp_path / "airflow-home" / "airflow.db").is_file()
