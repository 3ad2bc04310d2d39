"""Where :class:`~airflow_provider_mediajobs.operators.outputs.MediaJobOutputsOperator` writes.

A destination is an ``ObjectStoragePath``, an object storage URL (``s3://conn_id@bucket/key``,
``gs://...``) or a local folder. These helpers turn one into the path the operator writes to and
into the Asset URI it reports, without importing any storage backend.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_mediajobs.exceptions import MediaJobConfigError

_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]")


def path_safe(value: object) -> str:
    """``value`` as one folder name any store accepts (a Jinja filter for run ids in destinations).

    Every character but ASCII letters, digits, ``.``, ``_`` and ``-`` becomes ``_``
    (``manual__2026-12-03T07:10:17+00:00`` -> ``manual__2026-12-03T07_10_17_00_00``); never empty,
    never starting with a dot, so never ``.``, ``..`` or a hidden name.
    """
    name = _NOT_NAME.sub("_", str(value))
    return "_" + name if not name or name.startswith(".") else name


def as_storage_path(destination: Any) -> Any:
    """An ``ObjectStoragePath`` for a destination given as one, as a URL, or as a local path."""
    from airflow.sdk import ObjectStoragePath

    if isinstance(destination, ObjectStoragePath):
        return destination
    text = os.fspath(destination) if isinstance(destination, os.PathLike) else str(destination)
    if not text.strip():
        raise MediaJobConfigError("destination is empty; give a folder path or an object storage URL.")
    if "://" not in text:
        text = "file://" + os.path.abspath(os.path.expanduser(text))
    return ObjectStoragePath(text)


def destination_uri(destination: Any) -> str:
    """The Asset URI of a destination: ``scheme://bucket/key`` (no connection id) or ``file:///abs``."""
    from airflow.sdk import ObjectStoragePath

    if isinstance(destination, ObjectStoragePath):
        protocol = destination.protocol or "file"
        if protocol in ("file", "local"):
            return "file://" + str(destination.path)
        bucket = str(destination.bucket).rpartition("@")[2]  # Airflow 3.1 keeps the conn id in it
        return f"{protocol}://{bucket}/{destination.key}".rstrip("/")
    raw = os.fspath(destination) if isinstance(destination, os.PathLike) else str(destination)
    if "{{" in raw or "{%" in raw:
        raise MediaJobConfigError(
            f"asset=True needs a literal destination, not the template {raw!r} (an Asset URI is fixed "
            "when the DAG is parsed); pass outlets=[Asset(...)] yourself instead."
        )
    if "://" not in raw:
        return "file://" + os.path.abspath(os.path.expanduser(raw))
    parts = urlsplit(raw)
    netloc = parts.netloc.rpartition("@")[2]  # ObjectStoragePath puts the conn id in the userinfo
    return parts._replace(netloc=netloc).geturl().rstrip("/")


__all__ = ["as_storage_path", "destination_uri"]
