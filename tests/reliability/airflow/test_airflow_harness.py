"""Fast checks of the harness itself: the secret scanner finds leaks, the slow-callback parser reads
asyncio's warnings. (The real-Airflow tests next to this file pass when they find nothing, so the
finders must be shown to work.)"""

from __future__ import annotations

import json
from pathlib import Path

from mediajobs_cluster import AirflowCluster, Sentinels, scan_files

from support.credentials import rsa_pem

KEY = "mjsentinel-vozo-0123456789abcdef0123456789abcdef"


def test_sentinels_find_keys_and_their_fragments() -> None:
    pem = rsa_pem()
    sentinels = Sentinels()
    sentinels.add_key("vozo API key", KEY)
    sentinels.add_pem("TAMS private key", pem)
    lines = [ln for ln in pem.splitlines() if not ln.startswith("-----")]

    assert sentinels.find("Authorization: Bearer " + KEY)
    assert sentinels.find("key=...0123456789ab...")  # first 12 chars of the random part
    assert sentinels.find(json.dumps({"extra": {"private_key": pem}}))  # JSON-escaped newlines
    assert sentinels.find("error near " + lines[7])  # one base64 line of the key
    assert sentinels.find("".join(lines)[500:540])  # a run of the body without line breaks
    assert sentinels.find("conn_id=vozo_default job abc: auth failed; check the API key") == []
    assert sentinels.find(pem.splitlines()[0]) == []  # the PEM header alone is not a secret


def test_scan_files_reports_the_file_and_what_leaked(tmp_path: Path) -> None:
    sentinels = Sentinels()
    sentinels.add_key("vozo API key", KEY)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "clean.log").write_text("nothing here\n")
    (tmp_path / "logs" / "leak.log").write_bytes(b"\x00binary\xff " + KEY.encode())
    scanned, hits = scan_files(tmp_path, sentinels)
    assert scanned == 2
    assert hits and all(hit.startswith(str(tmp_path / "logs" / "leak.log")) for hit in hits)


def test_slow_trigger_callbacks_are_read_from_asyncio_debug_warnings(tmp_path: Path) -> None:
    cluster = AirflowCluster(tmp_path, db_url="sqlite://", dag_files=[], connections={})
    (cluster.proc_logs / "triggerer-1.log").write_text(
        "2026-11-25T09:43:09.588206Z [warning  ] Executing <Task pending name='Task-1' coro=<TriggerRunner"
        ".arun() running at triggerer_job_runner.py:1251>> took 0.569 seconds [asyncio]\n"
        "2026-11-25T09:43:45.527065Z [warning  ] Executing <Task pending name='dag/run/wait_tensorart/-1/1 "
        "(ID 1)' coro=<greenback_shim() running at _impl.py:119> wait_for=<Future pending> created at "
        "tasks.py:384> took 0.302 seconds [asyncio] loc=triggerer_job_runner.py:1046\n"
    )
    assert cluster.slow_trigger_callbacks() == [("dag/run/wait_tensorart/-1/1 (ID 1)", 0.302)]
