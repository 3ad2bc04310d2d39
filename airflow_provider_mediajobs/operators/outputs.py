"""Persist a finished job's outputs before their signed URLs expire.

Output URLs are short-lived (GoEnhance 12 h, TAMS ``expiredIn``, TensorPix re-signed on every
read, Vozo undocumented): a pipeline that hands raw URLs to tomorrow's task breaks. This operator
reads the job again right before downloading (fresh URLs), streams every output into any
Airflow object storage destination (``file://``, ``s3://``, ``gs://``, ...) and returns what it
wrote.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from airflow.sdk import BaseOperator
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from airflow_provider_mediajobs.dialects import get_dialect
from airflow_provider_mediajobs.engine.backoff import backoff_delay
from airflow_provider_mediajobs.engine.download import Downloaded, OutputExpiredError, download
from airflow_provider_mediajobs.engine.transport import USER_AGENT, shared_ssl_context
from airflow_provider_mediajobs.exceptions import (
    MediaJobConfigError,
    MediaJobFailedError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.hooks import MediaJobHook, hook_class
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_TEMPLATE = "{provider}-{job_id}-{index}{ext}"
_EXT_BY_KIND = {"image": ".png", "video": ".mp4", "audio": ".mp3"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _clean(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "output"


class MediaJobOutputsOperator(BaseOperator):
    """Download every output of a succeeded job into ``destination``.

    :param job_id: the job id (templated), or the job dict a sensor/submit operator returned
        (e.g. ``wait.output``); a job dict also tells the provider and job kind.
    :param destination: an ``ObjectStoragePath`` or URL string (``file:///data/renders``,
        ``s3://bucket/renders``; a plain path means a local folder). Templated.
    :param conn_id: the provider connection (defaults to the provider's default connection).
    :param provider: needed only when ``job_id`` is a bare id and ``conn_id`` is not given.
    :param filename_template: ``str.format`` template with ``provider``, ``job_id``, ``index``,
        ``kind``, ``name`` and ``ext``.
    :param max_bytes: refuse any single output larger than this (nothing is written).
    :param overwrite: replace an existing file whose content differs (identical files are
        always skipped and reported as such).
    :param asset: record an Asset event for the destination (sets ``outlets``).

    Returns (XCom) one ``{url, path, bytes, sha256, content_type, kind, skipped}`` per output.
    """

    template_fields: Sequence[str] = ("job_id", "destination", "conn_id", "filename_template")
    ui_color = "#e4ffe9"

    def __init__(
        self,
        *,
        job_id: str | Mapping[str, Any],
        destination: Any,
        conn_id: str | None = None,
        provider: str | None = None,
        job_kind: str | None = None,
        filename_template: str = DEFAULT_TEMPLATE,
        max_bytes: int | None = None,
        overwrite: bool = False,
        download_timeout: float = 300.0,
        attempts_per_file: int = 3,
        asset: bool = False,
        **kwargs: Any,
    ) -> None:
        if asset and "outlets" not in kwargs:
            from airflow.sdk import Asset

            kwargs["outlets"] = [Asset(uri=_as_uri(destination))]
        super().__init__(**kwargs)
        self.job_id = job_id
        self.destination = destination
        self.conn_id = conn_id
        self.provider = provider
        self.job_kind = job_kind
        self.filename_template = filename_template
        self.max_bytes = max_bytes
        self.overwrite = overwrite
        self.download_timeout = download_timeout
        self.attempts_per_file = max(1, attempts_per_file)

    # ---- inputs -------------------------------------------------------------------------------
    def _target(self) -> tuple[str, str, str | None]:
        """(provider, job id, kind) from a job dict or a bare id."""
        value: Any = self.job_id
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)
        if isinstance(value, Mapping):
            job = MediaJob.from_dict(value)
            return self.provider or job.provider, job.job_id, self.job_kind or job.job_kind
        if self.provider is None and self.conn_id is None:
            raise MediaJobConfigError("Pass conn_id or provider when job_id is a bare id.", job_id=str(value))
        return self.provider or self._provider_of_connection(), str(value), self.job_kind

    def _provider_of_connection(self) -> str:
        from airflow.sdk import BaseHook

        return str(BaseHook.get_connection(str(self.conn_id)).conn_type)

    def _hook(self, provider: str, kind: str | None) -> MediaJobHook:
        kinds = get_dialect(provider).job_kinds
        return hook_class(provider)(conn_id=self.conn_id, job_kind=kind if kind in kinds else None)

    def _filename(self, job: MediaJob, index: int, output: MediaOutput) -> str:
        path = PurePosixPath(urlsplit(output.url).path)
        ext = path.suffix.lower() if 1 < len(path.suffix) <= 6 else ""
        ext = ext or _EXT_BY_KIND.get(output.kind.value) or ".bin"
        name = _clean(output.name or path.stem)
        rendered = self.filename_template.format(
            provider=job.provider,
            job_id=_clean(job.job_id),
            index=index,
            kind=output.kind.value,
            name=name,
            ext=ext,
        )
        if "/" in rendered or rendered in (".", "..") or not rendered:
            raise MediaJobConfigError(f"filename_template produced an unsafe name {rendered!r}.")
        return rendered

    # ---- the work -----------------------------------------------------------------------------
    def execute(self, context: Context) -> list[dict[str, Any]]:
        provider, job_id, kind = self._target()
        hook = self._hook(provider, kind)
        job = self._fresh(hook, job_id)
        destination = _as_path(self.destination)
        destination.mkdir(parents=True, exist_ok=True)
        results: list[dict[str, Any]] = []
        with httpx.Client(
            timeout=self.download_timeout,
            follow_redirects=True,
            trust_env=False,
            verify=shared_ssl_context(),
            headers={"User-Agent": USER_AGENT},
        ) as client:
            for index in range(len(job.outputs)):
                done, job = self._one(client, hook, job, index, destination)
                results.append(done.to_dict())
                verb = "unchanged, skipped" if done.skipped else "written"
                self.log.info("%s (%d bytes, sha256 %s) %s", done.path, done.bytes, done.sha256[:12], verb)
        self.log.info(
            "%d output(s) of %s job %s persisted to %s.", len(results), provider, job_id, destination
        )
        return results

    def _fresh(self, hook: MediaJobHook, job_id: str) -> MediaJob:
        job = hook.get_job(job_id)
        if job.state is not JobState.SUCCEEDED:
            raise MediaJobFailedError(
                f"Job is {job.state.value}, not succeeded: there are no outputs to persist"
                + (f" ({job.error})" if job.error else "."),
                job=job,
                provider=job.provider,
                conn_id=hook.conn_id,
                job_id=job_id,
                hint="Wait for the job first (a sensor or submit operator upstream).",
            )
        return job

    def _one(
        self, client: httpx.Client, hook: MediaJobHook, job: MediaJob, index: int, destination: Any
    ) -> tuple[Downloaded, MediaJob]:
        refreshed = False
        if job.outputs[index].is_expired(margin_seconds=60):
            job, refreshed = self._fresh(hook, job.job_id), True
        while True:
            output = job.outputs[index]
            target = destination / self._filename(job, index, output)
            ctx = hook.config.context(job.job_id)
            try:
                for attempt in Retrying(
                    stop=stop_after_attempt(self.attempts_per_file),
                    wait=lambda s: backoff_delay(
                        s.attempt_number,
                        retry_after=getattr(s.outcome.exception(), "retry_after", None)
                        if s.outcome
                        else None,
                    ),
                    retry=retry_if_exception_type((MediaJobTransientError, MediaJobRateLimitedError)),
                    reraise=True,
                ):
                    with attempt:
                        done = download(
                            client,
                            output.url,
                            target,
                            kind=output.kind.value,
                            ctx=ctx,
                            max_bytes=self.max_bytes,
                            overwrite=self.overwrite,
                        )
                return done, job
            except OutputExpiredError:
                if refreshed:
                    raise
                self.log.info(
                    "Output %d of job %s expired; reading the job again for a fresh URL.", index, job.job_id
                )
                job, refreshed = self._fresh(hook, job.job_id), True
                if index >= len(job.outputs):
                    raise


def _as_uri(destination: Any) -> str:
    text = str(destination)
    return text if "://" in text else "file://" + str(PurePosixPath(text))


def _as_path(destination: Any) -> Any:
    from airflow.sdk import ObjectStoragePath

    if isinstance(destination, ObjectStoragePath):
        return destination
    text = str(destination)
    if "://" not in text:
        text = "file://" + os.path.abspath(text)
    return ObjectStoragePath(text)


__all__ = ["MediaJobOutputsOperator"]
