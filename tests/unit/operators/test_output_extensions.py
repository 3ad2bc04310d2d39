"""Issue 27: an output whose URL gives no extension (a TAMS resource id, say) is named with the
extension of the content type it is served with; a URL's own extension is kept."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from airflow_provider_mediajobs.engine.download import download
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.operators.filenames import DEFAULT_TEMPLATE, extension_for, output_filenames
from airflow_provider_mediajobs.operators.persist import _extension_from_content_type

from support.downloads import CTX, client_for, listing, local

BODY = b"\xff\xd8\xff" + b"jpeg" * 100


def _serve(content_type: str):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": content_type, "content-length": str(len(BODY))}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(BODY))

    return handler


def _job(url: str) -> MediaJob:
    output = MediaOutput(url=url, kind=OutputKind.IMAGE)
    return MediaJob(
        provider="tensorart", job_id="852104066660229369", state=JobState.SUCCEEDED, outputs=(output,)
    )


@pytest.mark.parametrize(
    ("content_type", "ext"),
    [
        ("image/jpeg", ".jpg"),
        ("image/webp; q=1", ".webp"),
        ("video/mp4", ".mp4"),
        ("application/octet-stream", ".png"),
    ],
)
def test_no_extension_in_the_url_takes_the_content_types(tmp_path: Path, content_type: str, ext: str) -> None:
    url = "https://cdn.example/resource/852104066660229369500?sig=abc"
    (name,) = output_filenames(DEFAULT_TEMPLATE, _job(url), CTX)
    assert name == "tensorart-852104066660229369-0.png"  # the kind's guess, until the answer says more
    client, _ = client_for(_serve(content_type))
    done = download(
        client, url, local(tmp_path, name), kind="image", ctx=CTX, rename_for=_extension_from_content_type
    )
    assert Path(done.path).name == f"tensorart-852104066660229369-0{ext}"
    assert listing(tmp_path) == {f"tensorart-852104066660229369-0{ext}": BODY}
    # a re-run finds the same file under the same final name and skips it
    again = download(
        client, url, local(tmp_path, name), kind="image", ctx=CTX, rename_for=_extension_from_content_type
    )
    assert again.skipped and again.path == done.path


def test_the_urls_own_extension_is_kept() -> None:
    (name,) = output_filenames(DEFAULT_TEMPLATE, _job("https://cdn.example/a/out.webp?sig=1"), CTX)
    assert name.endswith(".webp")
    assert extension_for("audio/mpeg") == ".mp3" and extension_for(None) is None
