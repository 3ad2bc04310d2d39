"""The destination side of a download: a local file or any fsspec object store (Airflow's
``ObjectStoragePath``), with the moves that make a file appear only complete and the cleanup of
what an interrupted download left behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from typing import Any

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
LOCAL_PROTOCOLS = frozenset({"", "file", "local"})


def is_local(path: Any) -> bool:
    return str(getattr(path, "protocol", "") or "") in LOCAL_PROTOCOLS


def sha256_of(path: Any) -> str:
    """The hex sha256 of the object at ``path`` (a storage path), read in chunks."""
    digest = hashlib.sha256()
    with path.fs.open(path.path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def size_if_exists(path: Any) -> int | None:
    fs = path.fs
    if not fs.exists(path.path):
        return None
    return int(fs.size(path.path))


def commit(temp: Any, target: Any) -> None:
    """Move the complete temporary file into place (replacing an existing target)."""
    if is_local(target):
        os.replace(temp.path, target.path)  # atomic on POSIX and Windows
    else:
        target.fs.mv(temp.path, target.path)  # object stores: server-side copy + delete


def sweep_abandoned(target: Any, older_than: float, logger: logging.Logger | Any) -> list[str]:
    """Remove the ``.part-`` files of ``target`` untouched for ``older_than`` seconds.

    A worker killed mid-download (SIGKILL, OOM, a lost node) cannot clean up after itself; a live
    download writes to its file at least once per ``download_timeout`` (or is abandoned), so an
    older one is a leftover. Local folders only: object stores show an object only once its
    upload completes (an unfinished multipart upload is the bucket's lifecycle rules' business).
    """
    if not is_local(target):
        return []
    directory, name = os.path.split(str(target.path))
    pattern = re.compile(re.escape(f".{name}.part-") + "[0-9a-f]{12}")
    removed = []
    now = time.time()
    try:
        with os.scandir(directory or ".") as entries:
            for entry in entries:
                if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                age = now - entry.stat(follow_symlinks=False).st_mtime
                if age > older_than:
                    os.unlink(entry.path)
                    removed.append(entry.path)
                    logger.info(
                        "Removed %s, left by an earlier download that stopped %.0f s ago.", entry.path, age
                    )
    except OSError as err:  # never fail a download over housekeeping
        logger.warning("Could not sweep old temporary files next to %s (%s).", target, type(err).__name__)
    return removed


def discard(path: Any) -> None:
    """Remove ``path`` if it exists; never masks the error that made us clean up."""
    try:
        fs = path.fs
        if fs.exists(path.path):
            fs.rm_file(path.path)
    except Exception:
        log.warning("Could not remove the temporary file %s; delete it by hand.", path)
