"""What every emulated provider declares: its routes, auth, key, job kinds, ids and error shapes.

The emulator serves one :class:`Provider` per registered provider whose
:class:`~airflow_provider_mediajobs.dialects.registry.ProviderSpec` names an ``emulator`` class;
nothing outside the provider's module knows its name (see docs/emulator.md, "Adding a provider").
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from ..auth import scheme_key
from ..runtime import Ctx, RouteSpec

if TYPE_CHECKING:
    from ..auth import Credentials


class Provider:
    """One emulated API. Subclasses set the class attributes and implement routes and error shapes."""

    auth_scheme: str = "Bearer"
    """``Authorization: <auth_scheme> <key>`` is what :meth:`authenticate` accepts."""
    default_key: str = ""
    """The key accepted unless ``--api-key PROVIDER=KEY`` replaces it (default: ``<name>-emulator-key``)."""
    kinds: tuple[str, ...] = ("default",)
    """Job kinds (script field ``kind``); the first is the default."""
    default_outputs: Mapping[str, tuple[str, ...]] = {}
    """Output kinds of each job kind when not scripted (``image``, ``video``, ``audio``, ``subtitle``)."""
    integer_ids: bool = False
    """Job and upload ids are integers (sequential) instead of strings."""
    success_statuses: tuple[str, ...] = ()
    """Spellings the provider's terminal success may take (first: the default); the script field and
    option ``success_status`` choose one. Empty: not configurable."""

    def __init__(self, name: str) -> None:
        self.name = name
        if not self.default_key:
            self.default_key = f"{name}-emulator-key"

    def routes(self) -> list[RouteSpec]:
        raise NotImplementedError

    def new_job_id(self, rng: random.Random, last: str | None) -> str:
        """A fresh job id (``last``: the previous one made for this provider, for sequential ids)."""
        if self.integer_ids:
            return str(int(last) + 1 + rng.randrange(7) if last else 100_000 + rng.randrange(900_000))
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def native_id(self, job_id: str) -> int | str:
        """The id as the provider's JSON carries it."""
        return int(job_id) if self.integer_ids else job_id

    def credentials(self, creds: Credentials) -> dict[str, Any]:
        """What a client needs to call this provider (``GET /_emulator/credentials``)."""
        return {"api_key": creds.keys[self.name]}

    def signed_connection(self, creds: Credentials) -> dict[str, Any] | None:
        """Connection extra for signing instead of a key (``Emulator.connection(signature=True)``)."""
        return None

    def authenticate(self, ctx: Ctx) -> tuple[str | None, str]:
        """(identity used for rate limiting, or ``None`` when refused; the reason when refused)."""
        key = ctx.rt.creds.keys[self.name]
        header = ctx.request.headers.get("authorization")
        if not header:
            return None, "missing Authorization header"
        if scheme_key(header, self.auth_scheme, key):
            return key, ""
        return None, "invalid key"

    def unauthorized(self, reason: str) -> Response:
        raise NotImplementedError

    def error(self, status: int, message: str, retry_after: int | None = None) -> Response:
        """A failure with ``status`` in this provider's error shape (adds ``Retry-After`` when given)."""
        raise NotImplementedError

    def not_found(self) -> Response:
        return self.error(404, "not found")

    def method_not_allowed(self, method: str, allowed: list[str]) -> Response:
        """A known path called with a method it does not serve (checked after auth and rate limit)."""
        response = self.error(405, f"method {method} not allowed")
        response.headers["Allow"] = ", ".join(allowed)
        return response


def retry_headers(retry_after: int | None) -> dict[str, str] | None:
    return None if retry_after is None else {"Retry-After": str(max(1, retry_after))}
