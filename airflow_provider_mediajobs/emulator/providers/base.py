"""What every emulated provider offers the dispatcher: routes, auth and its error shapes."""

from __future__ import annotations

from starlette.responses import Response

from ..auth import scheme_key
from ..runtime import Ctx, RouteSpec


class Provider:
    name: str = ""
    auth_scheme: str = "Bearer"

    def routes(self) -> list[RouteSpec]:
        raise NotImplementedError

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


def retry_headers(retry_after: int | None) -> dict[str, str] | None:
    return None if retry_after is None else {"Retry-After": str(max(1, retry_after))}
