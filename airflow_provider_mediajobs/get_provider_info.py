"""Provider metadata for Airflow's ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_mediajobs import __version__
from airflow_provider_mediajobs.connection_forms import connection_types

_INTEGRATIONS = {
    "GoEnhance": "https://docs.goenhance.ai/",
    "TensorArt TAMS": "https://tams-docs.tensor.art/",
    "Vozo": "https://www.vozo.ai/docs/",
    "TensorPix": "https://docs.tensorpix.ai/",
}
_HOOK_MODULES = ("goenhance", "tensorart", "vozo", "tensorpix")


def get_provider_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "package-name": "airflow-provider-mediajobs",
        "name": "Media Jobs (GoEnhance, TensorArt TAMS, Vozo, TensorPix)",
        "description": "Wait for AI media jobs in the triggerer without holding a worker slot, "
        "and collect their outputs before the signed URLs expire.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": name, "external-doc-url": url, "tags": ["software"]}
            for name, url in _INTEGRATIONS.items()
        ],
        "hooks": [
            {"integration-name": name, "python-modules": [f"airflow_provider_mediajobs.hooks.{module}"]}
            for name, module in zip(_INTEGRATIONS, _HOOK_MODULES, strict=True)
        ],
        "connection-types": connection_types(),
        "extra-links": ["airflow_provider_mediajobs.plugins.links.MediaLink"],
        "plugins": [
            {"name": "mediajobs", "plugin-class": "airflow_provider_mediajobs.plugins.plugin.MediaJobsPlugin"}
        ],
    }
    for section in ("sensors", "operators", "triggers"):
        modules = [f"airflow_provider_mediajobs.{section}"]
        info[section] = [{"integration-name": name, "python-modules": modules} for name in _INTEGRATIONS]
    return info
