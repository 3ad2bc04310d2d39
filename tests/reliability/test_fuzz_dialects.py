"""Fuzz every dialect parser: whatever a provider (or a proxy in front of it) answers, only the
project's typed errors may escape — never KeyError, TypeError, JSONDecodeError, ...

Fed with hypothesis: bodies shaped like the seed schemas (tests/seeds, with documented
values most of the time and anything else sometimes), Vozo translate bodies, each provider's error
shapes with any HTTP status and Retry-After, arbitrary JSON and arbitrary bytes, into the status,
create, cancel and connection-test parsers. Beyond "typed errors only":

- a parsed job is XCom-serializable and survives ``to_dict``/``from_dict``;
- an error response is classified by its HTTP status exactly as documented (401/403 auth,
  404 not found, 429 rate limited with a usable Retry-After, 5xx/408/425 transient, other 4xx
  refused; Vozo's HTTP 400 codes for auth, busy and internal errors);
- a key the provider echoes back in an error body never appears in the error.

Profiles: ``fast`` (default, part of ``make test``) and ``full`` (``make reliability``:
HYPOTHESIS_PROFILE=full, >= 10,000 examples per dialect, counted and timed into the results).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import write_results

from airflow_provider_mediajobs.dialects.registry import all_dialects
from airflow_provider_mediajobs.dialects.values import MAX_RETRY_AFTER, parse_retry_after
from airflow_provider_mediajobs.dialects.vozo import AUTH_CODES, BUSY_CODES, RETRY_CODES
from airflow_provider_mediajobs.dialects.wire import ApiResponse, CallContext
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobAuthError,
    MediaJobError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
    status_error,
)
from airflow_provider_mediajobs.models import MediaJob

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "fast")
FULL = PROFILE == "full"
settings.register_profile(
    "fast",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
    database=None,
)
settings.register_profile(
    "full",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
settings.load_profile(PROFILE)

# Examples per test and dialect: the full profile sums to >= 10,000 per dialect (see the results).
BUDGET = {
    "shaped": (60, 4000),
    "translate": (40, 2500),
    "errors": (60, 2500),
    "json": (40, 2000),
    "bytes": (30, 1000),
    "other_parsers": (40, 1500),
    "retry_after": (60, 3000),
}

DIALECTS = all_dialects()


def budget(name: str) -> settings:
    fast, full = BUDGET[name]
    return settings(max_examples=full if FULL else fast)


COUNTS: Counter[tuple[str, str]] = Counter()
SECONDS: Counter[tuple[str, str]] = Counter()
SECRET = "sk-live-FUZZ-SECRET-0123456789abcdef"

# ---- strategies -----------------------------------------------------------------------------------
short_text = st.text(max_size=16)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    short_text,
)
anything = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


def field(values: list[Any]) -> st.SearchStrategy[Any]:
    """A documented value most of the time, any scalar sometimes."""
    return st.one_of(st.sampled_from(values), st.sampled_from(values), scalars)


url = st.one_of(
    st.sampled_from(
        [
            "https://cdn.test/out.mp4?Expires=1900000000",
            "https://cos.test/x.jpg?q-sign-time=1;9999999999",
            "https://s3.test/o.png?X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600",
            "https://s3.test/o.png?X-Amz-Date=nonsense&X-Amz-Expires=x",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://user:pass@api.test/x.mp4",
            "",
        ]
    ),
    short_text,
    scalars,
)
output_list = st.lists(st.fixed_dictionaries({"type": field(["image", "video"]), "value": url}), max_size=3)

SHAPED: dict[str, st.SearchStrategy[Any]] = {
    "goenhance": st.fixed_dictionaries(
        {
            "code": field([0, 0, 0, "0", 200, 401, 404, 429, 500, 400]),
            "msg": field(["Success", "", "job not found"]),
            "data": st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {
                        "img_uuid": field(["5334c57d-8443-4b79-ba24-8539c2163c74"]),
                        "status": field(["pending", "processing", "success", "completed", "failed"]),
                        "json": st.one_of(st.none(), output_list, anything),
                        "img_url": url,
                    },
                    optional={
                        "end_time": field(["2024-10-11T10:56:00.338Z", "not a time"]),
                        "progress": field([0.5, 50, "50%"]),
                        "error": scalars,
                        "job_type": scalars,
                    },
                ),
                anything,
            ),
        }
    ),
    "tensorart": st.fixed_dictionaries(
        {
            "job": st.one_of(
                st.fixed_dictionaries(
                    {
                        "status": field(
                            ["CREATED", "PENDING", "WAITING", "RUNNING", "SUCCESS", "FAILED", "CANCELED"]
                        )
                    },
                    optional={
                        "id": field(["794323827366354822"]),
                        "credits": field([1.5, "2", "NaN"]),
                        "waitingInfo": st.one_of(
                            st.fixed_dictionaries(
                                {"queueRank": field(["3", 3, "-1"]), "queueLen": field(["9"])}
                            ),
                            anything,
                        ),
                        "failedInfo": st.one_of(
                            st.fixed_dictionaries(
                                {"reason": scalars, "code": field(["TRANSITORY_ERROR", "FATAL_ERROR"])}
                            ),
                            anything,
                        ),
                        "runningInfo": st.one_of(
                            st.fixed_dictionaries(
                                {
                                    "processingImages": st.lists(
                                        st.fixed_dictionaries({"progress": scalars}), max_size=2
                                    )
                                }
                            ),
                            anything,
                        ),
                        "successInfo": st.one_of(
                            st.fixed_dictionaries(
                                {
                                    "images": st.lists(
                                        st.fixed_dictionaries(
                                            {
                                                "url": url,
                                                "expiredIn": field(["3600", "1900000000", "-5", "1e400"]),
                                            },
                                            optional={"id": scalars},
                                        ),
                                        max_size=3,
                                    ),
                                    "videos": st.one_of(st.just([]), anything),
                                }
                            ),
                            anything,
                        ),
                    },
                ),
                anything,
            )
        }
    ),
    "vozo": st.fixed_dictionaries(
        {"status": field(["pending", "processing", "done", "failed", "completed"])},
        optional={"video_url": url, "code": scalars, "message": scalars},
    ),
    "tensorpix": st.fixed_dictionaries(
        {
            "status": field([0, 1, 2, -1, -2, "IN_QUEUE", "2", True]),
            "output_video": st.one_of(
                st.none(), st.fixed_dictionaries({"file": url}, optional={"name": scalars}), anything
            ),
        },
        optional={
            "id": field([42, "42"]),
            "processing_progress": field([0.5, 50, -1]),
            "eta_s": field([12.5, None]),
            "cost_usd": field(["1.2300", "x"]),
            "error": scalars,
        },
    ),
}
VOZO_TRANSLATE = st.fixed_dictionaries(
    {
        "status": field(
            [
                "queuing",
                "preprocessing",
                "transcribing",
                "translating",
                "dubbing",
                "rendering",
                "done",
                "failed",
            ]
        ),
    },
    optional={
        "err_code": field([0, "0", 999, "999", 20611, "20611"]),
        "err_message": field(["", "the dub failed"]),
        "result": st.one_of(
            st.none(),
            st.fixed_dictionaries({}, optional={"video_url": url, "audio_url": url, "subtitle_url": url}),
            anything,
        ),
    },
)


def _echo(message: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """An error text, sometimes echoing the key back (some APIs repeat the bad header)."""
    return st.one_of(message, st.builds(lambda a, b: f"{a}{SECRET}{b}", short_text, short_text))


ERROR_BODIES: dict[str, st.SearchStrategy[Any]] = {
    "goenhance": st.fixed_dictionaries(
        {"code": field([401, 404, 429, 500, 400, "500"]), "msg": _echo(short_text)}
    ),
    "tensorart": st.fixed_dictionaries(
        {"code": field([3, 5, 8, 14, 16]), "message": _echo(short_text), "details": st.just([])}
    ),
    "vozo": st.fixed_dictionaries(
        {
            "code": field([*sorted(AUTH_CODES | BUSY_CODES | RETRY_CODES), "5", "404", "9999"]),
            "message": _echo(short_text),
            "serverTs": st.integers(0, 2**41),
        }
    ),
    "tensorpix": st.one_of(
        st.fixed_dictionaries({"detail": _echo(short_text)}),
        st.dictionaries(
            st.sampled_from(["url", "ml_models"]), st.lists(_echo(short_text), max_size=2), max_size=2
        ),
    ),
}
statuses = st.one_of(
    st.sampled_from([200, 200, 200, 201, 204, 400, 401, 403, 404, 408, 409, 425, 429, 500, 502, 503]),
    st.integers(100, 599),
)
error_statuses = st.one_of(
    st.sampled_from([400, 401, 403, 404, 408, 409, 410, 422, 425, 429, 500, 502, 503, 504]),
    st.integers(300, 599),
)
retry_after_values = st.one_of(
    st.sampled_from(["5", "0", "-1", "1e999", "nan", " 7 ", "Wed, 21 Oct 2015 07:28:00 GMT"]),
    st.builds(
        lambda d: format_datetime(d, usegmt=True), st.datetimes(timezones=st.just(__import__("datetime").UTC))
    ),
    st.text(max_size=30),
)
headers = st.one_of(st.just({}), st.fixed_dictionaries({"retry-after": retry_after_values}))


# ---- checks ---------------------------------------------------------------------------------------
def _ctx(provider: str) -> CallContext:
    return CallContext(provider, "fuzz_conn", "job-1", (SECRET,))


def _typed(err: MediaJobError) -> None:
    text = f"{err} {err!r}"
    assert "fuzz_conn" in str(err)
    assert SECRET not in text, "an echoed key reached the error message"


def check_status(
    provider: str, status: int, body: bytes, hdrs: dict[str, str], kind: str | None = None
) -> None:
    dialect = DIALECTS[provider]
    ctx = _ctx(provider)
    kind = dialect.normalize_kind(kind, ctx)
    try:
        job = dialect.parse_status("42", kind, ApiResponse(status, body, hdrs), ctx)
    except MediaJobError as err:
        _typed(err)
        return
    assert isinstance(job, MediaJob)
    json.dumps(job.to_dict())  # always XCom-serializable
    assert MediaJob.from_dict(job.to_dict()) == job


def expected_error(provider: str, status: int, body: Any) -> type[MediaJobError]:
    """The documented classification of an HTTP error answer."""
    if provider == "vozo" and status == 400 and isinstance(body, dict):
        code = body.get("code")
        code = None if code is None else str(code)
        if code in AUTH_CODES:
            return MediaJobAuthError
        if code in BUSY_CODES:
            return MediaJobRateLimitedError
        if code in RETRY_CODES:
            return MediaJobTransientError
    return (
        status_error(status) or MediaJobApiError
    )  # the table is tests/unit/dialects/test_status_classifier.py


def encode(body: Any) -> bytes:
    try:
        return json.dumps(body).encode()
    except (ValueError, TypeError):
        return b"{}"


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.perf_counter()
    yield
    params = getattr(request.node, "callspec", None)
    provider = params.params.get("provider", "-") if params else "-"
    SECONDS[(provider, request.node.originalname)] += time.perf_counter() - started


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    per_dialect: dict[str, Any] = {}
    for (provider, test), count in sorted(COUNTS.items()):
        entry = per_dialect.setdefault(provider, {"examples": 0, "seconds": 0.0, "by_test": {}})
        entry["examples"] += count
        entry["by_test"][test] = count
    for (provider, _test), seconds in SECONDS.items():
        if provider in per_dialect:
            per_dialect[provider]["seconds"] = round(per_dialect[provider]["seconds"] + seconds, 1)
    write_results("fuzz", {"hypothesis_profile": PROFILE, "dialects": per_dialect})
    if FULL:
        short = {p: d["examples"] for p, d in per_dialect.items() if p in DIALECTS and d["examples"] < 10_000}
        assert not short, f"fewer than 10,000 examples for {short}"


# ---- the properties -------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", sorted(DIALECTS))
@given(data=st.data())
@budget("shaped")
def test_shaped_bodies(provider: str, data: st.DataObject) -> None:
    COUNTS[(provider, "shaped")] += 1
    body = data.draw(SHAPED[provider])
    kind = data.draw(st.sampled_from(DIALECTS[provider].job_kinds))
    check_status(provider, data.draw(statuses), encode(body), data.draw(headers), kind)


@given(body=VOZO_TRANSLATE, status=statuses)
@budget("translate")
def test_vozo_translate_bodies(body: Any, status: int) -> None:
    COUNTS[("vozo", "translate")] += 1
    check_status("vozo", status, encode(body), {}, "translate")


@pytest.mark.parametrize("provider", sorted(DIALECTS))
@given(data=st.data())
@budget("errors")
def test_error_answers_are_classified_by_status(provider: str, data: st.DataObject) -> None:
    COUNTS[(provider, "errors")] += 1
    body = data.draw(ERROR_BODIES[provider])
    status = data.draw(error_statuses)
    hdrs = data.draw(headers)
    dialect = DIALECTS[provider]
    ctx = _ctx(provider)
    kind = data.draw(st.sampled_from(dialect.job_kinds))
    response = ApiResponse(status, encode(body), hdrs)
    with pytest.raises(MediaJobError) as caught:
        dialect.parse_status("42", kind, response, ctx)
    err = caught.value
    _typed(err)
    assert type(err) is expected_error(provider, status, body), (status, body, type(err).__name__)
    if isinstance(err, MediaJobRateLimitedError):
        assert err.retry_after is None or 0 <= err.retry_after <= MAX_RETRY_AFTER
    # a create refused the same way is classified the same way
    with pytest.raises(MediaJobError) as again:
        dialect.parse_create(dialect.job_kinds[0], response, ctx)
    _typed(again.value)
    assert type(again.value) is type(err)


@pytest.mark.parametrize("provider", sorted(DIALECTS))
@given(body=anything, status=statuses)
@budget("json")
def test_arbitrary_json(provider: str, body: Any, status: int) -> None:
    COUNTS[(provider, "json")] += 1
    check_status(provider, status, encode(body), {})


@pytest.mark.parametrize("provider", sorted(DIALECTS))
@given(body=st.binary(max_size=200), status=statuses)
@budget("bytes")
def test_arbitrary_bytes(provider: str, body: bytes, status: int) -> None:
    COUNTS[(provider, "bytes")] += 1
    check_status(provider, status, body, {"content-type": "text/html"})


@pytest.mark.parametrize("provider", sorted(DIALECTS))
@given(data=st.data())
@budget("other_parsers")
def test_create_cancel_and_test_parsers(provider: str, data: st.DataObject) -> None:
    COUNTS[(provider, "other_parsers")] += 1
    dialect = DIALECTS[provider]
    body = data.draw(st.one_of(SHAPED[provider], ERROR_BODIES[provider], anything))
    raw = data.draw(st.one_of(st.just(encode(body)), st.binary(max_size=64)))
    response = ApiResponse(data.draw(statuses), raw, data.draw(headers))
    ctx = _ctx(provider)
    kind = data.draw(st.sampled_from(dialect.job_kinds))
    try:
        job_id = dialect.parse_create(kind, response, ctx)
        assert isinstance(job_id, str) and job_id
    except MediaJobError as err:
        _typed(err)
    try:
        assert isinstance(dialect.parse_connection_check(response, ctx), str)
    except MediaJobError as err:
        _typed(err)
    if dialect.supports_cancel:
        try:
            assert isinstance(dialect.parse_cancel(response, ctx), bool)
        except MediaJobError as err:
            _typed(err)


@given(
    header=retry_after_values,
    message=st.one_of(st.none(), short_text, st.just("Expected available in 12 seconds.")),
)
@budget("retry_after")
def test_retry_after_is_bounded(header: str, message: str | None) -> None:
    COUNTS[("-", "retry_after")] += 1
    value = parse_retry_after(header, message)
    # a Retry-After of "1e999" (or a date in 2999) once meant sleeping forever, and pausing every
    # wait on the connection forever
    assert value is None or 0 <= value <= MAX_RETRY_AFTER


# ---- what the full profile found, pinned so that the fast profile checks it too -------------------
@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("tensorpix", {"status": "\u00b2"}),  # superscript two: str.isdigit() says yes, int() says no
        ("tensorpix", {"status": "--2"}),
        ("tensorpix", {"status": "\u0661\u0662"}),  # Arabic-Indic digits
    ],
)
def test_regressions_found_by_fuzzing(provider: str, body: dict[str, Any]) -> None:
    check_status(provider, 200, encode(body), {})


@pytest.mark.parametrize("header", ["1e999", "inf", "Wed, 21 Oct 2999 07:28:00 GMT"])
def test_retry_after_regressions(header: str) -> None:
    assert parse_retry_after(header) == MAX_RETRY_AFTER
