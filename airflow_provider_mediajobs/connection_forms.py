"""The connection forms, derived from the registry: one source for both ways Airflow renders them.

Airflow 3.2+ reads ``conn-fields`` / ``ui-field-behaviour`` from :func:`get_provider_info`
without importing hooks; Airflow 3.1 calls the hook classmethods, which build their widgets from
the same definitions (see :mod:`airflow_provider_mediajobs.hooks.base`). Standard library and
the registry only: Airflow reads this while it is still importing itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from airflow_provider_mediajobs.dialects.registry import ProviderSpec, get_spec, specs

HIDDEN_FIELDS = ("schema", "port", "login", "extra")
#: Fields every provider's form has after its own ones (``rate_limit``'s description names the
#: provider's documented limit: :func:`_rate_limit_field`).
COMMON_FIELDS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "rate_limit": {
            "label": "Rate limit (requests/second)",
            "schema": {"type": ["number", "null"], "minimum": 0},
        },
        "timeout": {
            "label": "Request timeout (seconds)",
            "description": "How long one HTTP request may take before it counts as a transient failure. "
            "Default 30.",
            "schema": {"type": ["number", "null"], "minimum": 1},
        },
    }
)


def form_keys(spec: ProviderSpec) -> tuple[str, ...]:
    """Every key a provider's connection form stores in the extra (its fields, then the common ones)."""
    return (*spec.fields, *COMMON_FIELDS)


def _rate_limit_field(spec: ProviderSpec) -> dict[str, Any]:
    field = dict(COMMON_FIELDS["rate_limit"])
    limit = spec.default_rate_limit
    default = f"{limit:g}, the documented limit" if limit else "no limit"
    field["description"] = (
        "Status and create calls per second shared by every wait on this connection in one "
        f"triggerer. Empty = {default}; 0 = no limit."
    )
    return field


def form(spec: ProviderSpec) -> dict[str, Any]:
    """One provider's ``connection-types`` entry of the provider info (without the type key)."""
    fields = {name: dict(value) for name, value in spec.fields.items()}
    fields.update({name: dict(value) for name, value in COMMON_FIELDS.items()})
    fields["rate_limit"] = _rate_limit_field(spec)
    return {
        "hook-class-name": spec.hook,
        "hook-name": spec.display_name,
        "ui-field-behaviour": {
            "hidden-fields": list(HIDDEN_FIELDS),
            "relabeling": {"host": spec.host_label, "password": spec.key_label},
            "placeholders": {"host": spec.host_placeholder, "password": spec.key_placeholder},
        },
        "conn-fields": fields,
    }


def forms() -> dict[str, dict[str, Any]]:
    """Every registered provider's form, by connection type."""
    return {spec.conn_type: form(spec) for spec in specs()}


def empty_extra(conn_type: str) -> dict[str, Any]:
    """Every form key of ``conn_type`` set to None: merge a connection's values over this.

    Airflow 3.3's connection edit form keeps a declared field only when the stored extra already
    has its key, so a connection stored without ``rate_limit`` (by the CLI, the REST API, an
    ``AIRFLOW_CONN_*`` variable) would lose that field the first time someone edits it.
    """
    return dict.fromkeys(form_keys(get_spec(conn_type)))


def connection_types() -> list[dict[str, Any]]:
    return [{"connection-type": conn_type, **entry} for conn_type, entry in forms().items()]
