"""Operations on one provider connection, sync and async, over one parser per provider.

:class:`JobApi` is what the hooks delegate to: read a job, create one, cancel one, test the
connection. Retries (capped exponential backoff with jitter, Retry-After honoured) apply to reads
and to requests that are safe to repeat; a create is retried only when the provider is known not
to have acted on it (429) or its spec says creates are idempotent (``idempotent_create``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_mediajobs.dialects.base import ApiRequest, ApiResponse, CallContext, Dialect
from airflow_provider_mediajobs.engine.config import ApiConfig
from airflow_provider_mediajobs.engine.ratelimit import limiter_for
from airflow_provider_mediajobs.engine.retry import RETRYABLE, RetryPolicy, retry_after_of
from airflow_provider_mediajobs.engine.transport import ClientLease, send_async, send_sync
from airflow_provider_mediajobs.exceptions import MediaJobApiError, MediaJobRateLimitedError
from airflow_provider_mediajobs.models import MediaJob

if TYPE_CHECKING:
    import requests

T = TypeVar("T")


class JobApi:
    def __init__(
        self,
        dialect: Dialect,
        config: ApiConfig,
        *,
        attempts: int = 3,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
    ) -> None:
        self.dialect = dialect
        self.config = config
        self.attempts = max(1, attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap

    # ---- building blocks -------------------------------------------------------------------
    def _policy(self, attempts: int | None, retry_on: tuple[type[Exception], ...]) -> RetryPolicy:
        return RetryPolicy(
            attempts=max(1, attempts or self.attempts),
            base=self.backoff_base,
            cap=self.backoff_cap,
            retry_on=retry_on,
        )

    def call(
        self,
        session: requests.Session,
        request: ApiRequest,
        parse: Callable[[ApiResponse, CallContext], T],
        ctx: CallContext,
        *,
        attempts: int | None = None,
        retry_on: tuple[type[Exception], ...] = RETRYABLE,
    ) -> T:
        def once() -> T:
            return parse(send_sync(session, self.dialect, self.config, request, ctx), ctx)

        return self._policy(attempts, retry_on).call(once)

    async def acall(
        self,
        request: ApiRequest,
        parse: Callable[[ApiResponse, CallContext], T],
        ctx: CallContext,
        *,
        attempts: int | None = None,
        retry_on: tuple[type[Exception], ...] = RETRYABLE,
    ) -> T:
        """The async twin of :meth:`call`: same policy, plus the connection's shared rate limit."""
        return await self._asend(request, parse, ctx, self._policy(attempts, retry_on), self._limiter())

    def _limiter(self) -> Any:
        config = self.config
        return limiter_for(config.conn_id, config.base_url, config.rate_limit) if config.rate_limit else None

    async def _asend(
        self,
        request: ApiRequest,
        parse: Callable[[ApiResponse, CallContext], T],
        ctx: CallContext,
        policy: RetryPolicy,
        limiter: Any,
    ) -> T:
        async with ClientLease(self.config) as client:

            async def once() -> T:
                if limiter is not None:
                    await limiter.acquire()
                try:
                    return parse(await send_async(client, self.dialect, self.config, request, ctx), ctx)
                except MediaJobRateLimitedError as err:
                    if limiter is not None:  # a 429 pushes back every wait on this connection
                        limiter.pause(retry_after_of(err) or 1.0)
                    raise

            return await policy.acall(once)

    # ---- operations ------------------------------------------------------------------------
    def _status(
        self, job_id: object, kind: str | None
    ) -> tuple[ApiRequest, Callable[..., MediaJob], CallContext]:
        ctx = self.config.context(None if job_id is None else str(job_id))
        safe_id = self.dialect.validate_job_id(job_id, ctx)
        kind = self.dialect.normalize_kind(kind, ctx)

        def parse(response: ApiResponse, c: CallContext) -> MediaJob:
            return self.dialect.read_status(safe_id, kind, response, c)

        return self.dialect.status_request(safe_id, kind), parse, ctx

    def get_job(
        self, session: requests.Session, job_id: object, kind: str | None = None, attempts: int | None = None
    ) -> MediaJob:
        request, parse, ctx = self._status(job_id, kind)
        return self.call(session, request, parse, ctx, attempts=attempts)

    async def aget_job(
        self, job_id: object, kind: str | None = None, attempts: int | None = None
    ) -> MediaJob:
        return await self.status_reader(job_id, kind, attempts)()

    def status_reader(
        self, job_id: object, kind: str | None = None, attempts: int | None = None
    ) -> Callable[[], Awaitable[MediaJob]]:
        """One job's async status read with its id check, request, parser, policy and rate limiter
        prepared once: a wait's poll loop calls it on every read."""
        request, parse, ctx = self._status(job_id, kind)
        policy, limiter = self._policy(attempts, RETRYABLE), self._limiter()

        def read() -> Awaitable[MediaJob]:
            return self._asend(request, parse, ctx, policy, limiter)

        return read

    def _create(
        self, kind: str | None, payload: Mapping[str, Any], request_id: str | None
    ) -> tuple[ApiRequest, Callable[..., str], CallContext, tuple[type[Exception], ...]]:
        ctx = self.config.context()
        kind = self.dialect.normalize_kind(kind, ctx)
        self.dialect.check_create(kind, payload, ctx)
        request = self.dialect.create_request(kind, payload, request_id)

        def parse(response: ApiResponse, c: CallContext) -> str:
            try:
                return self.dialect.parse_create(kind, response, c)
            except MediaJobApiError as err:  # a refused create: say where a working payload is shown
                raise c.error(
                    type(err),
                    err.detail,
                    status_code=err.http_status,
                    hint=f"If it names a field, fix the payload: {self.dialect.payload_hint(kind)} "
                    f"{err.hint}",
                ) from None

        idempotent = self.dialect.idempotent_create and request_id is not None
        retry_on: tuple[type[Exception], ...] = RETRYABLE if idempotent else (MediaJobRateLimitedError,)
        return request, parse, ctx, retry_on

    def submit(
        self,
        session: requests.Session,
        payload: Mapping[str, Any],
        kind: str | None = None,
        request_id: str | None = None,
    ) -> str:
        request, parse, ctx, retry_on = self._create(kind, payload, request_id)
        return self.call(session, request, parse, ctx, retry_on=retry_on)

    def _cancel(self, job_id: object, kind: str | None) -> tuple[ApiRequest, CallContext]:
        ctx = self.config.context(None if job_id is None else str(job_id))
        safe_id = self.dialect.validate_job_id(job_id, ctx)
        return self.dialect.cancel_request(safe_id, self.dialect.normalize_kind(kind, ctx)), ctx

    def cancel(self, session: requests.Session, job_id: object, kind: str | None = None) -> bool:
        request, ctx = self._cancel(job_id, kind)
        return self.call(session, request, self.dialect.parse_cancel, ctx)

    async def acancel(self, job_id: object, kind: str | None = None) -> bool:
        request, ctx = self._cancel(job_id, kind)
        return await self.acall(request, self.dialect.parse_cancel, ctx)

    def check_connection(self, session: requests.Session) -> str:
        return self.call(
            session,
            self.dialect.connection_check_request(),
            self.dialect.parse_connection_check,
            self.config.context(),
            attempts=1,
        )
