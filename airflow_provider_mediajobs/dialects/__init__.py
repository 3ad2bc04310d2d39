"""Provider dialects: everything specific to one provider's API, and the registry of them.

Adding a provider is one new module with a :class:`~.base.Dialect` subclass and one line in
:data:`DIALECTS` (plus its hook class and connection form in ``get_provider_info``).
"""

from __future__ import annotations

from airflow_provider_mediajobs.dialects.base import (
    ApiRequest,
    ApiResponse,
    CallContext,
    Credentials,
    Dialect,
)
from airflow_provider_mediajobs.dialects.goenhance import GoEnhanceDialect
from airflow_provider_mediajobs.dialects.tensorart import TensorArtDialect
from airflow_provider_mediajobs.dialects.tensorpix import TensorPixDialect
from airflow_provider_mediajobs.dialects.vozo import VozoDialect
from airflow_provider_mediajobs.exceptions import MediaJobConfigError

DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect
    for dialect in (GoEnhanceDialect(), TensorArtDialect(), VozoDialect(), TensorPixDialect())
}


def get_dialect(provider: str) -> Dialect:
    try:
        return DIALECTS[provider]
    except KeyError:
        raise MediaJobConfigError(
            f"Unknown media-job provider {provider!r}; expected one of {sorted(DIALECTS)}."
        ) from None


__all__ = ["DIALECTS", "ApiRequest", "ApiResponse", "CallContext", "Credentials", "Dialect", "get_dialect"]
