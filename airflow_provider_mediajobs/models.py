"""The normalized job model every provider's status response is read into.

A :class:`MediaJob` is what sensors return (as XCom, through :meth:`MediaJob.to_dict`) and what the
outputs operator reads back (:meth:`MediaJob.from_dict`). It is immutable and provider-neutral; the
provider's own payload stays available in :attr:`MediaJob.raw`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


class JobState(str, enum.Enum):
    """Normalized job state. Values are plain strings, so they survive JSON and XCom."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED})


class OutputKind(str, enum.Enum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    OTHER = "other"

    @classmethod
    def parse(cls, value: object) -> OutputKind:
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.OTHER

    def __str__(self) -> str:
        return self.value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def _parse_iso(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class MediaOutput:
    """One output file of a job: a (usually signed, short-lived) URL and what it holds."""

    url: str
    kind: OutputKind = OutputKind.OTHER
    expires_at: datetime | None = None
    name: str | None = None

    def is_expired(self, now: datetime | None = None, margin_seconds: float = 0.0) -> bool:
        if self.expires_at is None:
            return False
        now = now or datetime.now(timezone.utc)
        return (self.expires_at - now).total_seconds() <= margin_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "kind": self.kind.value,
            "expires_at": _iso(self.expires_at),
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaOutput:
        return cls(
            url=str(data["url"]),
            kind=OutputKind.parse(data.get("kind", "other")),
            expires_at=_parse_iso(data.get("expires_at")),
            name=data.get("name"),
        )


@dataclass(frozen=True)
class MediaJob:
    """A provider job read into one model.

    :param provider: the provider's registry name (also its connection type).
    :param job_id: the provider's job id, always a string (some are 64-bit integers, too wide for JSON numbers).
    :param state: normalized state.
    :param provider_status: the raw status value the provider reported (``"success"``, ``2``, ...).
    :param progress: 0..1 when the provider reports it.
    :param eta_seconds: provider's estimate of the remaining time.
    :param queue_position: position in the provider's queue (0 = next).
    :param outputs: output files, in the provider's order.
    :param error: the provider's reason when the job failed.
    :param retryable: whether the provider says resubmitting may help (a transitory error).
    :param permanent: whether the provider says the failure is final, so a retry cannot help: the
        task fails without spending its retries.
    :param cost: what the job cost, in ``cost_unit``, when the API reports it.
    :param job_kind: the provider's job family when it has several (its dialect's ``job_kinds``).
    :param raw: the provider's job payload as received.
    """

    provider: str
    job_id: str
    state: JobState
    provider_status: Any = None
    progress: float | None = None
    eta_seconds: float | None = None
    queue_position: int | None = None
    outputs: tuple[MediaOutput, ...] = ()
    error: str | None = None
    retryable: bool = False
    permanent: bool = False
    cost: float | None = None
    cost_unit: str | None = None
    job_kind: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @property
    def output_urls(self) -> list[str]:
        return [output.url for output in self.outputs]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (the XCom form), with ``state`` as a plain string."""
        return {
            "provider": self.provider,
            "job_id": self.job_id,
            "state": self.state.value,
            "provider_status": self.provider_status,
            "progress": self.progress,
            "eta_seconds": self.eta_seconds,
            "queue_position": self.queue_position,
            "outputs": [output.to_dict() for output in self.outputs],
            "output_urls": self.output_urls,
            "error": self.error,
            "retryable": self.retryable,
            "permanent": self.permanent,
            "cost": self.cost,
            "cost_unit": self.cost_unit,
            "job_kind": self.job_kind,
            "raw": dict(self.raw),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaJob:
        """Rebuild a job from :meth:`to_dict` output (``output_urls`` is derived, so ignored)."""
        return cls(
            provider=str(data["provider"]),
            job_id=str(data["job_id"]),
            state=JobState(data["state"]),
            provider_status=data.get("provider_status"),
            progress=data.get("progress"),
            eta_seconds=data.get("eta_seconds"),
            queue_position=data.get("queue_position"),
            outputs=tuple(MediaOutput.from_dict(o) for o in data.get("outputs") or ()),
            error=data.get("error"),
            retryable=bool(data.get("retryable", False)),
            permanent=bool(data.get("permanent", False)),
            cost=data.get("cost"),
            cost_unit=data.get("cost_unit"),
            job_kind=data.get("job_kind"),
            raw=dict(data.get("raw") or {}),
        )

    @property
    def cost_text(self) -> str:
        """What this job cost, for people (``"0.5 usd"``, or ``"none reported"``)."""
        return format_cost(total_cost([self]))

    def describe(self) -> str:
        """One human line: state, progress, queue and ETA where known."""
        parts = [f"{self.provider} job {self.job_id}: {self.state.value}"]
        if self.provider_status is not None and str(self.provider_status) != self.state.value:
            parts.append(f"(provider status {self.provider_status!r})")
        if self.queue_position is not None:
            parts.append(f"queue position {self.queue_position}")
        if self.progress is not None:
            parts.append(f"{self.progress:.0%}")
        if self.eta_seconds is not None:
            parts.append(f"ETA {self.eta_seconds:.0f}s")
        if self.error:
            parts.append(f"error: {self.error}")
        return " ".join(parts)


def total_cost(jobs: Iterable[MediaJob]) -> dict[str, float]:
    """What ``jobs`` cost, summed per unit (``{"credits": 12.5, "usd": 0.9}``, units sorted).

    Jobs whose API reports no cost are left out; a cost without a unit counts as ``"unknown unit"``.
    """
    costs: dict[str, list[float]] = {}
    for job in jobs:
        if job.cost is not None:
            costs.setdefault(job.cost_unit or "unknown unit", []).append(float(job.cost))
    # fsum + rounding: 0.1 + 0.2 dollars is 0.3, not 0.30000000000000004
    return {unit: round(math.fsum(values), 6) for unit, values in sorted(costs.items())}


def format_cost(totals: Mapping[str, float]) -> str:
    """``total_cost`` for people: ``"12.5 credits, 0.9 usd"``, or ``"none reported"``."""
    return ", ".join(f"{_amount(amount)} {unit}" for unit, amount in totals.items()) or "none reported"


def _amount(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


#: how much of one input's text a job's recorded inputs keep (a prompt is rarely longer)
MAX_INPUT_TEXT = 2000
_MEDIA_SUFFIXES = {
    "image": (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".avif"),
    "video": (".mp4", ".mov", ".webm", ".mkv", ".m4v", ".avi"),
    "audio": (".mp3", ".wav", ".m4a", ".aac", ".ogg", ".flac"),
}


def media_kind_of(url: str, hint: str | None = None) -> str:
    """``image`` / ``video`` / ``audio`` / ``other`` of an input URL: the payload's hint, else its suffix."""
    if hint in _MEDIA_SUFFIXES:
        return str(hint)
    from urllib.parse import urlsplit

    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        return "other"
    return next((kind for kind, ends in _MEDIA_SUFFIXES.items() if path.endswith(ends)), "other")


def unsigned_url(url: object) -> str | None:
    """A URL the URL policy allows, as shown to people (no user info, query or fragment), or None."""
    from airflow_provider_mediajobs.engine.urls import is_allowed, shown_url

    return shown_url(url) if is_allowed(url) else None


@dataclass(frozen=True)
class JobInputs:
    """What a job was asked, for people: labelled texts (prompt, model, size, ...) and source media.

    Each dialect reads its own payload into this (:meth:`~.dialects.base.Dialect.describe_inputs`);
    the submit operator records it in XCom (key ``media_inputs``) and the Media view shows it. Texts
    are cut at :data:`MAX_INPUT_TEXT`; media URLs lose their query (signatures) and user info.
    """

    texts: tuple[tuple[str, str], ...] = ()
    media: tuple[tuple[str, str, str], ...] = ()  # (label, url, kind)

    @classmethod
    def build(cls, texts: Iterable[tuple[str, Any]] = (), media: Iterable[tuple[str, Any]] = ()) -> JobInputs:
        """Keep the non-empty texts (lists joined) and the http(s) media URLs, cleaned."""
        kept_texts = []
        for label, value in texts:
            if isinstance(value, (list, tuple)):
                value = ", ".join(str(v) for v in value if v not in (None, ""))
            if value is None or value == "" or isinstance(value, Mapping):
                continue
            text = str(value)
            if len(text) > MAX_INPUT_TEXT:
                text = text[:MAX_INPUT_TEXT] + "..."
            kept_texts.append((label, text))
        kept_media = []
        for label, value in media:
            url = unsigned_url(value) if isinstance(value, str) else None
            if url:
                kept_media.append((label, url, media_kind_of(url)))
        return cls(tuple(kept_texts), tuple(kept_media))

    def __bool__(self) -> bool:
        return bool(self.texts or self.media)

    def to_dict(self) -> dict[str, Any]:
        return {
            "texts": [{"label": label, "text": text} for label, text in self.texts],
            "media": [{"label": label, "url": url, "kind": kind} for label, url, kind in self.media],
        }

    @classmethod
    def from_dict(cls, data: object) -> JobInputs:
        """Read back :meth:`to_dict` output; anything malformed is left out (XCom is untrusted)."""
        if not isinstance(data, Mapping):
            return cls()
        texts = [
            (str(t.get("label") or ""), t.get("text"))
            for t in data.get("texts") or ()
            if isinstance(t, Mapping)
        ]
        built = cls.build(texts)
        media = []
        for item in data.get("media") or ():
            if isinstance(item, Mapping) and isinstance(item.get("url"), str):
                url = unsigned_url(item["url"])
                if url:
                    media.append(
                        (str(item.get("label") or "source"), url, media_kind_of(url, item.get("kind")))
                    )
        return cls(built.texts, tuple(media))
