"""Render the reliability figures: ``python tests/reliability/report.py RESULTS_DIR DOC.md OUT.json``.

RESULTS_DIR holds the JSON files the suites wrote (``MEDIAJOBS_RELIABILITY_RESULTS``); they are
combined, with the machine and the date, into OUT.json, and rendered as markdown tables between the
``<!-- reliability-results:begin -->`` / ``<!-- reliability-results:end -->`` markers of DOC.md
(everything else in DOC.md is left as it is). ``make reliability`` runs it after the suites.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BEGIN = "<!-- reliability-results:begin -->"
END = "<!-- reliability-results:end -->"


def _git(*args: str) -> str:
    import subprocess

    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import airflow

        airflow_version = airflow.__version__
    except Exception:
        airflow_version = "?"
    return {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "package_changes_not_committed": bool(
            _git("status", "--porcelain", "--", "airflow_provider_mediajobs")
        ),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "airflow": airflow_version,
    }


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"
        return f"{text}{unit}"
    return f"{value}{unit}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def render(data: dict[str, Any]) -> str:
    m = data["machine"]
    session = data["suites"].get("session", {})
    out = [
        f"Measured {m['date_utc']} on {m['cpu']} ({m['cores']} cores, {m['os']}, shared with other "
        f"work: load average {', '.join(map(str, m['load_average_at_end']))} at the end), Python "
        f"{m['python']}, Airflow {m['airflow']}, commit `{m['commit']}`"
        f"{' with uncommitted package changes' if m['package_changes_not_committed'] else ''}; "
        f"profile `{data['profile']}` "
        f"(`make reliability`). Whole run: {_fmt(session.get('seconds'), ' s')}, "
        f"{session.get('passed', '?')} tests passed, {session.get('failed', '?')} failed.",
        "",
    ]
    if files := session.get("files"):
        out += ["**Suites**", ""]
        out += _table(
            ["file", "tests passed", "failed", "time"],
            [
                [f"`{name}`", f["passed"], f["failed"], _fmt(f["seconds"], " s")]
                for name, f in sorted(files.items())
            ],
        )
        out.append("")

    if fm := data["suites"].get("fault_matrix"):
        s = fm["settings"]
        out += [
            "### Fault matrix",
            "",
            f"{fm['waits']} waits, **{fm['wrongly_ended']} wrongly ended**. Each row: "
            f"{s['waits_per_provider_per_round']} waits x {s['rounds']} round(s) per provider, job "
            f"{s['job']}, poll {s['poll_interval_s']}-{s['max_poll_interval_s']} s, "
            f"outage tolerance {s['outage_tolerance_s']} s (backoff up to {s['max_backoff_s']} s), "
            "faults installed "
            f"{s['faults_installed']}. *Status calls* are the emulator's count; *extra* is against the "
            "fault-free run of the same jobs; *recovery* is from the end of the fault (last failed read, "
            "or the end of the outage) to the next good read; *ended after* is from the fault's start "
            "to the event, for waits that must end.",
            "",
        ]
        rows = []
        for r in fm["rows"]:
            recovery = (
                "-"
                if r["recovery_p50_s"] is None
                else f"{_fmt(r['recovery_p50_s'])} / {_fmt(r['recovery_max_s'])}"
            )
            extra = _fmt(r["extra_calls_per_wait"])
            if r.get("fixed_interval_calls_per_wait"):
                extra = f"(fixed polling: {r['fixed_interval_calls_per_wait']})"
            rows.append(
                [
                    r["fault"],
                    r["provider"],
                    r["expected"],
                    r["waits"],
                    r["wrongly_ended"],
                    _fmt(r["status_calls_per_wait"]),
                    extra,
                    _fmt(r["failed_reads_per_wait"]),
                    recovery,
                    _fmt(r["ended_after_fault_p50_s"]),
                ]
            )
        out += _table(
            [
                "fault",
                "provider",
                "must end",
                "waits",
                "wrong",
                "status calls / wait",
                "extra / wait",
                "failed reads / wait",
                "recovery p50 / max (s)",
                "ended after (s, p50)",
            ],
            rows,
        )
        examples = {r["scenario"]: r["example_message"] for r in fm["rows"] if r["expected"] != "succeeded"}
        if examples:
            out += ["", "Example messages:", ""]
            out += [f"- `{name}`: {msg}" for name, msg in examples.items()]
        if tol := fm.get("default_outage_tolerance"):
            out += [
                "",
                "With **default** settings a wait rides out failing status reads for its outage "
                "tolerance (never past its deadline), reading again after a backoff that grows from "
                "the poll interval to its cap (full jitter, `Retry-After` as a floor):",
                "",
            ]
            out += _table(
                ["provider", "backoff from (s)", "backoff cap (s)", "outage tolerance"],
                [
                    [
                        p,
                        f"{t['poll_interval_s']:g}",
                        f"{t['max_backoff_s']:g}",
                        f"{t['outage_tolerance_s'] / 60:g} min",
                    ]
                    for p, t in sorted(tol.items())
                ],
            )
        out.append("")

    if tr := data["suites"].get("triggerer_restart"):
        out += [
            "### Triggerer restart (SIGKILL, rebuild in a new process)",
            "",
            *_table(
                ["figure", "value"],
                [
                    ["waits (one event loop)", tr["waits"]],
                    ["expected endings", ", ".join(f"{k} {v}" for k, v in sorted(tr["expected"].items()))],
                    ["first process up and running all waits after", _fmt(tr["first_process_ready_s"], " s")],
                    [
                        "fired before the SIGKILL / in flight",
                        f"{tr['fired_before_sigkill']} / {tr['in_flight_at_sigkill']}",
                    ],
                    ["gap with no triggerer", _fmt(tr["gap_without_triggerer_s"], " s")],
                    ["all finished, counted from the kill", _fmt(tr["all_finished_after_kill_s"], " s")],
                    ["finished / wrongly ended", f"{tr['finished']} / {tr['wrongly_ended']}"],
                    ["rerun concurrently twice (events equal)", tr["copies_run_concurrently"]],
                    [
                        "status calls (both processes) / per wait",
                        f"{tr['status_calls_total']} / {tr['status_calls_per_wait']}",
                    ],
                    ["create / cancel calls", f"{tr['create_calls']} / {tr['cancel_calls']}"],
                    ["cadence; job durations", f"{tr['poll_interval_s']} s; {tr['job_duration_s']} s"],
                ],
            ),
            "",
        ]

    if fz := data["suites"].get("fuzz"):
        rows = []
        for provider, d in sorted(fz["dialects"].items()):
            name = "Retry-After parser" if provider == "-" else provider
            detail = ", ".join(f"{k} {v}" for k, v in sorted(d["by_test"].items()))
            rows.append([name, d["examples"], _fmt(d["seconds"], " s"), detail])
        out += [
            f"### Fuzzing (hypothesis profile `{fz['hypothesis_profile']}`)",
            "",
            "Examples run (test-body calls) per dialect; only the package's typed errors escaped.",
            "",
            *_table(["dialect", "examples", "time", "by property"], rows),
            "",
        ]

    if tk := data["suites"].get("tams_key_loading"):
        out += [
            "### TAMS keys in signature mode",
            "",
            f"{tk['waits']} waits started together loaded the key {tk['key_loads']} time(s); one load "
            f"costs {_fmt(tk['openssl_checked_load_cpu_ms'], ' ms')} of CPU with OpenSSL's check (the "
            f"old way, once per wait, on the event loop) and {_fmt(tk['arithmetic_checked_load_cpu_ms'], ' ms')} now.",
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def main(results_dir: str, doc: str, out_json: str) -> None:
    suites: dict[str, Any] = {}
    profiles = set()
    for path in sorted(Path(results_dir).glob("*.json")):
        payload = json.loads(path.read_text())
        suites[payload.get("suite", path.stem)] = payload
        if payload.get("profile"):
            profiles.add(payload["profile"])
    data = {"machine": machine(), "profile": "/".join(sorted(profiles)) or "?", "suites": suites}
    Path(out_json).write_text(json.dumps(data, indent=2) + "\n")
    text = Path(doc).read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{doc} has no {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    Path(doc).write_text(f"{head}{BEGIN}\n{render(data)}{END}{tail}")
    print(f"wrote {out_json} and the results block of {doc}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
