"""Provider metadata for Airflow's ``apache_airflow_provider`` entry point, derived from the registry.

Airflow calls this while it is still importing itself: nothing here may import Airflow.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_mediajobs import __version__
from airflow_provider_mediajobs.connection_forms import connection_types
from airflow_provider_mediajobs.dialects.registry import specs


def get_provider_info() -> dict[str, Any]:
    providers = specs()
    names = [spec.display_name for spec in providers]
    info: dict[str, Any] = {
        "package-name": "airflow-provider-mediajobs",
        "name": f"Media Jobs ({', '.join(names)})",
        "description": "Wait for AI media jobs in the triggerer without holding a worker slot, "
        "and collect their outputs before the signed URLs expire.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": spec.display_name, "external-doc-url": spec.docs_url, "tags": ["software"]}
            for spec in providers
        ],
        "hooks": [
            {"integration-name": spec.display_name, "python-modules": [spec.hook.rpartition(".")[0]]}
            for spec in providers
        ],
        "connection-types": connection_types(),
        "extra-links": ["airflow_provider_mediajobs.plugins.links.MediaLink"],
        "plugins": [
            {"name": "mediajobs", "plugin-class": "airflow_provider_mediajobs.plugins.plugin.MediaJobsPlugin"}
        ],
    }
    for section in ("sensors", "operators", "triggers"):
        modules = [f"airflow_provider_mediajobs.{section}"]
        info[section] = [{"integration-name": name, "python-modules": modules} for name in names]
    return info
