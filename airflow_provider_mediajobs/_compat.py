"""What differs between the Airflow versions this provider supports (3.1 and newer).

The task-level exceptions moved to ``airflow.sdk.exceptions`` in Airflow 3.2; on 3.1 they live in
``airflow.exceptions`` only (on 3.2+ those names are deprecated aliases of the same classes).
"""

from __future__ import annotations

import re

from airflow import __version__ as _airflow_version

_major_minor = re.match(r"(\d+)\.(\d+)", _airflow_version)
#: (major, minor) of the running Airflow, e.g. (3, 3).
AIRFLOW_VERSION: tuple[int, int] = (
    (int(_major_minor.group(1)), int(_major_minor.group(2))) if _major_minor else (0, 0)
)

try:
    from airflow.sdk.exceptions import (
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferralError,
        TaskDeferralTimeout,
        TaskDeferred,
    )
except ImportError:  # Airflow 3.1
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferralError,
        TaskDeferralTimeout,
        TaskDeferred,
    )

__all__ = [
    "AIRFLOW_VERSION",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "TaskDeferralError",
    "TaskDeferralTimeout",
    "TaskDeferred",
]
