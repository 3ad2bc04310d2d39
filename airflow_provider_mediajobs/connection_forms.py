"""The four connection forms, as data: one source for both ways Airflow renders them.

Airflow 3.2+ reads ``conn-fields`` / ``ui-field-behaviour`` from :func:`get_provider_info`
without importing hooks; Airflow 3.1 calls the hook classmethods, which build their widgets from
the same definitions (see :mod:`airflow_provider_mediajobs.hooks.base`). Pure data: importing this
module costs nothing.
"""

from __future__ import annotations

from typing import Any

_COMMON_FIELDS: dict[str, dict[str, Any]] = {
    "rate_limit": {
        "label": "Rate limit (requests/second)",
        "description": "Status and create calls per second shared by every wait on this connection in one "
        "triggerer. Empty = the provider's documented limit (TensorArt: 5), 0 = no limit.",
        "schema": {"type": ["number", "null"], "minimum": 0},
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "description": "How long one HTTP request may take before it counts as a transient failure. Default 30.",
        "schema": {"type": ["number", "null"], "minimum": 1},
    },
}

FORMS: dict[str, dict[str, Any]] = {
    "goenhance": {
        "hook-class-name": "airflow_provider_mediajobs.hooks.goenhance.GoEnhanceHook",
        "hook-name": "GoEnhance",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login", "extra"],
            "relabeling": {"host": "Base URL", "password": "API key"},
            "placeholders": {"host": "https://api.goenhance.ai (default)", "password": "sk-..."},
        },
        "conn-fields": dict(_COMMON_FIELDS),
    },
    "tensorart": {
        "hook-class-name": "airflow_provider_mediajobs.hooks.tensorart.TensorArtHook",
        "hook-name": "TensorArt TAMS",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login", "extra"],
            "relabeling": {"host": "Application endpoint", "password": "API key (Bearer mode)"},
            "placeholders": {
                "host": "https://ap-east-1.tensorart.cloud (from the TAMS console)",
                "password": "leave empty when signing with an app id + private key",
            },
        },
        "conn-fields": {
            "app_id": {
                "label": "App ID",
                "description": "The application's id from the TAMS console (signature mode).",
                "schema": {"type": ["string", "null"], "maxLength": 256},
            },
            "private_key": {
                "label": "Private key (PEM)",
                "description": "RSA private key whose public key is uploaded to TAMS; PKCS#1 or PKCS#8, "
                "unencrypted. When set, every request is signed (TAMS-SHA256-RSA) instead of using the API key.",
                "schema": {"type": ["string", "null"], "format": "password"},
            },
            **_COMMON_FIELDS,
        },
    },
    "vozo": {
        "hook-class-name": "airflow_provider_mediajobs.hooks.vozo.VozoHook",
        "hook-name": "Vozo",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login", "extra"],
            "relabeling": {"host": "Base URL", "password": "API key"},
            "placeholders": {"host": "https://api.vozo.ai (default)", "password": "Vozo API key"},
        },
        "conn-fields": dict(_COMMON_FIELDS),
    },
    "tensorpix": {
        "hook-class-name": "airflow_provider_mediajobs.hooks.tensorpix.TensorPixHook",
        "hook-name": "TensorPix",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login", "extra"],
            "relabeling": {"host": "Base URL", "password": "API key"},
            "placeholders": {
                "host": "https://backend.tensorpix.ai (default)",
                "password": "key from Settings > For Developers",
            },
        },
        "conn-fields": dict(_COMMON_FIELDS),
    },
}


def connection_types() -> list[dict[str, Any]]:
    return [{"connection-type": conn_type, **form} for conn_type, form in FORMS.items()]
