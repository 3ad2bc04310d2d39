"""Targets (issues 8 and 13), the printed table and the markdown section of docs/benchmarks.md."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

BEGIN = "<!-- benchmark-results:begin (written by python -m benchmarks --markdown) -->"
END = "<!-- benchmark-results:end -->"


def _run(
    report: dict[str, Any], scenario: str, variant: str, n: int | None = None, repeat: int = 1
) -> dict[str, Any] | None:
    for run in report["runs"]:
        if run.get("scenario") != scenario or run.get("variant") != variant:
            continue
        if n is not None and run.get("n") != n:
            continue
        if run.get("repeat", 1) != repeat:
            continue
        if "error" in run or "skipped" in run:
            return None
        return run
    return None


def _target(name: str, measured: Any, limit: str, ok: bool | None, note: str = "") -> dict[str, Any]:
    return {"target": name, "measured": measured, "limit": limit, "met": ok, "note": note}


def _repeats(report: dict[str, Any], n: int | None, scenario: str = "scale") -> list[int]:
    return sorted(
        {r.get("repeat", 1) for r in report["runs"] if r.get("scenario") == scenario and r.get("n") == n}
    )


def _ratio_target(
    report: dict[str, Any],
    name: str,
    n: int | None,
    other: str,
    metric: Any,
    unit: str,
    limit: float,
    missing: str,
    scenario: str = "scale",
) -> dict[str, Any]:
    """``metric(mediajobs) / metric(other)`` within each repeat at N=n; met when every repeat meets it."""
    found = []
    for repeat in _repeats(report, n, scenario):
        ours = _run(report, scenario, "mediajobs", n, repeat)
        theirs = _run(report, scenario, other, n, repeat)
        if ours and theirs and metric(ours) is not None and metric(theirs):
            found.append((metric(ours) / metric(theirs), metric(ours), metric(theirs)))
    label = f"<= {limit:g}x"
    if not found:
        return _target(name, None, label, None, missing)
    first = found[0]
    measured = f"{first[0]:.2f}x ({first[1]:.3f} vs {first[2]:.3f} {unit})"
    if len(found) > 1:
        ratios = [f[0] for f in found]
        measured += f"; {len(found)} runs: {' / '.join(f'{r:.2f}' for r in ratios)} (median {statistics.median(ratios):.2f}x)"
    ok_runs = sum(f[0] <= limit for f in found)
    note = "" if ok_runs in (0, len(found)) else f"met in {ok_runs} of {len(found)} runs"
    return _target(name, measured, label, ok_runs == len(found), note)


def evaluate(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issues 8 and 13 with the measured value and whether it is met (None: not measured)."""
    out: list[dict[str, Any]] = []
    scale_ns = sorted({r["n"] for r in report["runs"] if r.get("scenario") == "scale" and "n" in r})
    cmp_n = 1000 if 1000 in scale_ns else (scale_ns[0] if scale_ns else None)
    big_n = max(scale_ns) if scale_ns else None
    ours = _run(report, "scale", "mediajobs", cmp_n)
    fixed = _run(report, "scale", "fixed", cmp_n)
    at = f" at N={cmp_n}"
    out.append(
        _ratio_target(
            report,
            f"CPU per status read vs a bare shared aiohttp session{at}",
            cmp_n,
            "floor",
            lambda r: r.get("cpu_ms_per_call"),
            "ms",
            2.0,
            "floor not run (aiohttp missing?)",
        )
    )
    out.append(
        _ratio_target(
            report,
            f"CPU for the whole wait vs the dbt-style trigger{at}",
            cmp_n,
            "baseline",
            lambda r: r.get("cpu_ms_per_wait"),
            "ms/wait",
            0.25,
            "baseline not run (aiohttp missing?)",
        )
    )
    for workload, label in (("short", "short jobs with hints"), ("long", "long jobs without hints")):
        scenario = f"scale-{workload}"
        ns = sorted({r["n"] for r in report["runs"] if r.get("scenario") == scenario and "n" in r})
        if ns:
            n = 1000 if 1000 in ns else ns[0]
            out.append(
                _ratio_target(
                    report,
                    f"CPU for the whole wait vs the dbt-style trigger, {label}, at N={n}",
                    n,
                    "baseline",
                    lambda r: r.get("cpu_ms_per_wait"),
                    "ms/wait",
                    0.25,
                    "baseline not run (aiohttp missing?)",
                    scenario,
                )
            )
    out.append(
        _ratio_target(
            report,
            f"median detection latency vs the dbt-style trigger{at}",
            cmp_n,
            "baseline",
            lambda r: (r.get("detection_latency_s") or {}).get("p50"),
            "s",
            0.5,
            "baseline not run (aiohttp missing?)",
        )
    )
    big = _run(report, "scale", "mediajobs", big_n)
    if big:
        lag = big["loop_lag_ms"]["p99"]
        out.append(_target(f"loop lag p99 at N={big_n}", f"{lag:.1f} ms", "<= 100 ms", lag <= 100))
        rss = big["rss_kb_per_wait"]
        out.append(_target(f"RSS growth per wait at N={big_n}", f"{rss:.1f} KB", "<= 15 KB", rss <= 15))
    conns = [
        (r["n"], r["connections_per_1000_calls"])
        for r in report["runs"]
        if r.get("variant") == "mediajobs" and r.get("connections_per_1000_calls") is not None
    ]
    if conns:
        worst = max(c for _, c in conns)
        out.append(
            _target(
                "TCP connections per 1,000 status calls (all mediajobs runs)",
                f"{worst:.1f} (worst)",
                "<= 10",
                worst <= 10,
            )
        )
    if ours and fixed:
        share = ours["status_calls"] / fixed["status_calls"]
        lat, lat_fixed = ours["detection_latency_s"]["p50"], fixed["detection_latency_s"]["p50"]
        ok = share <= 0.5 and lat <= lat_fixed
        out.append(
            _target(
                f"adaptive vs fixed-interval polling{at}",
                f"{share:.0%} of the calls, median detection {lat:.2f} s vs {lat_fixed:.2f} s",
                "<= 50 % of calls, median <= fixed",
                ok,
            )
        )
    tams = _run(report, "tams_5qps", "mediajobs")
    if tams:
        ok = tams["http_429"] == 0 and tams["failed_waits"] == 0
        out.append(
            _target(
                f"{tams['n']} TAMS waits at 5 QPS",
                f"{tams['http_429']} x 429, {tams['failed_waits']} failed waits",
                "0 and 0",
                ok,
            )
        )
    for run in report.get("fleet", []):
        whole, n = run.get("whole") or {}, run["triggerers"]
        if not whole:
            continue
        share, avg = whole["share_429"] or 0.0, whole["avg_qps"]
        measured = f"{share:.1%} x 429, {avg} QPS average, {whole['peak_qps_1s']} peak (1 s)"
        if n == 1:
            out.append(_target("1 triggerer, TAMS 5 QPS", measured, "0 x 429", whole["http_429"] == 0))
        else:
            ok = share <= 0.05 and avg <= 5.5
            out.append(_target(f"{n} triggerers, TAMS 5 QPS", measured, "<= 5 % x 429, <= 5.5 QPS", ok))
    view = report.get("media_view")
    if view:
        ms = view["median_ms"]
        out.append(
            _target(
                f"Media tab of a run of {view['jobs']} mapped jobs (API server app)",
                f"median {ms:.0f} ms (min {view['min_ms']:.0f}, max {view['max_ms']:.0f}, first {view['cold_ms']:.0f})",
                "< 1000 ms",
                ms < 1000,
            )
        )
    imports = report.get("imports")
    if imports:
        ms = imports["import"]["sensors_over_sdk_ms"]
        out.append(_target("import sensors over airflow.sdk", f"{ms:.1f} ms", "<= 50 ms", ms <= 50))
        worst_file, worst_ms = max(imports["dag_parse"].items(), key=lambda kv: kv[1])
        ok = not math.isnan(worst_ms) and worst_ms <= 100
        out.append(
            _target("example DAG parse (slowest file)", f"{worst_ms:.0f} ms ({worst_file})", "<= 100 ms", ok)
        )
    return out


COLUMNS = (
    ("scenario", lambda r: r.get("scenario", "")),
    ("N", lambda r: r.get("n", "")),
    ("variant", lambda r: r.get("variant", "") + (f" #{r['repeat']}" if r.get("repeat", 1) > 1 else "")),
    ("CPU ms/call", lambda r: f"{r['cpu_ms_per_call']:.3f}" if r.get("cpu_ms_per_call") else "-"),
    ("CPU ms/wait", lambda r: f"{r['cpu_ms_per_wait']:.1f}" if r.get("cpu_ms_per_wait") else "-"),
    ("calls", lambda r: r.get("status_calls", "")),
    ("calls/s", lambda r: r.get("calls_per_s", "")),
    ("calls/job", lambda r: r.get("calls_per_job", "")),
    ("peak RSS MB", lambda r: r.get("peak_rss_mb", "")),
    ("RSS KB/wait", lambda r: r.get("rss_kb_per_wait", "")),
    (
        "lag p50/p99 ms",
        lambda r: (
            f"{r['loop_lag_ms']['p50']:.1f} / {r['loop_lag_ms']['p99']:.1f}" if r.get("loop_lag_ms") else ""
        ),
    ),
    ("TCP conns", lambda r: r.get("connections", "")),
    (
        "detect p50/p95 s",
        lambda r: (
            f"{r['detection_latency_s']['p50']:.2f} / {r['detection_latency_s']['p95']:.2f}"
            if r.get("detection_latency_s")
            else "-"
        ),
    ),
    ("429s", lambda r: r.get("http_429", "")),
    ("failed", lambda r: r.get("failed_waits", "")),
)


def _rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for run in report["runs"]:
        if "error" in run or "skipped" in run:
            rows.append(
                [
                    run.get("scenario", ""),
                    str(run.get("n", "")),
                    run["variant"],
                    "not run: " + (run.get("skipped") or run.get("error", ""))[:80],
                ]
                + [""] * (len(COLUMNS) - 4)
            )
            continue
        rows.append([str(get(run)) for _, get in COLUMNS])
    return rows


def table(report: dict[str, Any]) -> str:
    header = [name for name, _ in COLUMNS]
    rows = _rows(report)
    widths = [
        max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i])
        for i in range(len(header))
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append("")
    for t in report.get("targets", []):
        mark = {True: "MET   ", False: "MISSED", None: "n/a   "}[t["met"]]
        lines.append(f"{mark} {t['target']}: {t['measured']} (target {t['limit']}) {t['note']}".rstrip())
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    p = report["params"]
    out = [
        f"Run {m['date']} (`{report['mode']}` mode, commit `{m.get('commit', '')}`, "
        f"**{m.get('scheme', 'http').upper()}**) on {m['nproc']} CPUs "
        f"({m['cpu']}), Python {m['python']}, httpx {m['httpx']}, aiohttp {m['aiohttp'] or 'not installed'}, "
        f"{m.get('openssl', 'OpenSSL')}; load average at start {' / '.join(str(x) for x in m['load_avg_start'])}"
        + (f", at the end {' / '.join(str(x) for x in m['load_avg_end'])}" if m.get("load_avg_end") else "")
        + f" (the machine was shared with other work). Emulator speed {p['speed']:g}, seed {p['seed']}."
        + (f" `#2`, `#3`: repeats at N={p['repeat_n']}." if p.get("repeat", 1) > 1 else ""),
        "",
        "| " + " | ".join(name for name, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    out += ["| " + " | ".join(r) + " |" for r in _rows(report)]
    out += ["", "| target | measured | limit | met |", "|---|---|---|---|"]
    for t in report.get("targets", []):
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        out.append(f"| {t['target']} | {t['measured']} | {t['limit']} | {met} |")
    kinds = [
        r
        for r in report["runs"]
        if r.get("scenario") == "scale"
        and r.get("repeat", 1) == 1
        and r.get("detection_p50_by_kind_s")
        and r.get("n")
        == min((x["n"] for x in report["runs"] if x.get("scenario") == "scale" and "n" in x), default=0)
    ]
    if kinds:
        names = sorted({k for r in kinds for k in r["detection_p50_by_kind_s"]})
        out += ["", f"Median detection latency (s) per job kind at N={kinds[0]['n']}:", ""]
        out += ["| variant | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for r in kinds:
            out.append(
                f"| {r['variant']} | "
                + " | ".join(str(r["detection_p50_by_kind_s"].get(k, "")) for k in names)
                + " |"
            )
    out += fleet_markdown(report.get("fleet", []))
    view = report.get("media_view")
    if view:
        out += [
            "",
            f"Media view: `GET /mediajobs/dags/<dag>/runs/<run>` of a run of {view['jobs']} mapped TAMS jobs "
            f"({view['cards']} cards, {view['page_bytes'] // 1024} KiB of HTML) through Airflow's API server app in "
            f"process: {', '.join(f'{x:.0f}' for x in view['ms'])} ms (median {view['median_ms']:.0f} ms; the first "
            f"request {view['cold_ms']:.0f} ms); load average during the run {view['load_avg'][0]:.1f}.",
        ]
    imports = report.get("imports")
    if imports:
        shares = imports.get("dag_parse_provider_ms", {})
        parse = ", ".join(
            f"{k} {v:.0f} ms" + (f" (this provider's modules: {shares[k]:.0f} ms)" if k in shares else "")
            for k, v in imports["dag_parse"].items()
        )
        out += [
            "",
            f"Import: `airflow_provider_mediajobs.sensors` adds {imports['import']['sensors_over_sdk_ms']} ms over "
            f"`airflow.sdk` (best of runs {imports['import']['sensors_over_sdk_ms_runs']}; `airflow.sdk` itself "
            f"{imports['import']['airflow_sdk_ms']} ms). DAG parse (fresh interpreter with `airflow.sdk` loaded): {parse}.",
        ]
    return "\n".join(out)


def fleet_markdown(runs: list[dict[str, Any]]) -> list[str]:
    """The fleet table: each triggerer a separate OS process with its own loop and limiter."""
    if not runs:
        return []
    out = [
        "",
        f"Fleet: 48 TAMS waits per triggerer process (separate OS processes, each with its own event "
        f"loop and rate limiter, real `MediaJobTrigger`s; not Airflow's triggerer job), one TAMS key "
        f"limited to 5 QPS by the emulator, {runs[0]['seconds']:.0f} s per run; whole run / after the "
        "first 10 s:",
        "",
        "| triggerers | calls | 429s | 429 share | avg QPS | peak QPS (1 s) | rate per process at the end |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        w, a = run.get("whole") or {}, run.get("after_warmup") or {}
        if not w:
            continue
        rates = ", ".join(str(x.get("rate_end", "?")) for x in run["workers"])
        out.append(
            f"| {run['triggerers']}{' #' + str(run['repeat']) if run.get('repeat', 1) > 1 else ''} | {w['calls']} | {w['http_429']} | {w['share_429'] or 0:.1%} / "
            f"{a.get('share_429') or 0:.1%} | {w['avg_qps']} / {a.get('avg_qps', '-')} | {w['peak_qps_1s']} | {rates} |"
        )
    return out


def write_markdown(path: Path, text: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace the text between the markers in ``path`` (append the markers if missing)."""
    doc = path.read_text() if path.exists() else ""
    block = f"{begin}\n{text}\n{end}"
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc = head + block + tail
    else:
        doc = doc.rstrip() + ("\n\n" if doc else "") + block + "\n"
    path.write_text(doc)
