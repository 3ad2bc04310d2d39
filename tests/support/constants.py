"""Constants every suite uses, defined once; the provider lists derive from the registry."""

from __future__ import annotations

from airflow_provider_mediajobs.dialects.registry import BUILTIN

#: The built-in providers, in registry order (a provider a test registers is not in it).
PROVIDERS: tuple[str, ...] = tuple(spec.name for spec in BUILTIN)
#: The API key of every unit-test connection; must never appear in logs, XCom or errors.
SENTINEL = "mj-SENTINEL-key-7f3a9c0d41"
#: The test TAMS endpoint (TAMS has no default: every app has its own).
TAMS_HOST = "https://tams.example"
#: Each provider's base URL as the dialects build it for the default test connections.
BASE_URLS: dict[str, str] = {spec.name: spec.default_base_url or TAMS_HOST for spec in BUILTIN}
#: Each provider's default connection id.
CONN_IDS: dict[str, str] = {spec.name: spec.default_conn_id for spec in BUILTIN}
