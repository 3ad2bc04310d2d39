"""What the Media view shows for one task instance, read from the XCom the media tasks write.

* the outputs operator returns one ``{url, path, bytes, sha256, content_type, kind, skipped}``
  per file it persisted: those files are served by the plugin (by index, never by path);
* a submit operator or sensor returns the job dict (``MediaJob.to_dict()`` plus ``wait``): its
  outputs are the provider's signed URLs, shown while valid, marked expired after; given
  ``destination=`` it persisted them itself, and the dict's ``files`` holds the same records as
  the outputs operator's, shown as persisted files;
* a submit operator pushes ``job_id`` before it waits, so a deferred or failed task still shows
  which job it is, ``media_inputs`` (what the job was asked, read by its dialect) and, when the job
  fails, ``job`` (the failed job's dict: reason, cost);
* the outputs operator pushes ``media_job`` ({provider, job_id}): its files join that job's card.

:mod:`.cards` gathers these per job. Pure functions on plain values: no Airflow import, no I/O.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_mediajobs.dialects.registry import specs
from airflow_provider_mediajobs.engine.urls import is_allowed, shown_url
from airflow_provider_mediajobs.models import JobInputs

OUTPUTS_OPERATOR = "MediaJobOutputsOperator"


def operator_providers() -> dict[str, str]:
    """Provider of each provider-named operator class (``TensorArtSubmitJobOperator``: tensorart)."""
    return {name: spec.name for spec in specs() for name in spec.operator_names}


def media_operators() -> frozenset[str]:
    """Operator class names whose tasks are always listed: the generic ones and each registered
    provider's (the registry names them), so a new provider is listed too."""
    return frozenset({"MediaJobSubmitOperator", "MediaJobSensor", OUTPUTS_OPERATOR, *operator_providers()})


PERSISTED, PROVIDER = "persisted", "provider"
_KINDS = ("image", "video", "audio")


@dataclass(frozen=True)
class MediaItem:
    """One output: a persisted file (served by the plugin) or a provider URL (linked directly)."""

    index: int
    source: str
    kind: str
    name: str
    content_type: str
    path: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    url: str | None = None
    expires_at: datetime | None = None

    def expired(self, now: datetime | None = None) -> bool:
        if self.source != PROVIDER or self.expires_at is None:
            return False
        return self.expires_at <= (now or datetime.now(timezone.utc))


@dataclass(frozen=True)
class TaskMedia:
    """A media task instance as the view shows it."""

    task_id: str
    map_index: int
    ti_state: str | None
    operator: str | None
    job: Mapping[str, Any] | None = None
    job_id: str | None = None
    items: tuple[MediaItem, ...] = ()
    started: datetime | None = None
    ended: datetime | None = None
    try_number: int = 0
    inputs: JobInputs = field(default_factory=JobInputs)
    job_ref: tuple[str, str] | None = None  # an outputs task's (provider, job id)
    tries: tuple[Mapping[str, Any], ...] = ()  # earlier tries: {try, job_id, state, error, cost, ...}

    @property
    def provider(self) -> str | None:
        if self.job and self.job.get("provider"):
            return str(self.job["provider"])
        if self.job_ref:
            return self.job_ref[0]
        return operator_providers().get(self.operator or "")

    @property
    def is_outputs(self) -> bool:
        return self.operator == OUTPUTS_OPERATOR or self.job_ref is not None

    @property
    def label(self) -> str:
        return self.task_id + (f" [{self.map_index}]" if self.map_index >= 0 else "")

    @property
    def persisted(self) -> tuple[MediaItem, ...]:
        return tuple(i for i in self.items if i.source == PERSISTED)


def _name_of(url_or_path: str) -> str:
    try:
        path = urlsplit(url_or_path).path
    except ValueError:
        path = url_or_path
    return path.rstrip("/").rsplit("/", 1)[-1] or "output"


def content_type_of(recorded: object, name: str, kind: str) -> str:
    """The media type: as recorded when it has one, else from the file name, else none known."""
    text = str(recorded or "").split(";", 1)[0].strip().lower()
    if "/" in text and " " not in text:
        return text
    guessed = mimetypes.guess_type(name)[0]
    if guessed:
        return guessed.lower()
    return "application/octet-stream"


def _kind(recorded: object, content_type: str) -> str:
    kind = str(recorded or "").lower()
    if kind in _KINDS:
        return kind
    major = content_type.split("/", 1)[0]
    return major if major in _KINDS else "other"


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _is_job(value: object) -> bool:
    return isinstance(value, Mapping) and {"provider", "job_id", "state"} <= set(value)


def _is_persisted_list(value: object) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes))
        and bool(value)
        and all(isinstance(v, Mapping) and "path" in v and "sha256" in v for v in value)
    )


def persisted_items(files: Sequence[Mapping[str, Any]]) -> tuple[MediaItem, ...]:
    items = []
    for index, record in enumerate(files):
        path = str(record.get("path") or "")
        size = record.get("bytes")
        items.append(
            _item(
                index,
                PERSISTED,
                record.get("kind"),
                _name_of(path),
                record.get("content_type"),
                path=path,
                bytes=int(size) if isinstance(size, int) else None,
                sha256=str(record.get("sha256") or "") or None,
                url=shown_url(str(record.get("url") or "")) or None,
            )
        )
    return tuple(items)


def provider_items(job: Mapping[str, Any]) -> tuple[MediaItem, ...]:
    items = []
    for index, output in enumerate(job.get("outputs") or ()):
        # the URL policy again where the URL is used: only http(s) with a valid host is linked
        if not isinstance(output, Mapping) or not is_allowed(output.get("url")):
            continue
        url = str(output["url"])
        item = _item(index, PROVIDER, output.get("kind"), _name_of(url), None, url=url)
        items.append(
            replace(
                item, name=str(output.get("name") or item.name), expires_at=_when(output.get("expires_at"))
            )
        )
    return tuple(items)


def _item(index: int, source: str, kind: Any, name: str, content_type: Any, **details: Any) -> MediaItem:
    """One item: its content type from what was recorded, the name and the kind; its kind from
    the recorded one, else from the content type."""
    ctype = content_type_of(content_type, name, str(kind or ""))
    return MediaItem(
        index=index, source=source, kind=_kind(kind, ctype), name=name, content_type=ctype, **details
    )


def task_media(
    task_id: str,
    map_index: int,
    ti_state: str | None,
    operator: str | None,
    xcoms: Mapping[str, Any],
    started: datetime | None = None,
    ended: datetime | None = None,
    try_number: int = 0,
    tries: Iterable[Any] = (),
) -> TaskMedia | None:
    """The view of one task instance, or ``None`` when it is not a media task."""
    value = xcoms.get("return_value")
    raw_job_id = xcoms.get("job_id")
    job = value if _is_job(value) else None
    if job is None and _is_job(xcoms.get("job")):
        job = xcoms["job"]  # the failed job a wait recorded before failing the task
    items: tuple[MediaItem, ...] = ()
    if _is_persisted_list(value):
        items = persisted_items(value)  # type: ignore[arg-type]
    elif job is not None and _is_persisted_list(job.get("files")):
        items = persisted_items(job["files"])
    elif job is not None:
        files = job.get("files")
        items = persisted_items(files) if _is_persisted_list(files) else provider_items(job)
    ref = xcoms.get("media_job")
    job_ref = None
    if isinstance(ref, Mapping) and ref.get("job_id") not in (None, ""):
        job_ref = (str(ref.get("provider") or ""), str(ref["job_id"]))
    recorded = job is not None or items or raw_job_id is not None or job_ref is not None
    if not recorded and operator not in media_operators():
        return None
    job_id = str(job["job_id"]) if job else (None if raw_job_id is None else str(raw_job_id))
    return TaskMedia(
        task_id=task_id,
        map_index=map_index,
        ti_state=ti_state,
        operator=operator,
        job=job,
        job_id=job_id,
        items=items,
        started=started,
        ended=ended,
        try_number=try_number,
        inputs=JobInputs.from_dict(xcoms.get("media_inputs")),
        job_ref=job_ref,
        tries=tuple(t for t in tries if isinstance(t, Mapping)),
    )
