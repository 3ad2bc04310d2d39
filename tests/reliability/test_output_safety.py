"""Output safety, end to end: what a provider's status answer says about outputs cannot make the
outputs operator fetch a non-http URL, send credentials, or carry the API key anywhere.

A succeeded job whose output URL (in each provider's own response shape, read by the real hook)
points at ``file:``, ``ftp:``, ``javascript:``, ``data:``, at the API host with ``user:key@``, at a
host that is a number in another spelling than a dotted quad (``2852039166``, ``0x7f.1``: the
metadata address, loopback), or carries text that would add Content-Security-Policy directives, is
dropped from the job where the answer is parsed (the job still succeeds, the reason is logged as
an ``UnsafeOutputUrlError`` naming provider, connection and job); a URL whose form is valid but
whose host is a link-local address (IPv4-mapped IPv6 included) is refused where it is used, by
the download, with a typed error. Either way no download request is made and nothing is written.
Against the emulator: every download reaches the CDN without an ``Authorization`` header, and an
output URL that points back at the provider's API is fetched without the key (the API answers 401).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from reliability_support import connection

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.engine.urls import REASONS
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobError,
    NoOutputsError,
    PrivateOutputHostError,
)
from airflow_provider_mediajobs.hooks import hook_class
from airflow_provider_mediajobs.models import JobState
from airflow_provider_mediajobs.operators import MediaJobOutputsOperator

from support.connections import default_connections, set_connections
from support.constants import BASE_URLS, PROVIDERS

KEY = "live-key-OUTPUT-SAFETY-0123456789"
API_HOSTS = {provider: urlsplit(url).hostname for provider, url in BASE_URLS.items()}
JOB_IDS = {
    "goenhance": "5334c57d-8443-4b79-ba24-8539c2163c74",
    "tensorart": "794323827366354822",
    "vozo": "4f65d4d9259f4329e6f4590b",
    "tensorpix": "4242",
}


def unsafe_urls(provider: str) -> dict[str, str]:
    host = API_HOSTS[provider]
    return {
        "file": "file:///etc/passwd",
        "file_no_slashes": "file:etc/passwd",
        "ftp": f"ftp://{host}/out.mp4",
        "javascript": "javascript:alert(document.cookie)",
        "javascript_mixed_case": "JavaScript:alert(1)",
        "javascript_obfuscated": " jav\tascript:alert(1)",
        "data": "data:video/mp4;base64,AAAAIGZ0eXBpc29t",
        "scheme_relative": "//evil.example/out.mp4",
        "no_host": "https:///out.mp4",
        "api_host_with_key": f"https://{KEY}@{host}/out.mp4",
        "api_host_with_user_and_key": f"https://user:{KEY}@{host}/out.mp4",
        "api_host_empty_user": f"https://:{KEY}@{host}/out.mp4",
        "decimal_metadata": "http://2852039166/latest/meta-data/",
        "octal_metadata": "http://0251.0376.0251.0376/latest/meta-data/",
        "two_part_metadata": "http://169.254.43518/latest/meta-data/",
        "hex_loopback": "http://0x7f.1:8080/out.mp4",
        "decimal_loopback": "http://2130706433:8080/out.mp4",
        "csp_injection": (
            "https://cdn.example;script-src-elem 'unsafe-inline' *;frame-ancestors *;"
            "report-uri https://evil.example/r;x/a.png"
        ),
        "csp_injection_no_spaces": "https://cdn.example;script-src-elem/a.png",
        "quote_in_host": "https://cdn.example'/a.png",
        "bad_idn": "https://exa\u200bmple\u3002\u0000.com/a.png",
        "newline": "https://cdn.example/a.png\r\nSet-Cookie: x=1",
    }


#: valid in form, refused where used: the download never connects to a link-local address
USE_REFUSED = {
    "link_local_metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "mapped_metadata": "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "link_local_v6": "http://[fe80::1]/out.mp4",
}


def status_url(provider: str, job_id: str) -> str:
    path = {
        "goenhance": f"/api/v1/jobs/detail?img_uuid={job_id}",
        "tensorart": f"/v1/jobs/{job_id}",
        "vozo": f"/v1/video_generation/{job_id}",
        "tensorpix": f"/api/jobs/{job_id}/",
    }[provider]
    return BASE_URLS[provider] + path


def succeeded_body(provider: str, job_id: str, url: str) -> dict[str, Any]:
    """A succeeded job with one output at ``url``, in the provider's documented shape."""
    if provider == "goenhance":
        data = {
            "img_uuid": job_id,
            "status": "success",
            "json": [{"type": "video", "value": url}],
            "img_url": url,
        }
        return {"code": 0, "msg": "success", "data": data}
    if provider == "tensorart":
        image = {"id": "1", "url": url, "expiredIn": "3600"}
        return {"job": {"id": job_id, "status": "SUCCESS", "successInfo": {"images": [image]}}}
    if provider == "vozo":
        return {"status": "done", "video_url": url}
    return {"id": int(job_id), "status": 2, "output_video": {"file": url, "name": "out.mp4"}}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request that reaches an httpx transport (none may, for a refused URL)."""
    seen: list[str] = []

    def refuse(self: Any, request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        raise httpx.ConnectError("no network in this test", request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    return seen


@pytest.fixture
def provider_conns(monkeypatch: pytest.MonkeyPatch) -> None:
    """``safe_<provider>``: the default test connections, with this module's key."""
    conns = default_connections(KEY)
    set_connections(monkeypatch, {f"safe_{p}": conns[f"{p}_default"] for p in PROVIDERS})


def _context() -> dict[str, Any]:
    class TI:
        dag_id, task_id, run_id, map_index, try_number = "d", "persist", "r", -1, 1

        def xcom_push(self, key: str, value: Any) -> None:
            pass

    return {"ti": TI(), "task_instance": TI()}


CASES = [(p, name) for p in PROVIDERS for name in unsafe_urls(p)]
USE_CASES = [(p, name) for p in PROVIDERS for name in USE_REFUSED]


@pytest.mark.usefixtures("provider_conns")
@pytest.mark.parametrize(("provider", "case"), CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_unsafe_output_urls_are_dropped_where_parsed(
    requests_mock: Any, caplog: pytest.LogCaptureFixture, provider: str, case: str
) -> None:
    job_id = JOB_IDS[provider]
    url = unsafe_urls(provider)[case]
    requests_mock.get(status_url(provider, job_id), json=succeeded_body(provider, job_id, url))
    with caplog.at_level(logging.WARNING):
        job = hook_class(provider)(conn_id=f"safe_{provider}").get_job(job_id)
    assert job.state is JobState.SUCCEEDED  # the job is what the provider says; only the URL goes
    assert job.outputs == ()
    dropped = [r for r in caplog.records if getattr(r, "mediajobs_refused", None)]
    assert dropped, "no logged reason for the dropped output"
    text = dropped[0].getMessage()
    for needed in ("UnsafeOutputUrlError", provider, f"safe_{provider}", job_id, "Dropped output 0"):
        assert needed in text, text
    assert dropped[0].mediajobs_refused in REASONS
    assert KEY not in text and "\n" not in text


def _persist(requests_mock: Any, provider: str, url: str, destination: Path, **kwargs: Any) -> Any:
    """The outputs operator for a succeeded job (of ``provider``'s answer shape) listing ``url``."""
    job_id = JOB_IDS[provider]
    requests_mock.get(status_url(provider, job_id), json=succeeded_body(provider, job_id, url))
    return MediaJobOutputsOperator(
        task_id="persist", job_id=job_id, conn_id=f"safe_{provider}", destination=str(destination), **kwargs
    )


@pytest.mark.usefixtures("provider_conns")
@pytest.mark.parametrize(("provider", "case"), CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_unsafe_output_urls_are_never_requested(
    requests_mock: Any, sent: list[str], tmp_path: Path, provider: str, case: str
) -> None:
    destination = tmp_path / "renders"
    operator = _persist(requests_mock, provider, unsafe_urls(provider)[case], destination)
    with pytest.raises(NoOutputsError) as caught:
        operator.execute(_context())
    assert "refused" in str(caught.value)
    assert sent == [], f"a refused URL was requested: {sent}"
    assert requests_mock.call_count == 1
    assert not destination.exists() or list(destination.rglob("*")) == []


@pytest.mark.usefixtures("provider_conns")
@pytest.mark.parametrize(("provider", "case"), USE_CASES, ids=[f"{p}-{c}" for p, c in USE_CASES])
def test_link_local_output_hosts_are_refused_before_any_request(
    requests_mock: Any, sent: list[str], tmp_path: Path, provider: str, case: str
) -> None:
    job_id = JOB_IDS[provider]
    destination = tmp_path / "renders"
    # allowing private hosts never lifts the link-local refusal
    operator = _persist(requests_mock, provider, USE_REFUSED[case], destination, allow_private_hosts=True)
    with pytest.raises(MediaJobError) as caught:
        operator.execute(_context())
    err = caught.value
    assert isinstance(err, PrivateOutputHostError), f"{type(err).__name__}: {err}"
    text = f"{err} {err!r}"
    for needed in (provider, f"safe_{provider}", job_id):
        assert needed in text
    assert KEY not in text, "the key in a refused URL was repeated in the error"
    assert sent == [], f"a refused URL was requested: {sent}"
    assert requests_mock.call_count == 1  # the one status read; nothing else went to the API
    leftovers = list(destination.rglob("*")) if destination.exists() else []
    assert leftovers == [], leftovers


# ---- against the emulator: the key never leaves for an output URL ---------------------------------
@pytest.fixture
def emulator_conns(mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    for provider in PROVIDERS:
        conn = connection(mediajobs_emulator, provider)
        set_connections(monkeypatch, {f"emu_{provider}": conn})
    return mediajobs_emulator


@pytest.mark.parametrize("provider", PROVIDERS)
def test_downloads_reach_the_cdn_without_the_key(
    emulator_conns: Emulator, tmp_path: Path, provider: str
) -> None:
    emu = emulator_conns
    kind = "translate" if provider == "vozo" else None
    job_id = str(
        emu.add_job(
            provider, outcome="succeeded", queued_s=0, running_s=0, **({"kind": kind} if kind else {})
        )
    )
    operator = MediaJobOutputsOperator(
        task_id="persist",
        job_id=job_id,
        conn_id=f"emu_{provider}",
        job_kind=kind,
        destination=str(tmp_path),
    )
    written = operator.execute(_context())
    assert len(written) == len(emu.job(provider, job_id)["outputs"]) >= 1
    assert all(Path(w["path"].removeprefix("file://")).stat().st_size == w["bytes"] > 0 for w in written)
    stats = emu.stats()
    assert stats["cdn_authorization_headers"] == 0
    assert stats["requests"]["cdn"] == {"200": len(written)}
    assert all(KEY not in json.dumps(w) and "sig=" not in w["url"] for w in written)


def test_an_output_url_on_the_api_itself_is_fetched_without_the_key(
    emulator_conns: Emulator, requests_mock: Any, tmp_path: Path
) -> None:
    """A status answer (a compromised proxy, a provider bug) names an API URL as the output: the
    download goes there without the key, so the API refuses it (401) and nothing is written."""
    emu = emulator_conns
    requests_mock.real_http = False
    job_id = str(emu.add_job("tensorpix", outcome="succeeded", queued_s=0, running_s=0))
    api_url = f"{emu.base_url('tensorpix')}/api/jobs/{job_id}/"
    status = f"{emu.base_url('tensorpix')}/api/jobs/{job_id}/"
    requests_mock.get(status, json=succeeded_body("tensorpix", job_id, api_url))  # the sync status read
    operator = MediaJobOutputsOperator(
        task_id="persist", job_id=job_id, conn_id="emu_tensorpix", destination=str(tmp_path / "out")
    )
    with pytest.raises(MediaJobApiError) as caught:
        operator.execute(_context())
    assert "401" in str(caught.value)
    # the download (httpx, not mocked) reached the real API and was refused for lack of a key
    assert emu.stats()["requests"]["tensorpix status"] == {"401": 1}
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
