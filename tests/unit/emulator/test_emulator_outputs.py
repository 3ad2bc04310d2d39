"""The output "CDN": content of downloads, signed-URL expiry and tampering, re-signing, auth headers."""

from __future__ import annotations

import struct
import zlib

import pytest
import requests

from support.constants import PROVIDERS
from support.emulator_api import PNG_MAGIC, is_access_denied, output_urls, query_param, with_query


def _finished(api, emu, provider, kind=None, **script):
    if kind:
        script["kind"] = kind
    job_id = emu.add_job(provider, outcome="succeeded", queued_s=5, running_s=5, **script)
    api.advance(15)
    body = api.status(provider, job_id, kind)
    return job_id, body


def _assert_valid_png(data: bytes) -> None:
    assert data.startswith(PNG_MAGIC)
    # walk the chunks: IHDR first, IEND last, every CRC right
    pos = len(PNG_MAGIC)
    names = []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        name = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(name + chunk) & 0xFFFFFFFF == crc, name
        names.append(name)
        pos += 12 + length
    assert names[0] == b"IHDR"
    assert names[-1] == b"IEND"
    assert b"IDAT" in names


def test_goenhance_image_outputs_are_pngs(emu, api):
    _, body = _finished(api, emu, "goenhance", kind="faceswap", outputs=["image", "image"])
    outputs = output_urls("goenhance", body)
    assert [k for k, _ in outputs] == ["image", "image"]
    assert outputs[0][1] != outputs[1][1]
    for _, url in outputs:
        response = api.download(url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/png")
        assert int(response.headers["content-length"]) == len(response.content)
        _assert_valid_png(response.content)


def test_tams_image_and_video_outputs(emu, api):
    _, body = _finished(api, emu, "tensorart", outputs=["image", "video"])
    info = body["job"]["successInfo"]
    assert len(info["images"]) == 1
    assert len(info["videos"]) == 1
    image = api.download(info["images"][0]["url"])
    assert image.status_code == 200
    _assert_valid_png(image.content)
    video = api.download(info["videos"][0]["url"])
    assert video.status_code == 200
    assert video.headers["content-type"].startswith("video/mp4")
    assert int(video.headers["content-length"]) == len(video.content) > 0


@pytest.mark.parametrize(
    ("provider", "kind"), [("tensorpix", None), ("vozo", "lipsync"), ("goenhance", "video2video")]
)
def test_video_output_size_is_configurable(emu, api, provider, kind):
    _, body = _finished(api, emu, provider, kind=kind, output_bytes=12345)
    ((out_kind, url),) = output_urls(provider, body, kind)
    assert out_kind == "video"
    response = api.download(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("video/mp4")
    assert response.headers["content-length"] == "12345"
    assert len(response.content) == 12345


def test_video_outputs_are_a_real_clip_padded_to_their_size(emu, api):
    from airflow_provider_mediajobs.emulator.cdn import clip

    bodies = []
    for _ in range(2):
        _, body = _finished(api, emu, "tensorpix", output_bytes=20_000)
        data = api.download(body["output_video"]["file"]).content
        assert len(data) == 20_000
        playable = clip()
        assert data.startswith(playable) and b"moov" in playable and b"avc1" in playable
        # what follows the clip is one top-level `free` box up to the end
        (length,) = struct.unpack(">I", data[len(playable) : len(playable) + 4])
        assert data[len(playable) + 4 : len(playable) + 8] == b"free"
        assert len(playable) + length == len(data)
        bodies.append(data)
    assert bodies[0] != bodies[1]  # each job's file is its own (its sha256 differs)


def test_requests_download_streams_the_promised_length(emu, api):
    _, body = _finished(api, emu, "tensorpix", output_bytes=200_000)
    url = body["output_video"]["file"]
    with requests.get(url, stream=True, timeout=10) as response:
        assert response.status_code == 200
        total = sum(len(chunk) for chunk in response.iter_content(8192))
        assert total == int(response.headers["Content-Length"]) == 200_000


def test_vozo_translate_outputs_have_their_types(emu, api):
    _, body = _finished(api, emu, "vozo", kind="translate")
    result = body["result"]
    expected = {"video_url": "video/mp4", "audio_url": "audio/mpeg", "subtitle_url": "text/plain"}
    for field, content_type in expected.items():
        response = api.download(result[field])
        assert response.status_code == 200, field
        assert response.headers["content-type"].startswith(content_type), field
        assert int(response.headers["content-length"]) == len(response.content) > 0


# ------------------------------------------------------------------------------------------------
# Expiry
# ------------------------------------------------------------------------------------------------
def test_goenhance_urls_live_twelve_emulated_hours(emu, api):
    _, body = _finished(api, emu, "goenhance", kind="faceswap")
    url = body["data"]["img_url"]
    api.advance(11 * 3600)
    assert api.download(url).status_code == 200
    api.advance(2 * 3600)
    response = api.download(url)
    assert is_access_denied(response.status_code, response.text), (response.status_code, response.text)


def test_tams_url_lives_expired_in_seconds(emu, api):
    _, body = _finished(api, emu, "tensorart", outputs=["image"])
    image = body["job"]["successInfo"]["images"][0]
    lifetime = int(image["expiredIn"])
    assert lifetime > 60
    api.advance(lifetime - 30)
    assert api.download(image["url"]).status_code == 200
    api.advance(60)
    response = api.download(image["url"])
    assert is_access_denied(response.status_code, response.text), (response.status_code, response.text)


def test_tensorpix_url_is_resigned_on_every_read(emu, api):
    job_id, body = _finished(api, emu, "tensorpix")
    first = body["output_video"]["file"]
    api.advance(60)
    second = api.status("tensorpix", job_id)["output_video"]["file"]
    assert second != first
    assert int(query_param(second, "expires")) > int(query_param(first, "expires"))

    api.advance(30 * 86400)  # far beyond any URL lifetime
    for stale in (first, second):
        response = api.download(stale)
        assert is_access_denied(response.status_code, response.text)
    fresh = api.status("tensorpix", job_id)["output_video"]["file"]
    response = api.download(fresh)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("video/mp4")


@pytest.mark.parametrize("provider", ["goenhance", "tensorart", "vozo"])
def test_urls_expire_after_a_long_advance(emu, api, provider):
    _, body = _finished(api, emu, provider)
    url = output_urls(provider, body)[0][1]
    api.advance(30 * 86400)
    response = api.download(url)
    assert is_access_denied(response.status_code, response.text)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_url_lifetime_is_scriptable(emu, api, provider):
    _, body = _finished(api, emu, provider, url_lifetime_s=40)
    url = output_urls(provider, body)[0][1]
    assert api.download(url).status_code == 200
    api.advance(60)
    response = api.download(url)
    assert is_access_denied(response.status_code, response.text), (response.status_code, response.text)


# ------------------------------------------------------------------------------------------------
# Tampering
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tamper", ["sig", "expires", "no-sig", "no-expires", "other-path"])
def test_tampered_urls_are_denied(emu, api, tamper):
    _, body = _finished(api, emu, "tensorpix")
    url = body["output_video"]["file"]
    sig = query_param(url, "sig")
    expires = query_param(url, "expires")
    assert api.download(url).status_code == 200
    flipped = ("0" if sig[-1] != "0" else "1") if sig else "x"
    changed = {
        "sig": with_query(url, sig=sig[:-1] + flipped),
        "expires": with_query(url, expires=str(int(expires) + 3600)),
        "no-sig": with_query(url, sig=None),
        "no-expires": with_query(url, expires=None),
        "other-path": url.replace("/cdn/tensorpix/", "/cdn/tensorpix/x", 1),
    }[tamper]
    response = api.download(changed)
    assert is_access_denied(response.status_code, response.text), (response.status_code, response.text)


# ------------------------------------------------------------------------------------------------
# Authorization headers sent to the CDN are counted
# ------------------------------------------------------------------------------------------------
def test_cdn_counts_authorization_headers(emu, api):
    _, body = _finished(api, emu, "tensorpix")
    url = body["output_video"]["file"]
    assert api.download(url).status_code == 200
    assert emu.stats()["cdn_authorization_headers"] == 0
    api.download(url, headers={"Authorization": "Token tensorpix-emulator-key"})
    requests.get(url, headers={"Authorization": "Bearer leaked"}, timeout=10)
    assert emu.stats()["cdn_authorization_headers"] == 2
    assert api.http.get("/_emulator/stats").json()["cdn_authorization_headers"] == 2
    # API calls with Authorization do not count as CDN leaks
    api.status("tensorpix", body["id"])
    assert emu.stats()["cdn_authorization_headers"] == 2
