"""Every error class, for every provider, on both paths: the right type, a message that names
provider, conn_id and job id, and the API key nowhere (str, repr, args, logs) — even when the
provider echoes it back in its error text."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from airflow_provider_mediajobs.engine import retry as retry_module
from airflow_provider_mediajobs.engine import wait as waiting
from airflow_provider_mediajobs.exceptions import (
    MediaJobAuthError,
    MediaJobBadResponseError,
    MediaJobCanceledError,
    MediaJobError,
    MediaJobFailedError,
    MediaJobNotFoundError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.models import JobState

from support.connections import set_connections
from support.constants import CONN_IDS, PROVIDERS, SENTINEL
from support.seed_examples import tensorpix_job
from support.wire import Reply, Wire, assert_error_context, make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

JOB_IDS = {"goenhance": "ge-42", "tensorart": "784512339871236541", "vozo": "vz-42", "tensorpix": "4242"}
GRPC = {401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 502: 14, 503: 14, 504: 4}
ECHO = f"token {SENTINEL} is not valid"  # a provider that quotes the key back


def error_body(provider: str, status: int, message: str = ECHO) -> dict[str, Any]:
    """The provider's own error shape (seed documents / research)."""
    if provider == "goenhance":
        return {"code": status, "msg": message}
    if provider == "tensorart":
        return {"code": GRPC.get(status, 2), "message": message, "details": []}
    if provider == "vozo":
        return {"code": str(status), "message": message, "serverTs": "1730000000000"}
    return {"detail": message}


HTML = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


def _http_date(seconds: float) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds), usegmt=True)


# name -> (reply factory, error class, text the message must contain)
CASES: dict[str, tuple[Any, type[MediaJobError], str]] = {
    "401": (lambda p: Reply(401, json=error_body(p, 401)), MediaJobAuthError, "HTTP 401"),
    "403": (lambda p: Reply(403, json=error_body(p, 403)), MediaJobAuthError, "HTTP 403"),
    "404": (lambda p: Reply(404, json=error_body(p, 404)), MediaJobNotFoundError, "HTTP 404"),
    "429-retry-after-seconds": (
        lambda p: Reply(429, json=error_body(p, 429), headers={"Retry-After": "7"}),
        MediaJobRateLimitedError,
        "HTTP 429",
    ),
    "429-retry-after-http-date": (
        lambda p: Reply(429, json=error_body(p, 429), headers={"Retry-After": _http_date(120)}),
        MediaJobRateLimitedError,
        "HTTP 429",
    ),
    "500": (lambda p: Reply(500, json=error_body(p, 500)), MediaJobTransientError, "HTTP 500"),
    "502-html-from-a-proxy": (
        lambda p: Reply(502, body=HTML, headers={"Content-Type": "text/html"}),
        MediaJobTransientError,
        "HTTP 502: <html>",
    ),
    "503": (lambda p: Reply(503, json=error_body(p, 503)), MediaJobTransientError, "HTTP 503"),
    "504-empty": (lambda p: Reply(504), MediaJobTransientError, "HTTP 504: (empty body)"),
    "timeout": (lambda p: Reply(error="timeout"), MediaJobTransientError, "no answer within 30s"),
    "connection-refused": (
        lambda p: Reply(error="connect"),
        MediaJobTransientError,
        "connection problem (",
    ),
    "200-html": (
        lambda p: Reply(200, body=HTML, headers={"Content-Type": "text/html"}),
        MediaJobBadResponseError,
        "not JSON (text/html",
    ),
    "200-truncated-json": (
        lambda p: Reply(200, body='{"code": 0, "data": {"sta', headers={"Content-Type": "application/json"}),
        MediaJobBadResponseError,
        "not JSON",
    ),
    "200-a-list": (lambda p: Reply(200, json=[1, 2, 3]), MediaJobBadResponseError, "got list"),
    "200-wrong-object": (lambda p: Reply(200, json={"unexpected": True}), MediaJobBadResponseError, ""),
    "200-empty": (lambda p: Reply(200), MediaJobBadResponseError, ""),
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", list(CASES))
async def test_error_class_and_message(
    wire: Wire, provider: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    make_reply, error_class, text = CASES[case]
    reply = make_reply(provider)
    wire.reply(reply)
    job_id = JOB_IDS[provider]

    with pytest.raises(MediaJobError) as info:
        await wire.get_job(make_hook(provider), job_id)
    err = info.value

    assert type(err) is error_class, f"{type(err).__name__}: {err}"
    assert text in str(err)
    assert_error_context(err, provider, CONN_IDS[provider], job_id)
    assert err.hint and str(err).endswith(err.hint.format(conn_id=CONN_IDS[provider]))  # says what to do
    assert (err.provider, err.conn_id, err.job_id) == (provider, CONN_IDS[provider], job_id)
    if reply.error is None and reply.status != 200:
        assert err.http_status == reply.status
    if case == "429-retry-after-seconds":
        assert isinstance(err, MediaJobRateLimitedError) and err.retry_after == 7.0
    if case == "429-retry-after-http-date":
        assert isinstance(err, MediaJobRateLimitedError) and err.retry_after is not None
        assert 90 <= err.retry_after <= 120
    if "json" in reply.__dict__ and reply.json == error_body(provider, reply.status):
        assert "token *** is not valid" in str(err)  # the provider's text, with the key redacted
    assert len(wire.sent) == 1  # one attempt (retries=1): classification, not retry, is tested here
    assert wire.sent[0].headers["authorization"].endswith(SENTINEL)  # the key was sent...
    assert SENTINEL not in caplog.text  # ...but never logged
    assert SENTINEL not in str(err.__dict__)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_errors_survive_pickling_with_their_context(wire: Wire, provider: str) -> None:
    """Errors cross process boundaries (trigger -> worker): the context and retry_after survive."""
    import pickle

    wire.reply(Reply(429, json=error_body(provider, 429), headers={"Retry-After": "3"}))
    with pytest.raises(MediaJobRateLimitedError) as info:
        await wire.get_job(make_hook(provider), JOB_IDS[provider])
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is MediaJobRateLimitedError
    assert (str(copy), copy.retry_after, copy.conn_id) == (str(info.value), 3.0, CONN_IDS[provider])


async def test_transient_errors_are_retried_honouring_retry_after(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float | None] = []

    def no_wait(attempt: int, *, retry_after: float | None = None, **_: Any) -> float:
        delays.append(retry_after)
        return 0.0

    monkeypatch.setattr(retry_module, "backoff_delay", no_wait)
    wire.reply(
        Reply(503, json={"detail": "busy"}),
        Reply(429, json={"detail": "slow down"}, headers={"Retry-After": "7"}),
        Reply(error="timeout"),
        Reply(json=tensorpix_job(1, progress=0.5)),
    )
    job = await wire.get_job(make_hook("tensorpix", retries=4), "42")
    assert job.state is JobState.RUNNING and len(wire.sent) == 4
    assert delays == [None, 7.0, None]


async def test_non_transient_errors_are_not_retried(wire: Wire, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry_module, "backoff_delay", lambda *a, **k: 0.0)
    for status in (400, 401, 403, 404):
        wire.sent.clear()
        wire.reply(Reply(status, json={"detail": "no"}))
        with pytest.raises(MediaJobError):
            await wire.get_job(make_hook("tensorpix", retries=5), "42")
        assert len(wire.sent) == 1, status


# ---- a job that failed or was canceled ----------------------------------------------------------
FAILED = {
    "goenhance": {
        "code": 0,
        "msg": "ok",
        "data": {"img_uuid": "ge-42", "status": "failed", "error": "no face"},
    },
    "tensorart": {
        "job": {"id": "784512339871236541", "status": "FAILED", "failedInfo": {"reason": "no face"}}
    },
    "vozo": {"status": "failed", "err_code": "20601", "err_message": "no face"},
    "tensorpix": {**tensorpix_job(-1), "error": "no face"},
}
CANCELED = {
    "goenhance": {"code": 0, "msg": "ok", "data": {"img_uuid": "ge-42", "status": "canceled"}},
    "tensorart": {"job": {"id": "784512339871236541", "status": "CANCELED"}},
    "tensorpix": tensorpix_job(-2),
}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_failed_job_fails_the_task_with_the_providers_reason(wire: Wire, provider: str) -> None:
    wire.reply(Reply(json=FAILED[provider]))
    job = await wire.get_job(make_hook(provider), JOB_IDS[provider])
    assert job.state is JobState.FAILED and job.error and "no face" in job.error
    with pytest.raises(MediaJobFailedError) as info:
        waiting.result_or_raise(
            waiting.event_for_job(job), job, provider=provider, conn_id=CONN_IDS[provider], job_id=job.job_id
        )
    assert type(info.value) is MediaJobFailedError
    assert "failed: " in str(info.value) and "no face" in str(info.value)
    assert info.value.job == job
    assert_error_context(info.value, provider, CONN_IDS[provider], JOB_IDS[provider])


@pytest.mark.parametrize("provider", sorted(CANCELED))
async def test_a_canceled_job_fails_the_task_as_canceled(wire: Wire, provider: str) -> None:
    wire.reply(Reply(json=CANCELED[provider]))
    job = await wire.get_job(make_hook(provider), JOB_IDS[provider])
    assert job.state is JobState.CANCELED
    with pytest.raises(MediaJobCanceledError) as info:
        waiting.result_or_raise(
            waiting.event_for_job(job), job, provider=provider, conn_id=CONN_IDS[provider], job_id=job.job_id
        )
    assert "was canceled" in str(info.value) and info.value.job == job
    assert_error_context(info.value, provider, CONN_IDS[provider], JOB_IDS[provider])


# ---- connection problems ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_missing_connection_is_a_config_error_naming_it(mode: str) -> None:
    from airflow_provider_mediajobs.exceptions import MediaJobConfigError

    hook = make_hook("vozo", conn_id="no_such_conn")
    with pytest.raises(MediaJobConfigError) as info:
        if mode == "sync":
            hook.get_job("vz-1")
        else:
            await hook.aget_job("vz-1")
    assert "'no_such_conn' does not exist" in str(info.value) and "type 'vozo'" in str(info.value)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_connection_of_another_type_or_without_key_is_refused(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_mediajobs.exceptions import MediaJobConfigError

    hosts = {
        "key_in_url": f"https://u:{SENTINEL}@api.example",
        "key_in_ftp_url": f"ftp://u:{SENTINEL}@api.example",
        "key_in_query": f"https://api.example/?key={SENTINEL}",
    }
    set_connections(
        monkeypatch,
        {
            "wrong_type": {"conn_type": "http", "password": SENTINEL},
            "no_key": {"conn_type": "goenhance"},
            **{
                name: {"conn_type": "goenhance", "host": host, "password": "other-key"}
                for name, host in hosts.items()
            },
        },
    )
    for conn_id, text in [
        ("wrong_type", "is of type 'http'"),
        ("no_key", "has no API key"),
        ("key_in_url", "not in the host URL"),
        ("key_in_ftp_url", "not in the host URL"),
        ("key_in_query", "must not carry a query"),
    ]:
        hook = make_hook("goenhance", conn_id=conn_id)
        with pytest.raises(MediaJobConfigError) as info:
            if mode == "sync":
                hook.get_job("ge-1")
            else:
                await hook.aget_job("ge-1")
        assert text in str(info.value) and f"conn_id={conn_id!r}" in str(info.value)
        assert SENTINEL not in str(info.value) and SENTINEL not in repr(info.value)
