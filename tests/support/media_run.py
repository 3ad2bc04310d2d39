"""What the plugin API tests share: the hostile values the DAG run records and the run's URLs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DAG_ID = "mediajobs_plugin_api"
HOSTILE_JOB_ID = "<script>alert('job')</script>"
HOSTILE_REASON = "<img src=x onerror=alert('reason')>"
SIGNATURE = "Signature=mj-secret-signature"


@dataclass(frozen=True)
class MediaRun:
    dag_id: str
    run_id: str
    out: Path

    def url(self, *parts: str) -> str:
        tail = "".join(f"/{quote(p, safe='')}" for p in parts)
        return f"/mediajobs/dags/{quote(self.dag_id, safe='')}/runs/{quote(self.run_id, safe='')}{tail}"
