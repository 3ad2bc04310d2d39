"""The persist arguments: :class:`PersistOptions` (their defaults and checks, made when the DAG
is parsed and again once rendered) and :class:`PersistsOutputs`, the operator base that declares
them once for every operator that persists a job's outputs and runs the persist step
(:func:`~airflow_provider_mediajobs.operators.persist.persist_outputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

from airflow_provider_mediajobs.exceptions import MediaJobConfigError
from airflow_provider_mediajobs.operators.destinations import destination_uri
from airflow_provider_mediajobs.operators.filenames import DEFAULT_TEMPLATE

if TYPE_CHECKING:
    from airflow_provider_mediajobs.hooks import MediaJobHook
    from airflow_provider_mediajobs.models import MediaJob

DEFAULT_DOWNLOAD_TIMEOUT = 300.0
DEFAULT_DOWNLOAD_DEADLINE = 2 * 3600.0
DEFAULT_ATTEMPTS_PER_FILE = 3


@dataclass(frozen=True)
class PersistOptions:
    """Where and how outputs are written (the rendered values of the operator's arguments)."""

    destination: Any
    filename_template: str = DEFAULT_TEMPLATE
    max_bytes: int | Mapping[str, int] | None = None
    overwrite: bool = False
    download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT
    download_deadline: float | None = DEFAULT_DOWNLOAD_DEADLINE
    allow_private_hosts: bool | None = None
    attempts_per_file: int = DEFAULT_ATTEMPTS_PER_FILE
    progress_interval: float | None = None

    def __post_init__(self) -> None:
        # checked when the DAG is parsed (the operator builds one) and again once rendered
        checked_max_bytes(self.max_bytes)
        checked_deadline(self.download_deadline)
        object.__setattr__(self, "attempts_per_file", max(1, self.attempts_per_file))


PERSIST_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PersistOptions))


def checked_max_bytes(max_bytes: int | Mapping[str, int] | None) -> int | Mapping[str, int] | None:
    """``max_bytes`` as given, refused unless bytes or a mapping of kind to bytes (at DAG parse time)."""
    limits = max_bytes.values() if isinstance(max_bytes, Mapping) else [max_bytes]
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0) for v in limits):
        raise MediaJobConfigError(
            f"max_bytes must be a number of bytes (or a mapping of kind to bytes), not {max_bytes!r}."
        )
    return max_bytes


def checked_deadline(download_deadline: float | None) -> float | None:
    """``download_deadline`` as given, refused outside 0..7 days (at DAG parse time)."""
    if download_deadline is not None and not 0 < download_deadline <= 7 * 86400:
        raise MediaJobConfigError(
            f"download_deadline must be seconds in 0..604800 (or None), not {download_deadline!r}."
        )
    return download_deadline


def outlets_with_asset(kwargs: dict[str, Any], destination: Any, asset: bool) -> dict[str, Any]:
    """``kwargs`` with ``Asset(<destination URI>)`` added to ``outlets`` when ``asset`` is set."""
    if asset:
        if destination is None:
            raise MediaJobConfigError("asset=True needs a destination to name the Asset after.")
        kwargs["outlets"] = [*_as_list(kwargs.get("outlets")), Asset(uri=destination_uri(destination))]
    return kwargs


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


class PersistsOutputs(BaseOperator):
    """Base of the operators that persist a job's outputs: the persist arguments, declared once
    here (Airflow reads an operator's keyword arguments from its ``__init__`` signatures along the
    class hierarchy for ``default_args``, ``partial`` and ``expand``), and the step itself.

    :param destination: where the outputs go: an ``ObjectStoragePath`` or URL string
        (``file:///data/renders``, ``s3://aws_conn@bucket/renders``; a plain path is a local
        folder, created if missing). Templated. None: nothing is persisted.
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
    """

    destination: Any
    filename_template: str
    max_bytes: int | Mapping[str, int] | None
    overwrite: bool
    download_timeout: float
    download_deadline: float | None
    allow_private_hosts: bool | None
    attempts_per_file: int
    progress_interval: float | None

    def __init__(
        self,
        *,
        destination: Any = None,
        filename_template: str = DEFAULT_TEMPLATE,
        max_bytes: int | Mapping[str, int] | None = None,
        overwrite: bool = False,
        asset: bool = False,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
        download_deadline: float | None = DEFAULT_DOWNLOAD_DEADLINE,
        allow_private_hosts: bool | None = None,
        attempts_per_file: int = DEFAULT_ATTEMPTS_PER_FILE,
        progress_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**outlets_with_asset(kwargs, destination, asset))
        options = PersistOptions(
            destination=destination,
            filename_template=filename_template,
            max_bytes=max_bytes,
            overwrite=overwrite,
            download_timeout=download_timeout,
            download_deadline=download_deadline,
            allow_private_hosts=allow_private_hosts,
            attempts_per_file=attempts_per_file,
            progress_interval=progress_interval,
        )
        # attributes, not one options object: Airflow renders template fields in place
        for name in PERSIST_FIELDS:
            setattr(self, name, getattr(options, name))

    def persist(
        self, context: Any, hook: MediaJobHook, job_id: str, job: MediaJob | None = None
    ) -> list[dict[str, Any]]:
        """The persist step of this task (see :func:`persist_outputs`) with its rendered arguments."""
        from airflow_provider_mediajobs.operators.persist import persist_outputs

        options = PersistOptions(**{name: getattr(self, name) for name in PERSIST_FIELDS})
        events = context.get("outlet_events") if isinstance(context, Mapping) else None
        persisted, records = persist_outputs(
            options, hook, job_id, job=job, log=self.log, outlets=self.outlets or (), outlet_events=events
        )
        # what OpenLineage's events describe (the listener runs in a fork of the task: no XCom)
        self._lineage_job, self._lineage_files = persisted, records
        return records


__all__ = [
    "DEFAULT_ATTEMPTS_PER_FILE",
    "DEFAULT_DOWNLOAD_DEADLINE",
    "DEFAULT_DOWNLOAD_TIMEOUT",
    "PERSIST_FIELDS",
    "PersistOptions",
    "PersistsOutputs",
    "checked_deadline",
    "checked_max_bytes",
    "outlets_with_asset",
]
