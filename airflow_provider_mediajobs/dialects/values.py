"""Small, total readers and writers of the values in provider requests and answers.

Provider answers are untrusted: a reader returns None for anything it cannot read (a string where a
number belongs, NaN, a date past the year 9999) instead of raising, and the dialect decides what a
missing value means.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

_DRF_WAIT = re.compile(r"available in (\d+(?:\.\d+)?) second", re.IGNORECASE)
# Longest Retry-After honoured. A wait sleeps at least this long and a 429 pauses every wait on the
# connection as long, so an absurd value ("1e999", a date in 2999) must not freeze them for good.
MAX_RETRY_AFTER = 3600.0


def parse_retry_after(header: str | None, message: str | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta or HTTP date), else from a DRF throttle message;
    within ``0..MAX_RETRY_AFTER``, or None when neither says anything usable."""
    seconds: float | None = None
    if header:
        header = header.strip()
        try:
            seconds = float(header)
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError, IndexError, OverflowError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if (seconds is None or seconds != seconds) and message and (match := _DRF_WAIT.search(message)):
        seconds = float(match.group(1))
    if seconds is None or seconds != seconds:  # absent, or NaN
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and result not in (float("inf"), float("-inf")) else None


def as_int(value: Any) -> int | None:
    number = as_float(value)
    return None if number is None else int(number)


def as_fraction(value: Any) -> float | None:
    """Progress as 0..1, accepting providers that report 0..100."""
    number = as_float(value)
    if number is None or number < 0:
        return None
    if number > 1:
        number = number / 100.0
    return min(number, 1.0)


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def expiry_after(seconds: float | None, now: datetime | None = None) -> datetime | None:
    if seconds is None:
        return None
    now = now or datetime.now(timezone.utc)
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError:
        return None


def expiry_from_signed_url(url: str) -> datetime | None:
    """When a pre-signed URL stops working, read from its own query when it says.

    Understands S3 SigV4 (``X-Amz-Date`` + ``X-Amz-Expires``), S3 SigV2/CloudFront/GCS-style
    ``Expires``/``expires`` epoch seconds, and Tencent COS ``q-sign-time=start;end``.
    """
    try:
        query = {k.lower(): v[-1] for k, v in parse_qs(urlsplit(url).query).items() if v}
    except ValueError:
        return None
    try:
        if "x-amz-date" in query and "x-amz-expires" in query:
            start = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            return start + timedelta(seconds=int(query["x-amz-expires"]))
        for key in ("q-sign-time", "q-key-time"):
            if key in query:
                end = query[key].partition(";")[2]
                if end.isdigit():
                    return datetime.fromtimestamp(int(end), tz=timezone.utc)
        if query.get("expires", "").isdigit():
            return datetime.fromtimestamp(int(query["expires"]), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def encode_segment(value: str) -> str:
    return quote(value, safe="")
