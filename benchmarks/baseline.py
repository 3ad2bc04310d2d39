"""The baseline: a trigger written the way the dbt Cloud provider writes its trigger and async hook.

``DbtCloudRunJobTrigger.run()`` builds a hook once, then loops ``is_still_running()`` (one status
read) → ``asyncio.sleep(poll_interval)``; once terminal it reads the status *again* to pick the
event. ``DbtCloudHook.get_job_details()`` opens a new ``aiohttp.ClientSession`` for every call,
builds the headers per call and wraps the request in ``tenacity.AsyncRetrying``; no rate limit,
no Retry-After. What is provider-specific (URL, auth header, parsing) comes from this package's
dialects, so the baseline makes exactly the same requests and parses them the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.triggers.base import BaseTrigger, TriggerEvent
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from airflow_provider_mediajobs.dialects.registry import get_dialect
from airflow_provider_mediajobs.dialects.wire import ApiResponse
from airflow_provider_mediajobs.engine.config import ApiConfig, config_from_connection
from airflow_provider_mediajobs.engine.transport import prepare
from airflow_provider_mediajobs.models import MediaJob

try:
    import aiohttp
except ImportError:  # pragma: no cover - reported by the benchmark
    aiohttp = None  # type: ignore[assignment]


class DbtStyleHook:
    def __init__(self, provider: str, conn_id: str, job_kind: str | None, retry_limit: int = 1) -> None:
        self.dialect = get_dialect(provider)
        self.conn_id = conn_id
        self.job_kind = job_kind
        self.retry_args = {
            "stop": stop_after_attempt(retry_limit),
            "wait": wait_exponential(min=1, max=2**retry_limit),
            "retry": retry_if_exception_type(Exception),
            "reraise": True,
        }
        self._config: ApiConfig | None = None
        self.calls = 0

    async def _resolve_connection_async(self) -> ApiConfig:
        if self._config is None:
            conn = await get_async_connection(self.conn_id)
            self._config = config_from_connection(self.dialect, conn, await get_async_extra_dejson(conn))
        return self._config

    async def get_job_details(self, job_id: str) -> MediaJob:
        config = await self._resolve_connection_async()
        ctx = config.context(job_id)
        kind = self.dialect.normalize_kind(self.job_kind, ctx)
        request = self.dialect.status_request(self.dialect.validate_job_id(job_id, ctx), kind)
        prepared = prepare(self.dialect, config, request)  # headers rebuilt per call, like _get_headers()
        timeout = aiohttp.ClientTimeout(total=config.timeout)
        self.calls += 1
        async with aiohttp.ClientSession(headers=prepared.headers, timeout=timeout) as session:
            async for attempt in AsyncRetrying(**self.retry_args):
                with attempt:
                    async with session.request(prepared.method, prepared.url, data=prepared.body) as response:
                        body = await response.read()
                        headers = {k.lower(): v for k, v in response.headers.items()}
                        return self.dialect.parse_status(
                            job_id, kind, ApiResponse(response.status, body, headers), ctx
                        )
        raise AssertionError("unreachable")

    async def get_job_status(self, job_id: str) -> MediaJob:
        return await self.get_job_details(job_id)


class DbtStyleTrigger(BaseTrigger):
    """Fixed ``poll_interval``, a new HTTP session per poll, status read twice at the end."""

    def __init__(
        self,
        provider: str,
        conn_id: str,
        job_id: str,
        job_kind: str | None,
        poll_interval: float,
        end_time: float,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.conn_id = conn_id
        self.job_id = job_id
        self.job_kind = job_kind
        self.poll_interval = poll_interval
        self.end_time = end_time

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "benchmarks.baseline.DbtStyleTrigger",
            {
                "provider": self.provider,
                "conn_id": self.conn_id,
                "job_id": self.job_id,
                "job_kind": self.job_kind,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = DbtStyleHook(self.provider, self.conn_id, self.job_kind)
        try:
            while await self.is_still_running(hook):
                if self.end_time < time.time():
                    yield TriggerEvent(
                        {
                            "status": "error",
                            "message": "timeout",
                            "job_id": self.job_id,
                            "status_calls": hook.calls,
                        }
                    )
                    return
                await asyncio.sleep(self.poll_interval)
            job = await hook.get_job_status(self.job_id)
            yield TriggerEvent(
                {
                    "status": job.state.value,
                    "job": {"state": job.state.value},
                    "message": "",
                    "job_id": self.job_id,
                    "status_calls": hook.calls,
                }
            )
        except Exception as err:
            yield TriggerEvent(
                {"status": "error", "message": str(err), "job_id": self.job_id, "status_calls": hook.calls}
            )

    async def is_still_running(self, hook: DbtStyleHook) -> bool:
        job = await hook.get_job_status(self.job_id)
        return not job.is_terminal
