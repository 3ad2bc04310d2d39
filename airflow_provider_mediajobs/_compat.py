"""What differs between the Airflow versions this provider supports (3.1 and newer).

The task-level exceptions moved to ``airflow.sdk.exceptions`` in Airflow 3.2; on 3.1 they live in
``airflow.exceptions`` only (on 3.2+ those names are deprecated aliases of the same classes).
"""

from __future__ import annotations

try:
    from airflow.sdk.exceptions import (
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferralError,
        TaskDeferralTimeout,
        TaskDeferred,
    )
except ImportError:  # Airflow 3.1
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferralError,
        TaskDeferralTimeout,
        TaskDeferred,
    )

__all__ = [
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "TaskDeferralError",
    "TaskDeferralTimeout",
    "TaskDeferred",
]
