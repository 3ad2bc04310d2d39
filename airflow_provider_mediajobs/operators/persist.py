"""Persist a finished job's outputs before their signed URLs expire: the one persist step.

Two ways run it: :class:`~airflow_provider_mediajobs.operators.outputs.MediaJobOutputsOperator`
(a job started outside the DAG, or by an upstream task), and a submit operator or sensor given
``destination=`` (one task per media job: submit, defer, resume, persist), all through
:class:`~airflow_provider_mediajobs.operators.persist_options.PersistsOutputs`. Both write the same
files, return the same ``{url, path, bytes, sha256, content_type, kind, skipped}`` records and
record the same Asset events, because both call :func:`persist_outputs`.

The engine (download, storage, HTTP) is imported when a task persists, not when a DAG is parsed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset

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
from airflow_provider_mediajobs.operators.destinations import as_storage_path
from airflow_provider_mediajobs.operators.filenames import (
    extension_for,
    output_filenames,
    url_extension,
)

if TYPE_CHECKING:
    from airflow_provider_mediajobs.dialects.wire import CallContext
    from airflow_provider_mediajobs.engine.download import Downloaded
    from airflow_provider_mediajobs.hooks import MediaJobHook
    from airflow_provider_mediajobs.operators.persist_options import PersistOptions

EXPIRY_MARGIN_SECONDS = 60.0

# the download retries' sleep, indirect so tests can skip the real backoff without patching time.sleep
_sleep = time.sleep


def persist_outputs(
    options: PersistOptions,
    hook: MediaJobHook,
    job_id: str,
    *,
    job: MediaJob | None = None,
    log: Any,
    outlets: Iterable[Any] = (),
    outlet_events: Any = None,
) -> tuple[MediaJob, list[dict[str, Any]]]:
    """Download every output of a succeeded job into ``options.destination``; return the records.

    ``job`` is the job as just read (the resume step of a wait has it in the trigger's event): its
    URLs are used unless they are about to expire. Without it the job is read first. A URL that
    expired is refreshed by one more read; a transient download failure is retried with the
    project's retry policy (``attempts_per_file``). Asset outlets get the files in their event.
    Returns the job as last read (its URLs the ones downloaded) and the records.
    """
    from airflow_provider_mediajobs.engine.addresses import output_client
    from airflow_provider_mediajobs.engine.transport import USER_AGENT, shared_ssl_context

    ctx = hook.config.context(job_id)
    destination = _destination(options.destination, ctx)  # before any request: a bad one costs nothing
    job = _fresh(hook, job_id) if job is None else _succeeded(job, hook.conn_id)
    names = output_filenames(options.filename_template, job, ctx)
    results: list[Downloaded] = []
    allow_private = options.allow_private_hosts
    if allow_private is None:
        allow_private = hook.config.allow_private_hosts
    with output_client(
        options.download_timeout, ctx, USER_AGENT, shared_ssl_context(), allow_private=allow_private
    ) as client:
        for index, name in enumerate(names):
            done, job = _one(options, client, hook, job, index, destination / name, ctx, log)
            results.append(done)
            verb = "unchanged, skipped" if done.skipped else "written"
            log.info("%s (%d bytes, sha256 %s) %s", done.path, done.bytes, done.sha256[:12], verb)
    written = sum(not r.skipped for r in results)
    log.info(
        "%d output(s) of %s job %s in %s: %d written, %d unchanged.",
        len(results),
        job.provider,
        job.job_id,
        destination,
        written,
        len(results) - written,
    )
    _record_asset_events(outlets, outlet_events, job, hook.conn_id, results)
    return job, [r.to_dict() for r in results]


# ---- steps ------------------------------------------------------------------------------------
def _destination(value: Any, ctx: CallContext) -> Any:
    from airflow_provider_mediajobs.engine.storage import is_local

    try:
        destination = as_storage_path(value)
        fs = destination.fs  # resolves the store (and its Airflow connection) now
        if is_local(destination):
            fs.makedirs(destination.path, exist_ok=True)
    except MediaJobError:
        raise
    except Exception as err:
        ctx.fail(
            MediaJobConfigError,
            f"destination {str(value)!r} cannot be used ({type(err).__name__}: {str(err)[:200]}).",
            hint=(
                "Use a local folder or an object storage URL whose Airflow provider is installed "
                "(s3:// needs apache-airflow-providers-amazon, gs:// -google, abfs:// -microsoft-azure)."
            ),
        )
    return destination


def _record_asset_events(
    outlets: Iterable[Any], events: Any, job: MediaJob, conn_id: str, results: list[Downloaded]
) -> None:
    """Describe the files in the ``extra`` of every Asset outlet's event."""
    assets = [outlet for outlet in outlets or () if isinstance(outlet, Asset)]
    if events is None or not assets:
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
    for outlet in assets:
        events[outlet].extra.update(extra)


def _fresh(hook: MediaJobHook, job_id: str) -> MediaJob:
    """Read the job now (fresh URLs); fail clearly unless it succeeded with outputs."""
    return _succeeded(hook.get_job(job_id), hook.conn_id)


def _succeeded(job: MediaJob, conn_id: str) -> MediaJob:
    where: dict[str, Any] = {"provider": job.provider, "conn_id": conn_id, "job_id": job.job_id}
    if job.state is JobState.FAILED:
        raise MediaJobFailedError(
            "Job failed, there are no outputs to persist" + (f": {job.error}" if job.error else "."),
            job=job,
            **where,
        )
    if job.state is JobState.CANCELED:
        raise MediaJobCanceledError("Job was canceled, there are no outputs to persist.", job=job, **where)
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
    options: PersistOptions,
    client: Any,
    hook: MediaJobHook,
    job: MediaJob,
    index: int,
    target: Any,
    ctx: CallContext,
    log: Any,
) -> tuple[Downloaded, MediaJob]:
    """Persist output ``index``; an expired URL is refreshed by one more read of the job."""
    refreshed = False
    if job.outputs[index].is_expired(margin_seconds=EXPIRY_MARGIN_SECONDS):
        log.info("Output %d of job %s expires now; reading the job for a fresh URL.", index, job.job_id)
        job, refreshed = _refresh(hook, job, ctx), True
    while True:
        output = job.outputs[index]
        try:
            return _download_with_retries(options, client, output, target, ctx, log), job
        except OutputExpiredError:
            if refreshed:
                raise
            from airflow_provider_mediajobs.engine.urls import shown_url

            log.info(
                "Output %d of job %s: %s refused the signed URL (expired); reading the job again.",
                index,
                job.job_id,
                shown_url(output.url),
            )
            job, refreshed = _refresh(hook, job, ctx), True


def _refresh(hook: MediaJobHook, job: MediaJob, ctx: CallContext) -> MediaJob:
    fresh = _fresh(hook, job.job_id)
    if len(fresh.outputs) != len(job.outputs):
        ctx.fail(
            MediaJobBadResponseError,
            f"The job listed {len(job.outputs)} output(s) and now lists {len(fresh.outputs)}; "
            "refusing to guess which is which.",
            hint="Run the task again.",
        )
    return fresh


def _download_with_retries(
    options: PersistOptions, client: Any, output: MediaOutput, target: Any, ctx: CallContext, log: Any
) -> Downloaded:
    from airflow_provider_mediajobs.engine.download import DEFAULT_PROGRESS_INTERVAL, download
    from airflow_provider_mediajobs.engine.retry import RetryPolicy

    attempts = max(1, options.attempts_per_file)

    def on_retry(attempt: int, err: Exception, delay: float) -> None:
        summary = err.detail if isinstance(err, MediaJobError) else type(err).__name__
        log.warning("Attempt %d of %d: %s Retrying in %.1fs.", attempt, attempts, summary, delay)

    def once() -> Downloaded:
        return download(
            client,
            output.url,
            target,
            kind=output.kind.value,
            ctx=ctx,
            max_bytes=options.max_bytes,
            deadline=options.download_deadline,
            overwrite=options.overwrite,
            progress_interval=(
                DEFAULT_PROGRESS_INTERVAL if options.progress_interval is None else options.progress_interval
            ),
            logger=log,
            abandoned_after=options.download_timeout,
            rename_for=None if url_extension(output) else _extension_from_content_type,
        )

    policy = RetryPolicy(attempts=attempts, cap=60.0, retry_on=(MediaJobTransientError,))
    return policy.call(once, sleep=lambda seconds: _sleep(seconds), on_retry=on_retry)


def _extension_from_content_type(target: Any, content_type: str | None) -> Any:
    """``target`` with the extension of the answer's content type in place of the kind's guess
    (the output URL gave none); unchanged when the type tells nothing or the name has no suffix."""
    ext = extension_for(content_type)
    suffix = target.suffix
    if not ext or not suffix or suffix.lower() == ext:
        return target
    return target.with_name(target.name[: -len(suffix)] + ext)


__all__ = ["persist_outputs"]
