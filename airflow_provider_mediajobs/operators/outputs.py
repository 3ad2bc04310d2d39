"""Persist the outputs of a job started elsewhere (outside the DAG, or by an upstream task).

Output URLs are short-lived (hours, some re-signed on every read; see docs/outputs.md per
provider): a pipeline that hands raw URLs to tomorrow's task breaks. This operator reads the job
right before downloading (fresh URLs) and runs the one persist step
(:func:`~airflow_provider_mediajobs.operators.persist.persist_outputs`) that a submit operator or
sensor given ``destination=`` runs in its resume step. See ``docs/outputs.md``.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_mediajobs import lineage
from airflow_provider_mediajobs.dialects.registry import get_spec, hook_class, provider_of_connection
from airflow_provider_mediajobs.exceptions import (
    MediaJobConfigError,
)
from airflow_provider_mediajobs.models import MediaJob
from airflow_provider_mediajobs.operators.persist_options import PersistsOutputs
from airflow_provider_mediajobs.plugins.links import MediaLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_mediajobs.hooks import MediaJobHook

# The HTTP engine, the dialects and the hooks are imported when the task runs, not when a DAG file
# using this operator is parsed (the DAG processor parses every file every few seconds).

JOB_KEY = "media_job"  # XCom: {provider, job_id} of the job whose outputs the task persists


class MediaJobOutputsOperator(PersistsOutputs):
    """Download every output of a succeeded job into ``destination``.

    :param job_id: the job id (templated), or the job dict a sensor / submit operator returned
        (e.g. ``wait.output``); a job dict also tells the provider and job kind.
    :param destination: required here; as the other persist arguments (``filename_template``,
        ``max_bytes``, ``overwrite``, ``asset``, ``download_timeout``, ...), see
        :class:`~airflow_provider_mediajobs.operators.persist_options.PersistsOutputs`.
    :param conn_id: the provider connection (default: the provider's default connection).
    :param provider: needed only when ``job_id`` is a bare id and ``conn_id`` is not given.
    :param job_kind: the provider's job family where it has several (its dialect's ``job_kinds``).

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
        **kwargs: Any,
    ) -> None:
        super().__init__(destination=destination, **kwargs)
        self.job_id = job_id
        self.conn_id = conn_id
        self.provider = provider
        self.job_kind = job_kind

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
        provider, job_id, kind, conn_id = self._target()
        # which job these files are of: the Media view puts them on that job's card
        ti = context.get("ti") if isinstance(context, Mapping) else None
        if ti is not None:
            ti.xcom_push(key=JOB_KEY, value={"provider": provider, "job_id": job_id})
        return self.persist(context, self._hook(provider, kind, conn_id), job_id)


# ---- the job input ------------------------------------------------------------------------------
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
