"""A stand-in triggerer process for test_triggerer_restart.py: one event loop running many triggers.

    python triggerer_child.py PLAN.json EVENTS.jsonl

PLAN holds ``{"triggers": [{"index", "classpath", "kwargs", "copies"}]}`` with ``kwargs`` stored the
way Airflow 3 stores them (serde JSON text); the child imports Airflow first and then waits for
PLAN to appear, so the test can create the jobs once the process is up. Every trigger is inflated as ``TriggerRunner`` does and
run on the one loop (``copies`` > 1 runs that many instances of the same kwargs at once). Each
event is appended to EVENTS as one JSON line the moment it fires, so a SIGKILL loses nothing that
fired before it. ``ready`` is printed once every trigger is running.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' support package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # reliability_support

from reliability_support import rebuild


def read_plan(plan_path: str) -> dict[str, Any]:
    path = Path(plan_path)
    print("imported", flush=True)
    while not path.exists():
        time.sleep(0.02)
    return json.loads(path.read_text())


async def main(plan: dict[str, Any], events_path: str) -> int:
    fd = os.open(events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    async def one(index: int, copy: int, trigger: Any) -> None:
        async for event in trigger.run():
            line = json.dumps({"index": index, "copy": copy, "pid": os.getpid(), "event": event.payload})
            os.write(fd, (line + "\n").encode())  # one write per event: whole lines, even if killed

    tasks = []
    for item in plan["triggers"]:
        for copy in range(int(item.get("copies", 1))):
            trigger = rebuild(item["classpath"], item["kwargs"])
            tasks.append(asyncio.create_task(one(item["index"], copy, trigger)))
    print("ready", len(tasks), flush=True)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    os.close(fd)
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures[:5]:
        print(f"trigger raised {type(failure).__name__}: {failure}", file=sys.stderr, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(main(read_plan(sys.argv[1]), sys.argv[2])))
