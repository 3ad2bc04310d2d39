"""The one URL policy (engine/urls.py) and the bounded readers around it.

Each hostile form a provider could answer, what the policy says about it, and where it is used:
the Media view's links and Content-Security-Policy, the display helper, connection settings and
the file names outputs are written under.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_mediajobs.dialects.registry import get_dialect
from airflow_provider_mediajobs.dialects.wire import CallContext
from airflow_provider_mediajobs.engine.config import build_config
from airflow_provider_mediajobs.engine.urls import (
    UrlRefused,
    check_url,
    csp_source,
    numeric_ipv4,
    refusal_of_address,
    shown_url,
    strip_signed,
)
from airflow_provider_mediajobs.exceptions import MediaJobConfigError
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.operators.filenames import DEFAULT_TEMPLATE, output_filenames
from airflow_provider_mediajobs.plugins.app import _origins, _page_headers
from airflow_provider_mediajobs.plugins.records import task_media

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

CSP_INJECTION = (
    "https://cdn.example;script-src-elem 'unsafe-inline' *;frame-ancestors *;"
    "report-uri https://evil.example/r;x/a.png"
)


# ---- the policy --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (CSP_INJECTION, "malformed"),
        ("https://cdn.example;script-src-elem/a.png", "host"),
        ("https://cdn.example'/a.png", "host"),
        ("javascript:alert(document.cookie)", "scheme"),
        ("JavaScript:alert(1)", "scheme"),
        ("data:text/html,<script>alert(1)</script>", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("//cdn.example/a.png", "scheme"),
        ("https:///a.png", "host"),
        ("https://user:pw@cdn.example/a.png", "credentials"),
        ("https://cdn.example:0/a.png", "port"),
        ("https://cdn.example:99999/a.png", "malformed"),
        ("https://cdn.example/a.png\r\nX: y", "malformed"),
        ("https://cdn.example\\@evil.example/a.png", "malformed"),
        ("http://2852039166/", "host"),
        ("http://0251.0376.0251.0376/", "host"),
        ("http://169.254.43518/", "host"),
        ("http://0x7f.1/", "host"),
        ("http://2130706433/", "host"),
        ("http://1.2.3.4.5/", "host"),
        ("http://[fe80::1%25eth0]/", "host"),
        ("http://[::1/", "malformed"),
        ("https://%31%32%37.0.0.1/", "host"),
        ("https://exa mple.com/", "malformed"),
        ("https://" + "a" * 64 + ".example/", "host"),
        ("https://cdn.example/" + "a" * 9000, "malformed"),
        (None, "malformed"),
        (42, "malformed"),
    ],
)
def test_refused_urls_have_a_typed_reason(url: Any, reason: str) -> None:
    with pytest.raises(UrlRefused) as caught:
        check_url(url)
    assert caught.value.reason == reason, str(caught.value)
    assert csp_source(url) is None


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://cdn.example/out/a.png?sig=1", "https://cdn.example"),
        ("HTTPS://CDN.Example:8443/a.png", "https://cdn.example:8443"),
        ("https://例え.jp/out/a.png", "https://xn--r8jz45g.jp"),
        ("https://bücher.example/a.png", "https://xn--bcher-kva.example"),
        ("http://127.0.0.1:8790/cdn/x.mp4", "http://127.0.0.1:8790"),
        ("http://[::ffff:169.254.169.254]/x", "http://[::ffff:a9fe:a9fe]"),
        ("https://my_bucket.s3.example/a.png", "https://my_bucket.s3.example"),
    ],
)
def test_accepted_urls_give_an_ascii_csp_source(url: str, origin: str) -> None:
    assert check_url(url).origin == origin
    assert csp_source(url) == origin
    origin.encode("latin-1")  # fits in a header


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2852039166", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("0x7f.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
    ],
)
def test_numeric_spellings_are_read_as_a_resolver_reads_them(spelling: str, address: str) -> None:
    assert numeric_ipv4(spelling) == ipaddress.IPv4Address(address)
    with pytest.raises(UrlRefused, match=address.replace(".", r"\.")):
        check_url(f"http://{spelling}/")


@pytest.mark.parametrize(
    ("address", "refusal"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:a9fe:a9fe::", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_refusals(address: str, refusal: str | None) -> None:
    assert refusal_of_address(ipaddress.ip_address(address)) == refusal


def test_the_display_helper_keeps_signatures_and_credentials_out() -> None:
    assert (
        shown_url("https://u:p@cdn.example/a/b.mp4?X-Amz-Signature=abc#t=1") == "https://cdn.example/a/b.mp4"
    )
    assert shown_url(None) == ""
    assert shown_url("http://[::1/") == "<unparseable URL>"
    text = "failed: https://cdn.example/a.mp4?sig=abc&exp=1, retry http://x.example/b#tok"
    assert strip_signed(text) == "failed: https://cdn.example/a.mp4 retry http://x.example/b"


def test_error_texts_lose_signed_queries() -> None:
    err = CallContext("vozo", "c", "j").error(
        MediaJobConfigError, "Provider said: see https://cdn.example/a.mp4?sig=SECRETSIG"
    )
    assert "SECRETSIG" not in str(err) and "https://cdn.example/a.mp4" in str(err)


# ---- where it is used: the Media view ---------------------------------------------------------------
def _hostile_task() -> Any:
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    urls = [
        CSP_INJECTION,
        "javascript:alert(document.cookie)",
        "data:image/png;base64,AAAA",
        "https://例え.jp/out/a.png?sig=1",
        "https://cdn.example:8443/ok.png?sig=2",
        "http://2852039166/x.png",
    ]
    job = {
        "provider": "goenhance",
        "job_id": "j1",
        "state": "succeeded",
        "outputs": [{"url": u, "kind": "image", "expires_at": soon} for u in urls],
    }
    return task_media("t", -1, "success", "GoEnhanceSubmitJobOperator", {"return_value": job})


def test_the_page_links_only_urls_the_policy_accepts() -> None:
    task = _hostile_task()
    assert [item.url for item in task.items] == [
        "https://例え.jp/out/a.png?sig=1",
        "https://cdn.example:8443/ok.png?sig=2",
    ]


def test_the_csp_is_built_from_parsed_hosts_and_encodes_in_a_header() -> None:
    headers = _page_headers(_origins([_hostile_task()]))
    csp = headers["Content-Security-Policy"]
    csp.encode("latin-1")  # an IDN host used to make this a 500
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert set(directives) == {
        "default-src",
        "script-src",
        "style-src",
        "img-src",
        "media-src",
        "frame-ancestors",
        "base-uri",
        "form-action",
    }
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "https://cdn.example:8443", "https://xn--r8jz45g.jp"]


# ---- bounded settings and names -----------------------------------------------------------------
def _config(extras: dict[str, Any], conn_id: str = "c") -> Any:
    vozo = get_dialect("vozo")
    return build_config(
        vozo,
        conn_id=conn_id,
        conn_type="vozo",
        host=None,
        port=None,
        schema=None,
        password="sk-key-123456",
        extras=extras,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", 1e12),
        ("timeout", "1e999"),
        ("timeout", "nan"),
        ("timeout", "abc"),
        ("timeout", -5),
        ("timeout", 0),
        ("rate_limit", "fast"),
        ("rate_limit", -1),
        ("rate_limit", 1e300),
        ("rate_limit", "9" * 5000),
    ],
)
def test_bad_timeout_and_rate_limit_fail_at_connection_resolution(field: str, value: Any) -> None:
    with pytest.raises(MediaJobConfigError) as caught:
        _config({field: value}, conn_id="bad_vozo")
    message = str(caught.value)
    assert "bad_vozo" in message and field in message and "must be a number" in message


@pytest.mark.parametrize(("field", "value", "expected"), [("timeout", "12.5", 12.5), ("rate_limit", 0, None)])
def test_good_settings_are_read(field: str, value: Any, expected: Any) -> None:
    config = _config({field: value, "allow_private_hosts": "true"})
    assert getattr(config, field) == expected
    assert config.allow_private_hosts is True


def test_private_hosts_are_refused_by_default() -> None:
    config = _config({})
    assert config.allow_private_hosts is False


def test_long_provider_names_and_ids_are_shortened_with_a_hash() -> None:
    outputs = tuple(
        MediaOutput(
            url=f"https://cdn.example/{'n' * 300}{i}.mp4", kind=OutputKind.VIDEO, name="é" * 200 + str(i)
        )
        for i in range(2)
    )
    job = MediaJob(provider="vozo", job_id="j" * 128, state=JobState.SUCCEEDED, outputs=outputs)
    ctx = CallContext("vozo", "c", job.job_id)
    for template in (DEFAULT_TEMPLATE, "{name}{ext}", "{job_id}-{name}-{index}{ext}"):
        names = output_filenames(template, job, ctx)
        assert len(set(names)) == 2
        assert all(len(n.encode()) <= 200 and n.endswith(".mp4") for n in names), names
