"""Persist a finished job's outputs before their signed URLs expire.

Output URLs are short-lived (hours, some re-signed on every read; see docs/outputs.md per
provider): a pipeline that hands raw URLs to tomorrow's task breaks. This operator
reads the job again right before downloading (fresh URLs), streams every output into any
Airflow object storage destination (``file://``, ``s3://``, ``gs://``, ...) and returns what it
wrote. See ``docs/outputs.md``.
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

from airflow_provider_mediajobs import lineage
from airflow_provider_mediajobs.dialects.registry import get_spec, hook_class, provider_of_connection
from airflow_provider_mediajobs.exceptions import (
    JobNotSucceededError,
    MediaJobBadResponseError,
    MediaJobCanceledError,
    MediaJobConfigError,
    MediaJobError,
    MediaJobFailedError,
    MediaJobTransientError,
    NoOutputsError,
    OutputExpiredError,
)
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput
from airflow_provider_mediajobs.operators.destinations import as_storage_path, destination_uri
from airflow_provider_mediajobs.operators.filenames import (
    DEFAULT_TEMPLATE,
    extension_for,
    output_filenames,
    url_extension,
)
from airflow_provider_mediajobs.plugins.links import MediaLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_mediajobs.dialects.base import CallContext
    from airflow_provider_mediajobs.engine.download import Downloaded
    from airflow_provider_mediajobs.hooks import MediaJobHook

# The HTTP engine (aiohttp), the dialects and the hooks are imported when the task runs, not when
# a DAG file using this operator is parsed (the DAG processor parses every file every few seconds).

EXPIRY_MARGIN_SECONDS = 60.0
JOB_KEY = "media_job"  # XCom: {provider, job_id} of the job whose outputs the task persists

# the download retries' sleep, indirect so tests can skip the real backoff without patching time.sleep
_sleep = time.sleep


class MediaJobOutputsOperator(BaseOperator):
    """Download every output of a succeeded job into ``destination``.

    :param job_id: the job id (templated), or the job dict a sensor / submit operator returned
        (e.g. ``wait.output``); a job dict also tells the provider and job kind.
    :param destination: an ``ObjectStoragePath`` or URL string (``file:///data/renders``,
        ``s3://aws_conn@bucket/renders``; a plain path is a local folder, created if missing).
        Templated.
    :param conn_id: the provider connection (default: the provider's default connection).
    :param provider: needed only when ``job_id`` is a bare id and ``conn_id`` is not given.
    :param job_kind: the provider's job family where it has several (its dialect's ``job_kinds``).
    :param filename_template: ``str.format`` template with ``provider``, ``job_id``, ``index``,
        ``kind``, ``name`` (the output's own name, cleaned) and ``ext`` (with the dot). Templated.
    :param max_bytes: refuse any single output larger than this (nothing is written for it): a
        number of bytes for every output, or a mapping by kind (``{"video": 20 * 2**30}``, merged
        over the defaults). Default: 4 GiB per video, 1 GiB per audio or other file, 256 MiB per
        image.
    :param overwrite: replace an existing file whose content differs. Identical files are always
        skipped (``skipped: true`` in the result); without ``overwrite`` a different existing
        file fails the task.
    :param asset: record an Airflow Asset event for the destination (adds
        ``Asset(<destination URI>)`` to ``outlets``; needs a literal, non-templated destination).
        Any ``Asset`` in ``outlets`` gets the files written as its event's ``extra``.
    :param download_timeout: seconds without progress before one download is abandoned.
    :param download_deadline: seconds one whole download may take (default 2 hours; None = none).
    :param allow_private_hosts: let downloads reach loopback, private and other non-public
        addresses (an emulator, an in-house store). None (default) = the connection's
        ``allow_private_hosts`` extra, which defaults to false.
    :param attempts_per_file: attempts per output for transient failures (5xx, 429, resets,
        truncated bodies), with capped exponential backoff.
    :param progress_interval: seconds between progress log lines of one download (default 30).

    Returns (XCom) one ``{url, path, bytes, sha256, content_type, kind, skipped}`` per output,
    in the provider's order; ``url`` is the source without its signature, ``path`` the written
    object's URI (``ObjectStoragePath(path)`` opens it).
    """

    template_fields: Sequence[str] = (
        "job_id",
        "destination",
        "conn_id",
        "provider",
        "job_kind",
        "filename_template",
    )
    ui_color = "#e4ffe9"
    operator_extra_links = (MediaLink(),)

    def __init__(
        self,
        *,
        job_id: str | int | Mapping[str, Any],
        destination: Any,
        conn_id: str | None = None,
        provider: str | None = None,
        job_kind: str | None = None,
        filename_template: str = DEFAULT_TEMPLATE,
        max_bytes: int | Mapping[str, int] | None = None,
        overwrite: bool = False,
        asset: bool = False,
        download_timeout: float = 300.0,
        download_deadline: float | None = 2 * 3600.0,
        allow_private_hosts: bool | None = None,
        attempts_per_file: int = 3,
        progress_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        if asset:
            kwargs["outlets"] = [*_as_list(kwargs.get("outlets")), Asset(uri=destination_uri(destination))]
        super().__init__(**kwargs)
        limits = max_bytes.values() if isinstance(max_bytes, Mapping) else [max_bytes]
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0) for v in limits):
            raise MediaJobConfigError(
                f"max_bytes must be a number of bytes (or a mapping of kind to bytes), not {max_bytes!r}."
            )
        if download_deadline is not None and not 0 < download_deadline <= 7 * 86400:
            raise MediaJobConfigError(
                f"download_deadline must be seconds in 0..604800 (or None), not {download_deadline!r}."
            )
        self.job_id = job_id
        self.destination = destination
        self.conn_id = conn_id
        self.provider = provider
        self.job_kind = job_kind
        self.filename_template = filename_template
        self.max_bytes = max_bytes
        self.overwrite = overwrite
        self.download_timeout = download_timeout
        self.download_deadline = download_deadline
        self.allow_private_hosts = allow_private_hosts
        self.attempts_per_file = max(1, attempts_per_file)
        self.progress_interval = progress_interval

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Every persisted file as an output dataset; the source job as ``mediaJobs_job``."""
        return lineage.for_outputs(self)

    # ---- inputs -------------------------------------------------------------------------------
    def _target(self) -> tuple[str, str, str | None, str | None]:
        """(provider, job id, kind, conn_id) from a job dict or a bare id."""
        value: Any = self.job_id
        if isinstance(value, str) and value.strip().startswith("{"):
            value = _parse_mapping(value)
        conn_id = self.conn_id or None
        if isinstance(value, Mapping):
            try:
                job = MediaJob.from_dict(value)
            except (KeyError, ValueError, TypeError) as err:
                raise MediaJobConfigError(
                    f"job_id is a dict but not a job ({type(err).__name__}: {err}); pass the id, or the "
                    "dict a media-job sensor or submit operator returned.",
                    conn_id=conn_id,
                ) from None
            if self.provider and self.provider != job.provider:
                raise MediaJobConfigError(
                    f"provider={self.provider!r} but the job dict is a {job.provider!r} job.",
                    provider=job.provider,
                    conn_id=conn_id,
                    job_id=job.job_id,
                )
            conn_id = conn_id or value.get("conn_id") or None
            return job.provider, job.job_id, self.job_kind or job.job_kind, conn_id
        job_id = "" if value is None else str(value).strip()
        if self.provider:
            return self.provider, job_id, self.job_kind, conn_id
        if conn_id is None:
            raise MediaJobConfigError(
                "Pass conn_id (or provider) when job_id is a bare id: the provider is read from the "
                "connection's type.",
                job_id=job_id,
            )
        return provider_of_connection(conn_id), job_id, self.job_kind, conn_id

    def _hook(self, provider: str, kind: str | None, conn_id: str | None) -> MediaJobHook:
        kinds = get_spec(provider).job_kinds
        return hook_class(provider)(conn_id=conn_id, job_kind=kind if kind in kinds else None)

    # ---- the work -----------------------------------------------------------------------------
    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_provider_mediajobs.engine.download import output_client
        from airflow_provider_mediajobs.engine.transport import USER_AGENT, shared_ssl_context

        provider, job_id, kind, conn_id = self._target()
        # which job these files are of: the Media view puts them on that job's card
        context["ti"].xcom_push(key=JOB_KEY, value={"provider": provider, "job_id": job_id})
        hook = self._hook(provider, kind, conn_id)
        ctx = hook.config.context(job_id)
        destination = self._destination(ctx)  # before any request: a bad destination costs nothing
        job = self._fresh(hook, job_id)
        names = output_filenames(self.filename_template, job, ctx)
        results: list[Downloaded] = []
        allow_private = self.allow_private_hosts
        if allow_private is None:
            allow_private = hook.config.allow_private_hosts
        with output_client(
            self.download_timeout, ctx, USER_AGENT, shared_ssl_context(), allow_private=allow_private
        ) as client:
            for index, name in enumerate(names):
                done, job = self._one(client, hook, job, index, destination / name, ctx)
                results.append(done)
                verb = "unchanged, skipped" if done.skipped else "written"
                self.log.info("%s (%d bytes, sha256 %s) %s", done.path, done.bytes, done.sha256[:12], verb)
        self._lineage_job, self._lineage_files = job, results  # what OpenLineage's events describe
        written = sum(not r.skipped for r in results)
        self.log.info(
            "%d output(s) of %s job %s in %s: %d written, %d unchanged.",
            len(results),
            provider,
            job_id,
            destination,
            written,
            len(results) - written,
        )
        self._record_asset_events(context, job, hook.conn_id, results)
        return [r.to_dict() for r in results]

    def _destination(self, ctx: CallContext) -> Any:
        from airflow_provider_mediajobs.engine.storage import is_local

        try:
            destination = as_storage_path(self.destination)
            fs = destination.fs  # resolves the store (and its Airflow connection) now
            if is_local(destination):
                fs.makedirs(destination.path, exist_ok=True)
        except MediaJobError:
            raise
        except Exception as err:
            ctx.fail(
                MediaJobConfigError,
                f"destination {str(self.destination)!r} cannot be used ({type(err).__name__}: {str(err)[:200]}).",
                hint=(
                    "Use a local folder or an object storage URL whose Airflow provider is installed "
                    "(s3:// needs apache-airflow-providers-amazon, gs:// -google, abfs:// -microsoft-azure)."
                ),
            )
        return destination

    def _record_asset_events(
        self, context: Context, job: MediaJob, conn_id: str, results: list[Downloaded]
    ) -> None:
        """Describe the files in the ``extra`` of every Asset outlet's event."""
        events = context.get("outlet_events") if isinstance(context, Mapping) else None
        if events is None or not self.outlets:
            return
        extra: dict[str, Any] = {
            "provider": job.provider,
            "conn_id": conn_id,
            "job_id": job.job_id,
            "files": [
                {"path": r.path, "bytes": r.bytes, "sha256": r.sha256, "kind": r.kind, "skipped": r.skipped}
                for r in results
            ],
        }
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                events[outlet].extra.update(extra)

    def _fresh(self, hook: MediaJobHook, job_id: str) -> MediaJob:
        """Read the job now (fresh URLs); fail clearly unless it succeeded with outputs."""
        job = hook.get_job(job_id)
        where: dict[str, Any] = {"provider": job.provider, "conn_id": hook.conn_id, "job_id": job.job_id}
        if job.state is JobState.FAILED:
            raise MediaJobFailedError(
                "Job failed, there are no outputs to persist" + (f": {job.error}" if job.error else "."),
                job=job,
                **where,
            )
        if job.state is JobState.CANCELED:
            raise MediaJobCanceledError(
                "Job was canceled, there are no outputs to persist.", job=job, **where
            )
        if job.state is not JobState.SUCCEEDED:
            raise JobNotSucceededError(
                f"Job is {job.describe().split(': ', 1)[-1]}, not succeeded: it has no outputs yet.", **where
            )
        if not job.outputs:
            raise NoOutputsError(
                "Job succeeded but the provider lists no usable output URL (any the URL policy "
                "refused are logged above with the reason).",
                **where,
            )
        return job

    def _one(
        self,
        client: Any,
        hook: MediaJobHook,
        job: MediaJob,
        index: int,
        target: Any,
        ctx: CallContext,
    ) -> tuple[Downloaded, MediaJob]:
        """Persist output ``index``; an expired URL is refreshed by one more read of the job."""
        refreshed = False
        if job.outputs[index].is_expired(margin_seconds=EXPIRY_MARGIN_SECONDS):
            self.log.info(
                "Output %d of job %s expires now; reading the job for a fresh URL.", index, job.job_id
            )
            job, refreshed = self._refresh(hook, job, index, ctx), True
        while True:
            output = job.outputs[index]
            try:
                return self._download_with_retries(client, output, target, ctx), job
            except OutputExpiredError:
                if refreshed:
                    raise
                from airflow_provider_mediajobs.engine.urls import shown_url

                self.log.info(
                    "Output %d of job %s: %s refused the signed URL (expired); reading the job again.",
                    index,
                    job.job_id,
                    shown_url(output.url),
                )
                job, refreshed = self._refresh(hook, job, index, ctx), True

    def _refresh(self, hook: MediaJobHook, job: MediaJob, index: int, ctx: CallContext) -> MediaJob:
        fresh = self._fresh(hook, job.job_id)
        if len(fresh.outputs) != len(job.outputs):
            ctx.fail(
                MediaJobBadResponseError,
                f"The job listed {len(job.outputs)} output(s) and now lists {len(fresh.outputs)}; "
                "refusing to guess which is which.",
                hint="Run the task again.",
            )
        return fresh

    def _download_with_retries(
        self, client: Any, output: MediaOutput, target: Any, ctx: CallContext
    ) -> Downloaded:
        from airflow_provider_mediajobs.engine.download import DEFAULT_PROGRESS_INTERVAL, download
        from airflow_provider_mediajobs.engine.retry import RetryPolicy

        def on_retry(attempt: int, err: Exception, delay: float) -> None:
            summary = err.detail if isinstance(err, MediaJobError) else type(err).__name__
            self.log.warning(
                "Attempt %d of %d: %s Retrying in %.1fs.", attempt, self.attempts_per_file, summary, delay
            )

        def once() -> Downloaded:
            return download(
                client,
                output.url,
                target,
                kind=output.kind.value,
                ctx=ctx,
                max_bytes=self.max_bytes,
                deadline=self.download_deadline,
                overwrite=self.overwrite,
                progress_interval=(
                    DEFAULT_PROGRESS_INTERVAL if self.progress_interval is None else self.progress_interval
                ),
                logger=self.log,
                abandoned_after=self.download_timeout,
                rename_for=None if url_extension(output) else _extension_from_content_type,
            )

        policy = RetryPolicy(attempts=self.attempts_per_file, cap=60.0, retry_on=(MediaJobTransientError,))
        return policy.call(once, sleep=lambda seconds: _sleep(seconds), on_retry=on_retry)


def _extension_from_content_type(target: Any, content_type: str | None) -> Any:
    """``target`` with the extension of the answer's content type in place of the kind's guess
    (the output URL gave none); unchanged when the type tells nothing or the name has no suffix."""
    ext = extension_for(content_type)
    suffix = target.suffix
    if not ext or not suffix or suffix.lower() == ext:
        return target
    return target.with_name(target.name[: -len(suffix)] + ext)


# ---- the job input ------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _parse_mapping(text: str) -> Any:
    """A job dict rendered into a string: JSON, or a Python literal (``{{ ti.xcom_pull(...) }}``)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise MediaJobConfigError(
            "job_id looks like a dict but is neither JSON nor a Python literal; pass the sensor's "
            "output (e.g. job_id=wait.output) or a bare id."
        ) from None


__all__ = ["MediaJobOutputsOperator"]
