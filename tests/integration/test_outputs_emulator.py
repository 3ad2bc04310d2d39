"""MediaJobOutputsOperator against the emulator: real HTTP on 127.0.0.1, real files on disk.

The operator runs the way a worker runs it (``execute(context)``); expected bytes come from the
emulator itself (see ``served`` in conftest), and what reached the CDN is read from its stats.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import httpx
import pytest

from airflow_provider_mediajobs.exceptions import (
    JobNotSucceededError,
    MediaJobCanceledError,
    MediaJobFailedError,
    MediaJobTransientError,
    OutputExistsError,
    OutputExpiredError,
    OutputTooLargeError,
)
from airflow_provider_mediajobs.hooks import MediaJobHook, TensorPixHook
from airflow_provider_mediajobs.operators import MediaJobOutputsOperator

CASES = [
    pytest.param("goenhance", "faceswap", {"outputs": ["image", "image"]}, id="goenhance-images"),
    pytest.param("goenhance", "video2video", {"output_bytes": 300_000}, id="goenhance-video"),
    pytest.param(
        "tensorart", None, {"outputs": ["image", "video"], "output_bytes": 70_000}, id="tams-image+video"
    ),
    pytest.param("vozo", "lipsync", {"output_bytes": 50_000}, id="vozo-lipsync-video"),
    pytest.param("vozo", "translate", {}, id="vozo-translate-video+audio+srt"),
    pytest.param("tensorpix", None, {"output_bytes": 2_500_000}, id="tensorpix-video-3-chunks"),
]
CONTENT_TYPES = {"png": "image/png", "mp4": "video/mp4", "mp3": "audio/mpeg", "srt": "text/plain"}
KINDS = {"png": "image", "mp4": "video", "mp3": "audio", "srt": "other"}


def cdn_counts(emulator, since: dict[str, int] | None = None) -> dict[str, int]:
    """CDN answers by status (``since``: minus an earlier snapshot)."""
    now = emulator.stats()["requests"].get("cdn", {})
    since = since or {}
    return {k: v - since.get(k, 0) for k, v in now.items() if v - since.get(k, 0)}


def status_reads(emulator, provider: str) -> int:
    return sum(emulator.stats()["requests"].get(f"{provider} status", {}).values())


def persist(job, dest, **kwargs):
    operator = MediaJobOutputsOperator(
        task_id="persist",
        job_id=job.job_id,
        provider=job.provider,
        job_kind=job.kind,
        destination=str(dest),
        **kwargs,
    )
    return operator.execute({})


# ---- byte-exact, every provider -------------------------------------------------------------
@pytest.mark.parametrize(("provider", "kind", "script"), CASES)
def test_outputs_land_byte_exact(emulator, finished, served, files, dest, provider, kind, script):
    job = finished(provider, kind, **script)
    expected = served(job)

    results = persist(job, dest)

    assert len(results) == len(expected) > 0
    on_disk = files(dest)
    assert len(on_disk) == len(results)  # nothing else: no temporary file left behind
    for result in results:
        source = urlsplit(result["url"]).path
        body = expected[source]
        name = os.path.basename(urlsplit(result["path"]).path)
        assert result["path"] == f"file://{dest}/{name}"
        assert name.startswith(f"{provider}-{job.job_id}-")
        assert on_disk[name] == body
        assert result["bytes"] == len(body)
        assert result["sha256"] == hashlib.sha256(body).hexdigest()
        ext = source.rsplit(".", 1)[-1]
        assert name.endswith("." + ext)
        assert result["content_type"].startswith(CONTENT_TYPES[ext])
        assert result["kind"] == KINDS[ext]
        assert result["skipped"] is False
    assert emulator.stats()["cdn_authorization_headers"] == 0


def test_job_dict_from_a_sensor_and_provider_from_the_connection(emulator, finished, served, files, dest):
    job = finished("tensorart", outputs=["image"])
    xcom = sensor_xcom(job.job_id)
    by_dict = MediaJobOutputsOperator(task_id="a", job_id=xcom, destination=str(dest / "a")).execute({})
    by_conn = MediaJobOutputsOperator(
        task_id="b", job_id=job.job_id, conn_id="tensorart_default", destination=str(dest / "b")
    ).execute({})

    (body,) = served(job).values()
    assert files(dest / "a") == files(dest / "b") == {f"tensorart-{job.job_id}-0.png": body}
    assert by_dict[0]["sha256"] == by_conn[0]["sha256"]


def sensor_xcom(job_id: str) -> dict:
    """The job dict a TensorArt sensor or submit operator pushes to XCom."""
    from airflow_provider_mediajobs.hooks import TensorArtHook

    return TensorArtHook().get_job(job_id).to_dict()


# ---- the key never leaves for the CDN ---------------------------------------------------------
def test_the_api_key_never_reaches_the_output_host(emulator, finished, dest):
    job = finished("vozo", "translate")
    key = emulator.credentials("vozo")["api_key"]

    results = persist(job, dest)

    assert cdn_counts(emulator).get("200") == 3
    assert emulator.stats()["cdn_authorization_headers"] == 0
    # the XCom carries neither the key nor the URLs' signatures
    text = json.dumps(results)
    assert key not in text
    assert "sig=" not in text
    assert "expires=" not in text
    # the emulator's counter is live: a request that does carry a key is counted
    httpx.get(emulator.url + "/cdn/vozo/x/output_0.mp4", headers={"Authorization": f"Bearer {key}"})
    assert emulator.stats()["cdn_authorization_headers"] == 1


# ---- expiry ----------------------------------------------------------------------------------
def test_expired_url_is_refreshed_by_one_more_read(emulator, finished, served, files, dest, monkeypatch):
    """TensorPix re-signs on every read: the URL of the first read expires before the download."""
    job = finished("tensorpix", output_bytes=10_000)
    (body,) = served(job).values()
    reads_before, cdn_before = status_reads(emulator, "tensorpix"), cdn_counts(emulator)
    real_get_job = MediaJobHook.get_job
    calls = []

    def get_job_then_wait(self, job_id, kind=None):
        found = real_get_job(self, job_id, kind)
        calls.append(found.output_urls)
        if len(calls) == 1:
            emulator.advance(3 * 3600)  # the task sat in a queue: the 2 h signature is gone
        return found

    monkeypatch.setattr(MediaJobHook, "get_job", get_job_then_wait)

    results = persist(job, dest)

    assert len(calls) == 2
    assert calls[0] != calls[1]  # a freshly signed URL
    assert cdn_counts(emulator, cdn_before) == {"200": 1, "403": 1}
    assert status_reads(emulator, "tensorpix") - reads_before == 2
    assert files(dest) == {f"tensorpix-{job.job_id}-0.mp4": body}
    assert results[0]["bytes"] == len(body)


def test_url_past_its_expiry_is_refreshed_before_any_download(
    emulator, finished, served, files, dest, monkeypatch
):
    job = finished("tensorpix")
    (body,) = served(job).values()
    cdn_before = cdn_counts(emulator)
    real_get_job = MediaJobHook.get_job
    calls = []

    def first_read_is_stale(self, job_id, kind=None):
        found = real_get_job(self, job_id, kind)
        calls.append(found)
        if len(calls) == 1:
            past = datetime.now(timezone.utc) - timedelta(minutes=5)
            stale = tuple(dataclasses.replace(o, expires_at=past) for o in found.outputs)
            return dataclasses.replace(found, outputs=stale)
        return found

    monkeypatch.setattr(MediaJobHook, "get_job", first_read_is_stale)

    persist(job, dest)

    assert len(calls) == 2
    assert cdn_counts(emulator, cdn_before) == {"200": 1}  # the stale URL was never tried
    assert files(dest) == {f"tensorpix-{job.job_id}-0.mp4": body}


def test_url_expired_for_good_fails_after_one_reread(emulator, finished, files, dest):
    """GoEnhance URLs live 12 h from the job's end; reading again does not re-sign them."""
    job = finished("goenhance", "faceswap")
    emulator.advance(13 * 3600)
    reads_before = status_reads(emulator, "goenhance")

    with pytest.raises(OutputExpiredError) as caught:
        persist(job, dest)

    message = str(caught.value)
    assert message.startswith(f"[goenhance conn_id='goenhance_default' job_id='{job.job_id}']")
    assert "403" in message
    assert "sig=" not in message
    assert "before its output URLs expire" in message
    assert status_reads(emulator, "goenhance") - reads_before == 2  # the read, then one re-read
    assert cdn_counts(emulator) == {"403": 2}
    assert files(dest) == {}


# ---- broken downloads ------------------------------------------------------------------------
def test_truncated_download_is_retried(emulator, finished, served, files, dest, no_backoff):
    job = finished("tensorpix", output_bytes=400_000)
    (body,) = served(job).values()
    emulator.inject_fault(provider="tensorpix", route="cdn", kind="truncated", count=1)

    results = persist(job, dest)

    assert cdn_counts(emulator).get("truncated") == 1
    assert len(no_backoff) == 1
    assert files(dest) == {f"tensorpix-{job.job_id}-0.mp4": body}
    assert results[0]["sha256"] == hashlib.sha256(body).hexdigest()


def test_truncated_download_leaves_no_file_behind(emulator, finished, files, dest, no_backoff):
    job = finished("goenhance", "video2video", output_bytes=400_000)
    emulator.inject_fault(provider="goenhance", route="cdn", kind="truncated")

    with pytest.raises(MediaJobTransientError) as caught:
        persist(job, dest, attempts_per_file=2)

    assert cdn_counts(emulator) == {"truncated": 2}
    assert len(no_backoff) == 1
    assert files(dest) == {}  # neither the file nor a temporary one
    assert f"job_id='{job.job_id}'" in str(caught.value)
    assert "nothing was written" in str(caught.value)


def test_max_bytes_is_enforced(emulator, finished, files, dest, no_backoff):
    job = finished("tensorart", outputs=["image", "video"], output_bytes=100_000)

    with pytest.raises(OutputTooLargeError) as caught:
        persist(job, dest, max_bytes=50_000)

    assert "max_bytes=50000" in str(caught.value)
    assert "Raise max_bytes" in str(caught.value)
    assert no_backoff == []  # not retried
    # the image (under the limit) was written; the video was not, and left nothing behind
    assert list(files(dest)) == [f"tensorart-{job.job_id}-0.png"]

    results = persist(job, dest, max_bytes=100_000)  # exactly the size: allowed
    assert [r["bytes"] for r in results][1] == 100_000


# ---- idempotence and overwrite -----------------------------------------------------------------
def test_second_run_skips_identical_files(emulator, finished, files, dest):
    job = finished("vozo", "translate")
    first = persist(job, dest)
    inodes = {p.name: p.stat().st_ino for p in dest.iterdir()}

    second = persist(job, dest)

    assert [r["skipped"] for r in first] == [False, False, False]
    assert [r["skipped"] for r in second] == [True, True, True]
    assert [(r["path"], r["sha256"], r["bytes"]) for r in first] == [
        (r["path"], r["sha256"], r["bytes"]) for r in second
    ]
    assert {p.name: p.stat().st_ino for p in dest.iterdir()} == inodes  # not even replaced
    assert len(files(dest)) == 3


@pytest.mark.parametrize("stale", [b"an older render", b"x" * 4096], ids=["other-size", "same-size"])
def test_different_existing_file_needs_overwrite(emulator, finished, served, files, dest, stale):
    job = finished("tensorpix", output_bytes=4096)
    (body,) = served(job).values()
    dest.mkdir()
    name = f"tensorpix-{job.job_id}-0.mp4"
    (dest / name).write_bytes(stale)

    with pytest.raises(OutputExistsError) as caught:
        persist(job, dest)
    assert "overwrite=True" in str(caught.value)
    assert files(dest) == {name: stale}  # untouched, no temporary file

    results = persist(job, dest, overwrite=True)
    assert files(dest) == {name: body}
    assert results[0]["skipped"] is False


# ---- jobs that have no outputs -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "script", "error", "words"),
    [
        ("tensorpix", {"running_s": 100_000}, JobNotSucceededError, "not succeeded"),
        ("tensorart", {"outcome": "failed", "failure_reason": "NSFW"}, MediaJobFailedError, "NSFW"),
        ("tensorart", {"outcome": "canceled"}, MediaJobCanceledError, "canceled"),
        ("vozo", {"outcome": "failed"}, MediaJobFailedError, "failed"),
    ],
)
def test_job_that_did_not_succeed_fails_clearly(
    emulator, finished, files, dest, provider, script, error, words
):
    job = finished(provider, **script)

    with pytest.raises(error) as caught:
        persist(job, dest)

    message = str(caught.value)
    assert message.startswith(f"[{provider} conn_id='{provider}_default' job_id='{job.job_id}']")
    assert words in message
    assert "no outputs" in message
    assert cdn_counts(emulator) == {}
    assert files(dest) == {}


def test_unknown_job_names_the_connection(emulator, dest):
    from airflow_provider_mediajobs.exceptions import MediaJobNotFoundError

    with pytest.raises(MediaJobNotFoundError) as caught:
        MediaJobOutputsOperator(
            task_id="p", job_id="424242", conn_id="tensorpix_default", destination=str(dest)
        ).execute({})
    assert "conn_id='tensorpix_default'" in str(caught.value)
    assert TensorPixHook.default_conn_name in str(caught.value)
