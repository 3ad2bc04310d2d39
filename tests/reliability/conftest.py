"""Reliability suites: per-file outcome and time counts for the results file (``make reliability``).
Nothing here is autouse, so suites below keep their own setup."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reliability_support import results_dir, write_results

_STARTED = time.time()
_FILES: dict[str, dict[str, Any]] = {}


def pytest_runtest_logreport(report: Any) -> None:
    name = report.nodeid.split("::")[0].removeprefix("tests/reliability/")
    entry = _FILES.setdefault(name, {"passed": 0, "failed": 0, "skipped": 0, "seconds": 0.0})
    entry["seconds"] = round(entry["seconds"] + report.duration, 2)
    if report.failed:
        entry["failed"] += 1
    elif report.skipped and report.when in ("setup", "call"):
        entry["skipped"] += 1
    elif report.passed and report.when == "call":
        entry["passed"] += 1


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if results_dir() is None or not _FILES:
        return
    write_results(
        "session",
        {
            "seconds": round(time.time() - _STARTED, 1),
            "exit_status": int(exitstatus),
            "passed": sum(f["passed"] for f in _FILES.values()),
            "failed": sum(f["failed"] for f in _FILES.values()),
            "files": {Path(k).as_posix(): v for k, v in sorted(_FILES.items())},
        },
    )
