"""OpenLineage for media jobs, through apache-airflow-providers-openlineage (optional).

The operators' ``get_openlineage_facets_on_complete`` / ``_on_failure`` call :func:`for_wait` and
:func:`for_outputs`; OpenLineage is imported only there, so without the provider nothing changes.

- inputs: the media URLs a submit payload names, as ``Dataset(namespace="https://host", name=path)``
  (never a query string: signed URLs are bearer tokens);
- outputs (the outputs operator): every persisted file, named as OpenLineage's naming spec says
  (``file`` + absolute path, ``s3://bucket`` + key, ``gs://bucket`` + path);
- run facets: ``externalQuery`` (the provider's job id, source ``<provider>://<api host>``) and
  ``mediaJobs_job`` (:data:`FACET_KEY`; schema ``MediaJobsJobRunFacet.json`` in this package), and
  ``errorMessage`` when the job failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_mediajobs import __version__

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

FACET_KEY = "mediaJobs_job"
SCHEMA_FILE = Path(__file__).with_name("MediaJobsJobRunFacet.json")
#: The schema's ``$id`` (versioned with the package, so immutable per release) and the facet's pointer.
SCHEMA_ID = (
    f"https://pypi.org/project/airflow-provider-mediajobs/{__version__}/"
    "airflow_provider_mediajobs/lineage/MediaJobsJobRunFacet.json"
)
SCHEMA_URL = SCHEMA_ID + "#/$defs/MediaJobsJobRunFacet"

MAX_INPUTS = 100  # a payload naming more media than this is not described further
MAX_MESSAGE = 2000
_CALLBACK_KEY = re.compile(r"callback|notify|webhook", re.IGNORECASE)  # URLs the provider calls, not media
_URL_QUERY = re.compile(r"(https?://[^\s?#\"'<>]+)[?#][^\s\"'<>]*", re.IGNORECASE)
_SCHEMES = {"gcs": "gs", "s3a": "s3", "s3n": "s3", "local": "file", "": "file"}


# ---- datasets (plain tuples: no OpenLineage import) -----------------------------------------------
def input_media(payload: Any) -> list[tuple[str, str]]:
    """``(namespace, name)`` of each http(s) URL in a payload, query and credentials dropped."""
    found: dict[tuple[str, str], None] = {}
    for url in _urls(payload):
        dataset = web_dataset(url)
        if dataset is not None:
            found.setdefault(dataset)
            if len(found) >= MAX_INPUTS:
                break
    return list(found)


def _urls(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 20:
        return
    if isinstance(value, str):
        if value[:8].lower().startswith(("http://", "https://")):
            yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not _CALLBACK_KEY.search(str(key)):
                yield from _urls(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _urls(item, depth + 1)


def web_dataset(url: str) -> tuple[str, str] | None:
    """``("https://host[:port]", "/path")`` for a URL; None when it has no usable host."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or len(url) > 8192:
        return None
    netloc = f"[{host}]" if ":" in host else host
    namespace = f"{parts.scheme.lower()}://{netloc}" + (f":{port}" if port else "")
    return namespace, parts.path or "/"


def storage_dataset(uri: str) -> tuple[str, str]:
    """``(namespace, name)`` of a persisted file's URI, per OpenLineage's naming spec.

    The same namespace as ``ObjectStoragePath(uri).namespace`` (``file``, ``s3://bucket``,
    ``gs://bucket``), without the Airflow connection id a URI may carry (``s3://conn@bucket``).
    """
    parts = urlsplit(uri)
    scheme = _SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme == "file":
        return "file", parts.path if parts.scheme else uri
    bucket = parts.netloc.rpartition("@")[2]
    return f"{scheme}://{bucket}", parts.path.lstrip("/")


def without_query(text: str) -> str:
    """``text`` with every URL's query and fragment cut (signatures), bounded in length."""
    return _URL_QUERY.sub(r"\1", text[: MAX_MESSAGE * 2])[:MAX_MESSAGE]


# ---- the job: what the facets say -----------------------------------------------------------------
def source_of(provider: str, base_url: str | None) -> str:
    """``tensorpix://backend.tensorpix.ai``: the provider and its API host (never credentials)."""
    host = ""
    if base_url:
        try:
            parts = urlsplit(base_url)
            host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        except ValueError:
            host = ""
    return f"{provider}://{host}"


def job_summary(
    provider: str, job_id: str, event: Mapping[str, Any] | None, job_kind: str | None = None
) -> dict[str, Any]:
    """The custom facet's fields from a wait's event (or a finished job's dict as ``event["job"]``)."""
    event = event if isinstance(event, Mapping) else {}
    job = event.get("job") if isinstance(event.get("job"), Mapping) else {}
    assert isinstance(job, Mapping)
    status = event.get("status")
    state = job.get("state") if status not in ("timeout", "error") else status
    cost = job.get("cost")
    return {
        "provider": provider,
        "jobId": str(job_id),
        "jobKind": job.get("job_kind") or job_kind,
        "state": state,
        "cost": float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
        "costUnit": job.get("cost_unit"),
        "queueSeconds": _number(event.get("queued_seconds")),
        "runSeconds": _number(event.get("running_seconds")),
    }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def failure_message(event: Mapping[str, Any] | None) -> str | None:
    """What the job or the wait said when it failed (URLs without their query)."""
    if not isinstance(event, Mapping) or event.get("status") in ("succeeded", None):
        return None
    return without_query(str(event.get("message") or event.get("status")))


# ---- OpenLineage objects (imported here only) -----------------------------------------------------
@lru_cache(maxsize=1)
def _facet_class() -> type:
    from attr import define, field
    from openlineage.client.generated.base import RunFacet

    @define
    class MediaJobsJobRunFacet(RunFacet):
        """An AI media job an Airflow task created, waited for or persisted (schema in this package)."""

        provider: str
        jobId: str  # OpenLineage facets are camelCase
        jobKind: str | None = field(default=None)
        state: str | None = field(default=None)
        cost: float | None = field(default=None)
        costUnit: str | None = field(default=None)
        queueSeconds: float | None = field(default=None)
        runSeconds: float | None = field(default=None)

        @staticmethod
        def _get_schema() -> str:
            return SCHEMA_URL

    return MediaJobsJobRunFacet


def run_facets(summary: Mapping[str, Any], base_url: str | None, error: str | None = None) -> dict[str, Any]:
    """``externalQuery``, ``mediaJobs_job`` and (``error``) ``errorMessage``."""
    from airflow.providers.common.compat.openlineage.facet import (
        ErrorMessageRunFacet,
        ExternalQueryRunFacet,
    )

    facets: dict[str, Any] = {
        "externalQuery": ExternalQueryRunFacet(
            externalQueryId=summary["jobId"], source=source_of(summary["provider"], base_url)
        ),
        FACET_KEY: _facet_class()(**summary),
    }
    if error:
        facets["errorMessage"] = ErrorMessageRunFacet(message=error, programmingLanguage="python")
    return facets


def operator_lineage(
    inputs: Iterable[tuple[str, str]] = (),
    outputs: Iterable[tuple[str, str]] = (),
    facets: Mapping[str, Any] | None = None,
) -> OperatorLineage | None:
    """An ``OperatorLineage``, or None when the OpenLineage provider is not installed."""
    try:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    return OperatorLineage(
        inputs=[Dataset(namespace=ns, name=name) for ns, name in inputs],
        outputs=[Dataset(namespace=ns, name=name) for ns, name in outputs],
        run_facets=dict(facets or {}),
    )


# ---- what the operators call ----------------------------------------------------------------------
def _base_url(operator: Any, provider: str) -> str | None:
    """The API base URL of the operator's connection (resolved on the worker; no request is made)."""
    try:
        return str(operator.hook.config.base_url)
    except Exception:  # a missing connection must not cost the lineage: the provider's default
        return _connection_base_url(provider, None)


def persisted_files(records: Any) -> list[tuple[str, str]]:
    """Datasets of persisted files: download records (objects or dicts with a ``path`` URI)."""
    if not isinstance(records, (list, tuple)):
        return []
    paths = [r.get("path") if isinstance(r, Mapping) else getattr(r, "path", None) for r in records]
    return [storage_dataset(str(path)) for path in paths if path]


def _files_of(operator: Any) -> Any:
    """The files the task persisted, as it kept them while it ran (the listener runs in a fork of
    the task: no XCom or API call from here)."""
    files = getattr(operator, "_lineage_files", None)
    if files is None:
        result = getattr(operator, "_lineage_result", None)
        files = result.get("files") if isinstance(result, Mapping) else None
    return files


def for_wait(operator: Any, *, failed: bool = False) -> OperatorLineage | None:
    """Lineage of a sensor or submit operator: its payload's media, the job it waited for and
    (given a destination) the files it persisted."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage  # noqa: F401
    except ImportError:
        return None
    inputs = input_media(getattr(operator, "payload", None))
    outputs = [] if failed else persisted_files(_files_of(operator))
    ended = getattr(operator, "_lineage_end", None)
    job_id, event = ended if ended else (_job_id_of(operator), None)
    if not job_id:
        return operator_lineage(inputs, outputs)
    provider = operator._resolve_provider()
    summary = job_summary(provider, job_id, event, getattr(operator, "job_kind", None))
    error = failure_message(event) if failed else None
    return operator_lineage(inputs, outputs, run_facets(summary, _base_url(operator, provider), error))


def _job_id_of(operator: Any) -> str | None:
    job_id = getattr(operator, "_submitted_job_id", None) or (
        None if hasattr(operator, "payload") else getattr(operator, "job_id", None)
    )
    return None if job_id in (None, "") else str(job_id)


def for_outputs(operator: Any) -> OperatorLineage | None:
    """Lineage of the outputs operator: every persisted file, and the job they came from."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage  # noqa: F401
    except ImportError:
        return None
    outputs = persisted_files(_files_of(operator))
    provider, job_id, kind, conn_id = operator._target()  # no request: what the task was given
    job = getattr(operator, "_lineage_job", None)  # the job as the task read it, when it did
    event = {"status": "succeeded", "job": job.to_dict()} if job is not None else None
    summary = job_summary(provider, job_id, event, kind)
    return operator_lineage(
        outputs=outputs, facets=run_facets(summary, _connection_base_url(provider, conn_id))
    )


def _connection_base_url(provider: str, conn_id: str | None) -> str | None:
    from airflow_provider_mediajobs.dialects.registry import get_spec, hook_class

    try:
        return str(hook_class(provider)(conn_id=conn_id).config.base_url)
    except Exception:
        return get_spec(provider).default_base_url


__all__ = [
    "FACET_KEY",
    "SCHEMA_FILE",
    "SCHEMA_URL",
    "for_outputs",
    "for_wait",
    "input_media",
    "job_summary",
    "persisted_files",
    "source_of",
    "storage_dataset",
    "web_dataset",
    "without_query",
]
