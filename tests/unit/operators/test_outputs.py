"""MediaJobOutputsOperator's inputs: file names, destinations, assets, job dicts, retries, stores."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import Asset, ObjectStoragePath

from airflow_provider_mediajobs.dialects.wire import CallContext
from airflow_provider_mediajobs.exceptions import MediaJobConfigError
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.operators import MediaJobOutputsOperator
from airflow_provider_mediajobs.operators.destinations import as_storage_path, destination_uri
from airflow_provider_mediajobs.operators.filenames import output_filenames

from support.connections import set_connections

CTX = CallContext("vozo", "vozo_default", "task-1")


def job_with(*outputs: tuple[str, OutputKind, str | None]) -> MediaJob:
    return MediaJob(
        provider="vozo",
        job_id="task/1:x",
        state=JobState.SUCCEEDED,
        outputs=tuple(MediaOutput(url=url, kind=kind, name=name) for url, kind, name in outputs),
    )


TRANSLATED = job_with(
    ("https://cdn.vozo.test/r/final.MP4?sig=1", OutputKind.VIDEO, "video"),
    ("https://cdn.vozo.test/r/voice?sig=1", OutputKind.AUDIO, "audio"),
    ("https://cdn.vozo.test/r/subs.srt", OutputKind.OTHER, "subtitle"),
    ("https://cdn.vozo.test/r/blob", OutputKind.OTHER, None),
)


def names(template: str, job: MediaJob = TRANSLATED) -> list[str]:
    operator = MediaJobOutputsOperator(
        task_id="p", job_id="x", destination="/tmp", filename_template=template
    )
    return output_filenames(operator.filename_template, job, CTX)


# ---- file names ---------------------------------------------------------------------------------------
def test_default_names_are_stable_and_safe() -> None:
    assert names("{provider}-{job_id}-{index}{ext}") == [
        "vozo-task_1_x-0.mp4",  # the id is cleaned; the extension comes from the URL, lower-cased
        "vozo-task_1_x-1.mp3",  # no extension in the URL: from the kind
        "vozo-task_1_x-2.srt",
        "vozo-task_1_x-3.bin",
    ]


def test_template_fields() -> None:
    assert names("{index:02d}_{kind}_{name}{ext}") == [
        "00_video_video.mp4",
        "01_audio_audio.mp3",
        "02_other_subtitle.srt",
        "03_other_blob.bin",
    ]


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{provider}-{kind}", "outputs 2 and 3 the same name"),
        ("{job}{ext}", "cannot be filled"),
        ("{index}/{name}{ext}", "unsafe"),
        ("..{index}", "unsafe"),
        (".{index}{ext}", "unsafe"),
        ("{index}\\x", "unsafe"),
    ],
)
def test_bad_templates_fail_before_any_download(template: str, words: str) -> None:
    with pytest.raises(MediaJobConfigError) as caught:
        names(template)
    assert words in str(caught.value)
    assert str(caught.value).startswith("[vozo conn_id='vozo_default' job_id='task-1']")


# ---- destinations and assets -------------------------------------------------------------------------
def test_destinations(tmp_path: Path) -> None:
    assert str(as_storage_path(str(tmp_path))) == f"file://{tmp_path}"
    assert str(as_storage_path(tmp_path)) == f"file://{tmp_path}"
    assert str(as_storage_path(f"file://{tmp_path}")) == f"file://{tmp_path}"
    s3 = as_storage_path("s3://aws_media@bucket/renders")
    conn_id = getattr(s3, "conn_id", None) or s3.storage_options.get("conn_id")  # Airflow 3.1: no attribute
    assert (s3.protocol, conn_id, s3.bucket.rpartition("@")[2], s3.key) == (
        "s3",
        "aws_media",
        "bucket",
        "renders",
    )
    given = ObjectStoragePath(f"file://{tmp_path}")
    assert as_storage_path(given) is given
    with pytest.raises(MediaJobConfigError):
        as_storage_path(" ")


@pytest.mark.parametrize(
    ("destination", "uri"),
    [
        ("/data/renders/", "file:///data/renders"),
        ("file:///data/renders", "file:///data/renders"),
        ("s3://aws_media@bucket/renders/", "s3://bucket/renders"),
        ("gs://bucket/renders", "gs://bucket/renders"),
    ],
)
def test_asset_uri_of_a_destination(destination: str, uri: str) -> None:
    assert destination_uri(destination) == uri
    assert (
        destination_uri(ObjectStoragePath(destination if "://" in destination else "file://" + destination))
        == uri
    )


def test_asset_true_adds_an_outlet_and_keeps_the_users() -> None:
    mine = Asset(uri="s3://bucket/catalog")
    operator = MediaJobOutputsOperator(
        task_id="p", job_id="1", provider="tensorpix", destination="/data/renders", asset=True, outlets=[mine]
    )
    assert operator.outlets == [mine, Asset(uri="file:///data/renders")]
    plain = MediaJobOutputsOperator(
        task_id="q", job_id="1", provider="tensorpix", destination="/data/renders"
    )
    assert plain.outlets == []


def test_asset_needs_a_literal_destination() -> None:
    with pytest.raises(MediaJobConfigError) as caught:
        MediaJobOutputsOperator(
            task_id="p", job_id="1", provider="tensorpix", destination="{{ params.out }}", asset=True
        )
    assert "outlets=[Asset(...)]" in str(caught.value)


# ---- inputs ---------------------------------------------------------------------------------------------
def test_job_dict_rendered_as_text_is_read_back() -> None:
    job = MediaJob(provider="tensorpix", job_id="77", state=JobState.SUCCEEDED, job_kind="default")
    for text in (json.dumps(job.to_dict()), repr(job.to_dict())):  # JSON, or Jinja's Python repr
        operator = MediaJobOutputsOperator(task_id="p", job_id=text, destination="/tmp")
        assert operator._target() == ("tensorpix", "77", "default", None)


def test_bare_id_needs_a_provider_or_a_connection() -> None:
    with pytest.raises(MediaJobConfigError) as caught:
        MediaJobOutputsOperator(task_id="p", job_id="77", destination="/tmp")._target()
    assert "conn_id" in str(caught.value)


def test_bare_id_reads_the_provider_from_the_connection_with_the_one_wording(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_connections(monkeypatch, {"my_pix": {"conn_type": "tensorpix", "password": "k"}})
    set_connections(monkeypatch, {"my_http": {"conn_type": "http", "host": "https://x.test"}})
    target = MediaJobOutputsOperator(task_id="p", job_id="77", conn_id="my_pix", destination="/tmp")._target()
    assert target == ("tensorpix", "77", None, "my_pix")
    with pytest.raises(MediaJobConfigError, match=r"'nope' does not exist\. Create a media-job connection"):
        MediaJobOutputsOperator(task_id="p", job_id="77", conn_id="nope", destination="/tmp")._target()
    with pytest.raises(MediaJobConfigError, match="'http'"):
        MediaJobOutputsOperator(task_id="p", job_id="77", conn_id="my_http", destination="/tmp")._target()


def test_provider_that_contradicts_the_job_dict() -> None:
    job = MediaJob(provider="tensorpix", job_id="77", state=JobState.SUCCEEDED).to_dict()
    with pytest.raises(MediaJobConfigError) as caught:
        MediaJobOutputsOperator(task_id="p", job_id=job, provider="vozo", destination="/tmp")._target()
    assert "'tensorpix' job" in str(caught.value)


def test_negative_max_bytes_is_refused() -> None:
    with pytest.raises(MediaJobConfigError):
        MediaJobOutputsOperator(task_id="p", job_id="1", provider="vozo", destination="/tmp", max_bytes=-1)


# ---- against the emulator ---------------------------------------------------------------------------------
def test_rate_limited_download_waits_at_least_retry_after(
    emulator, finished, files, dest, no_backoff
) -> None:
    job = finished("tensorart", outputs=["image"])
    emulator.inject_fault(provider="tensorart", route="cdn", kind="http_429", count=1, retry_after=9)

    operator = MediaJobOutputsOperator(
        task_id="p", job_id=job.job_id, provider="tensorart", destination=str(dest)
    )
    operator.execute({})

    assert len(no_backoff) == 1 and no_backoff[0] >= 9
    assert emulator.stats()["requests"]["cdn"] == {"429": 1, "200": 1}
    assert len(files(dest)) == 1


def test_asset_event_extra_describes_the_files(emulator, finished, dest) -> None:
    from airflow.sdk.execution_time.context import OutletEventAccessors

    job = finished("goenhance", "faceswap", outputs=["image", "image"])
    operator = MediaJobOutputsOperator(
        task_id="p", job_id=job.job_id, provider="goenhance", destination=str(dest), asset=True
    )
    events = OutletEventAccessors()
    results = operator.execute({"outlet_events": events})

    extra = events[Asset(uri=f"file://{dest}")].extra
    assert extra["provider"] == "goenhance"
    assert extra["conn_id"] == "goenhance_default"
    assert extra["job_id"] == job.job_id
    assert [f["sha256"] for f in extra["files"]] == [r["sha256"] for r in results]
    assert [f["path"] for f in extra["files"]] == [r["path"] for r in results]
    json.dumps(extra)  # an asset event's extra must be JSON


@pytest.fixture
def memory_store() -> Any:
    from airflow.sdk.io import store
    from fsspec.implementations.memory import MemoryFileSystem

    class Isolated(MemoryFileSystem):
        store: dict[str, Any] = {}
        pseudo_dirs = [""]

    fs = Isolated()
    fs.store.clear()
    store._STORE_CACHE.pop("memory", None)
    store.attach(protocol="memory", fs=fs)
    yield fs
    store._STORE_CACHE.pop("memory", None)
    fs.store.clear()


def test_object_storage_destination(emulator, finished, served, memory_store) -> None:
    job = finished("tensorart", outputs=["image", "video"], output_bytes=30_000)
    expected = served(job)

    destination = ObjectStoragePath("memory://media-bucket/renders")
    results = MediaJobOutputsOperator(
        task_id="p", job_id=job.job_id, provider="tensorart", destination=destination
    ).execute({})

    keys = sorted(k for k in memory_store.store if "media-bucket" in k)
    assert keys == sorted(ObjectStoragePath(r["path"]).path for r in results)
    # (Airflow 3.1's universal-pathlib writes memory:///media-bucket/..., later ones memory://media-bucket/...)
    assert all(
        r["path"].startswith("memory://")
        and ObjectStoragePath(r["path"]).path.lstrip("/").startswith("media-bucket/renders/tensorart-")
        for r in results
    )
    stored = sorted(memory_store.cat_file(k) for k in keys)
    assert stored == sorted(expected.values())
    assert [r["sha256"] for r in results] == [
        hashlib.sha256(memory_store.cat_file(k)).hexdigest() for k in keys
    ]


def test_unusable_destination_fails_before_any_request(emulator, finished) -> None:
    job = finished("tensorpix")
    before = emulator.stats()["requests"]

    with pytest.raises(MediaJobConfigError) as caught:
        MediaJobOutputsOperator(
            task_id="p", job_id=job.job_id, provider="tensorpix", destination="nosuchstore://bucket/renders"
        ).execute({})

    message = str(caught.value)
    assert message.startswith(f"[tensorpix conn_id='tensorpix_default' job_id='{job.job_id}']")
    assert "destination 'nosuchstore://bucket/renders' cannot be used" in message
    assert "provider is installed" in message
    assert emulator.stats()["requests"] == before
