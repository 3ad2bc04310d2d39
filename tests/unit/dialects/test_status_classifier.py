"""One classification of HTTP statuses: API answers, downloads and GoEnhance's envelope codes agree."""

from __future__ import annotations

import json

import httpx
import pytest

from airflow_provider_mediajobs import exceptions as exc
from airflow_provider_mediajobs.dialects.registry import get_dialect
from airflow_provider_mediajobs.dialects.wire import ApiResponse, CallContext
from airflow_provider_mediajobs.engine.download import _classify

from support.constants import PROVIDERS

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

CTX = CallContext("goenhance", "goenhance_default", "ge-1")
STATUSES = [
    (200, None),
    (204, None),
    (400, exc.MediaJobApiError),
    (401, exc.MediaJobAuthError),
    (403, exc.MediaJobAuthError),
    (404, exc.MediaJobNotFoundError),
    (408, exc.MediaJobTransientError),
    (409, exc.MediaJobApiError),
    (425, exc.MediaJobTransientError),
    (429, exc.MediaJobRateLimitedError),
    (500, exc.MediaJobTransientError),
    (503, exc.MediaJobTransientError),
]


@pytest.mark.parametrize(("status", "expected"), STATUSES)
def test_the_status_classifier(status: int, expected: type | None) -> None:
    assert exc.status_error(status) is expected


@pytest.mark.parametrize(("status", "expected"), [s for s in STATUSES if s[1] is not None])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_dialect_raises_what_the_status_means(provider: str, status: int, expected: type) -> None:
    response = ApiResponse(status, b'{"detail": "no"}', {"retry-after": "3"})
    with pytest.raises(exc.MediaJobError) as info:
        get_dialect(provider).check_response(response, CTX)
    assert type(info.value) is expected and info.value.http_status == status
    if expected is exc.MediaJobRateLimitedError:
        assert info.value.retry_after == 3.0


@pytest.mark.parametrize(("status", "expected"), [s for s in STATUSES if s[1] is not None] + [(410, None)])
def test_a_download_reads_statuses_alike_except_an_expired_signature(
    status: int, expected: type | None
) -> None:
    with pytest.raises(exc.MediaJobError) as info:
        _classify(httpx.Response(status), "https://cdn.test/a.mp4", CTX)
    if status in (403, 410):  # what a signed URL answers once it expired
        assert type(info.value) is exc.OutputExpiredError
    elif expected in (exc.MediaJobRateLimitedError, exc.MediaJobTransientError):
        assert type(info.value) is expected
    else:  # a refused output URL is not the connection's key nor the job
        assert type(info.value) is exc.MediaJobApiError


@pytest.mark.parametrize(
    ("code", "msg", "expected"),
    [
        (401, "Token is required", exc.MediaJobAuthError),
        ("429", "slow down", exc.MediaJobRateLimitedError),
        (500, "", exc.MediaJobTransientError),
        ("5001", "internal", exc.MediaJobTransientError),
        (1001, "insufficient credits", exc.MediaJobApiError),
        (400, "job not found", exc.MediaJobNotFoundError),
        ("bad", "what", exc.MediaJobApiError),
    ],
)
def test_goenhance_envelope_codes_read_as_statuses(code: object, msg: str, expected: type) -> None:
    body = json.dumps({"code": code, "msg": msg, "data": None}).encode()
    with pytest.raises(exc.MediaJobError) as info:
        get_dialect("goenhance").parse_status("ge-1", "faceswap", ApiResponse(200, body, {}), CTX)
    assert type(info.value) is expected
