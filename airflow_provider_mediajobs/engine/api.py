"""Operations on one provider connection, sync and async, over one parser per provider.

:class:`JobApi` is what the hooks delegate to: read a job, create one, cancel one, test the
connection. Retries (capped exponential backoff with jitter, Retry-After honoured) apply to reads
and to requests that are safe to repeat; a create is retried only when the provider is known not
to have acted on it (429) or its spec says creates are idempotent (``idempotent_create``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from airflow_provider_mediajobs.dialects.base import Dialect
from airflow_provider_mediajobs.dialects.inputs import check_create, payload_hint
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext
from airflow_provider_mediajobs.engine.config import ApiConfig
from airflow_provider_mediajobs.engine.ratelimit import limiter_for
from airflow_provider_mediajobs.engine.retry import RETRYABLE, RetryPolicy, retry_after_of
from airflow_provider_mediajobs.engine.transport import (
    ClientLease,
    SharedClient,
    prepare,
    send_async,
    send_prepared,
    send_sync,
)
from airflow_provider_mediajobs.exceptions import MediaJobApiError, MediaJobRateLimitedError
from airflow_provider_mediajobs.models import MediaJob

if TYPE_CHECKING:
    import requests

T = TypeVar("T")


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One request, ready to send: what it asks, how its answer is read, which errors it retries."""

    request: ApiRequest
    parse: Callable[[ApiResponse, CallContext], T]
    ctx: CallContext
    retry_on: tuple[type[Exception], ...] = RETRYABLE


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

    def call(self, session: requests.Session, op: Operation[T], *, attempts: int | None = None) -> T:
        def once() -> T:
            return op.parse(send_sync(session, self.dialect, self.config, op.request, op.ctx), op.ctx)

        return self._policy(attempts, op.retry_on).call(once)

    async def acall(self, op: Operation[T], *, attempts: int | None = None) -> T:
        """The async twin of :meth:`call`: same policy, plus the connection's shared rate limit."""
        policy, limiter = self._policy(attempts, op.retry_on), self._limiter()
        async with ClientLease(self.config) as client:

            async def once() -> T:
                if limiter is not None:
                    await limiter.acquire()
                try:
                    response = await send_async(client, self.dialect, self.config, op.request, op.ctx)
                    return op.parse(response, op.ctx)
                except MediaJobRateLimitedError as err:
                    _push_back(limiter, err)
                    raise

            return await policy.acall(once)

    def _limiter(self) -> Any:
        config = self.config
        return limiter_for(config.conn_id, config.base_url, config.rate_limit) if config.rate_limit else None

    # ---- operations ------------------------------------------------------------------------
    def _status(self, job_id: object, kind: str | None) -> Operation[MediaJob]:
        ctx = self.config.context(None if job_id is None else str(job_id))
        safe_id = self.dialect.validate_job_id(job_id, ctx)
        kind = self.dialect.normalize_kind(kind, ctx)

        def parse(response: ApiResponse, c: CallContext) -> MediaJob:
            return self.dialect.read_status(safe_id, kind, response, c)

        return Operation(self.dialect.status_request(safe_id, kind), parse, ctx)

    def get_job(
        self, session: requests.Session, job_id: object, kind: str | None = None, attempts: int | None = None
    ) -> MediaJob:
        return self.call(session, self._status(job_id, kind), attempts=attempts)

    def status_read(self, client: SharedClient, job_id: object, kind: str | None = None) -> StatusRead:
        """``job_id``'s status read on the leased ``client``, prepared once for a whole wait."""
        return StatusRead(self, client, job_id, kind)

    def policy(self, attempts: int | None = None) -> RetryPolicy:
        """The retry policy of a single status read outside a wait (a wait retries by itself)."""
        return self._policy(attempts, RETRYABLE)

    def _create(self, kind: str | None, payload: Mapping[str, Any], request_id: str | None) -> Operation[str]:
        ctx = self.config.context()
        kind = self.dialect.normalize_kind(kind, ctx)
        check_create(self.dialect, kind, payload, ctx)
        request = self.dialect.create_request(kind, payload, request_id)

        def parse(response: ApiResponse, c: CallContext) -> str:
            try:
                return self.dialect.parse_create(kind, response, c)
            except MediaJobApiError as err:  # a refused create: say where a working payload is shown
                raise c.error(
                    type(err),
                    err.detail,
                    status_code=err.http_status,
                    hint=f"If it names a field, fix the payload: {payload_hint(self.dialect, kind)} "
                    f"{err.hint}",
                ) from None

        idempotent = self.dialect.idempotent_create and request_id is not None
        retry_on: tuple[type[Exception], ...] = RETRYABLE if idempotent else (MediaJobRateLimitedError,)
        return Operation(request, parse, ctx, retry_on)

    def submit(
        self,
        session: requests.Session,
        payload: Mapping[str, Any],
        kind: str | None = None,
        request_id: str | None = None,
    ) -> str:
        return self.call(session, self._create(kind, payload, request_id))

    def _cancel(self, job_id: object, kind: str | None) -> Operation[bool]:
        ctx = self.config.context(None if job_id is None else str(job_id))
        safe_id = self.dialect.validate_job_id(job_id, ctx)
        request = self.dialect.cancel_request(safe_id, self.dialect.normalize_kind(kind, ctx))
        return Operation(request, self.dialect.parse_cancel, ctx)

    def cancel(self, session: requests.Session, job_id: object, kind: str | None = None) -> bool:
        return self.call(session, self._cancel(job_id, kind))

    async def acancel(self, job_id: object, kind: str | None = None) -> bool:
        return await self.acall(self._cancel(job_id, kind))

    def check_connection(self, session: requests.Session) -> str:
        check = Operation(
            self.dialect.connection_check_request(),
            self.dialect.parse_connection_check,
            self.config.context(),
        )
        return self.call(session, check, attempts=1)


class StatusRead:
    """One job's status read, prepared once for a whole wait; each call sends it once.

    The job id is checked, the kind resolved, the URL parsed and the headers built when the wait
    starts, on the client it leased; a poll only sends the prepared request (signed anew where the
    dialect signs each request) within the one deadline and parses the answer. No retry here: the
    wait decides when to read again.
    """

    __slots__ = ("_api", "_client", "_ctx", "_job_id", "_kind", "_limiter", "_request", "_unsigned", "_url")

    def __init__(self, api: JobApi, client: SharedClient, job_id: object, kind: str | None) -> None:
        dialect, config = api.dialect, api.config
        self._api, self._client = api, client
        self._ctx = ctx = config.context(None if job_id is None else str(job_id))
        self._job_id = dialect.validate_job_id(job_id, ctx)
        self._kind = dialect.normalize_kind(kind, ctx)
        self._limiter = api._limiter()
        request = dialect.status_request(self._job_id, self._kind)
        self._request: httpx.Request | None
        self._unsigned: ApiRequest | None
        self._url: httpx.URL | None
        if dialect.signs_each_request(config.credentials):
            self._request = None
            self._unsigned = request  # signed on every read, sent to the URL parsed here
            self._url = httpx.URL(config.origin + config.base_path + request.path_and_query)
        else:
            shared = None if request.body is not None else (dialect.name, config.credentials.api_key)
            self._request = client.request(prepare(dialect, config, request), shared)
            self._unsigned = self._url = None

    def _signed(self) -> httpx.Request:
        dialect, config = self._api.dialect, self._api.config
        assert self._unsigned is not None and self._url is not None
        headers = prepare(dialect, config, self._unsigned).headers
        return httpx.Request(self._unsigned.method, self._url, headers=headers, content=self._unsigned.body)

    async def __call__(self) -> MediaJob:
        api, limiter = self._api, self._limiter
        if limiter is not None:
            await limiter.acquire()
        request = self._request if self._request is not None else self._signed()
        try:
            response = await send_prepared(self._client, request, api.config, self._ctx)
            return api.dialect.read_status(self._job_id, self._kind, response, self._ctx)
        except MediaJobRateLimitedError as err:
            _push_back(limiter, err)
            raise


def _push_back(limiter: Any, err: MediaJobRateLimitedError) -> None:
    """A 429 pushes back every wait on the connection (when it has a rate limit)."""
    if limiter is not None:
        limiter.pause(retry_after_of(err) or 1.0)
