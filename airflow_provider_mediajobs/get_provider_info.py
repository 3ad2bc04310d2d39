"""Provider metadata for Airflow's ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from importlib.util import find_spec
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


def _modules(*names: str) -> list[str]:
    return [
        f"airflow_provider_mediajobs.{name}"
        for name in names
        if find_spec(f"airflow_provider_mediajobs.{name}")
    ]


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
    }
    for section, module in (("sensors", "sensors"), ("operators", "operators"), ("triggers", "triggers")):
        if modules := _modules(module):
            info[section] = [{"integration-name": name, "python-modules": modules} for name in _INTEGRATIONS]
    return info
