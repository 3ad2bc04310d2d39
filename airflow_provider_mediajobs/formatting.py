"""Values as a person reads them in a log line or on a page: one format per kind of value."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """``"4.2s"``, ``"45s"``, ``"12 min"``, ``"2 h 5 min"``: a span as a person reads it."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60} min"


__all__ = ["duration"]
