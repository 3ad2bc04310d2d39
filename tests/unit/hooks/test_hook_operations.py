"""Creates, cancels and auth hints: the gaps the issue listed, with tests.

(a) a TAMS create without a request id still sends a ``requestId``; (b) the hint after a refused key
is the provider's own; (c) ``cancel_job`` says whether *this call* canceled the job.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.engine import retry as retry_module
from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobAuthError,
    MediaJobConfigError,
    MediaJobNotFoundError,
)
from airflow_provider_mediajobs.models import JobState

from support.connections import set_connections
from support.constants import CONN_IDS, PROVIDERS, SENTINEL, TAMS_HOST
from support.wire import Reply, Wire, assert_error_context, make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

STAGES = [
    {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}},
    {
        "type": "DIFFUSION",
        "diffusion": {"width": 512, "height": 512, "prompts": [{"text": "a cat"}], "steps": 4},
    },
]
CREATED = {"job": {"id": "784512339871236541", "status": "CREATED"}}


# ---- (a) TAMS requestId ---------------------------------------------------------------------------
def test_tams_create_without_request_id_sends_a_fresh_uuid4_request_id(requests_mock: Any) -> None:
    requests_mock.post(f"{TAMS_HOST}/v1/jobs", json=CREATED)
    hook = make_hook("tensorart")
    assert hook.submit_job({"stages": STAGES}, kind="job") == "784512339871236541"
    assert hook.submit_job({"stages": STAGES}, kind="job") == "784512339871236541"
    ids = [json.loads(r.body)["requestId"] for r in requests_mock.request_history]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    assert ids[0] != ids[1]
    assert all(json.loads(r.body)["stages"] == STAGES for r in requests_mock.request_history)


@pytest.mark.parametrize(
    ("payload", "request_id", "expected"),
    [
        ({"stages": STAGES}, "dag.task.run.1", {"requestId": "dag.task.run.1"}),
        ({"stages": STAGES, "requestId": "from-payload"}, None, {"requestId": "from-payload"}),
        ({"stages": STAGES, "requestId": "from-payload"}, "ignored", {"requestId": "from-payload"}),
        ({"stages": STAGES, "request_id": "snake"}, None, {"request_id": "snake"}),  # not doubled
    ],
)
def test_tams_create_keeps_a_given_request_id(
    requests_mock: Any, payload: dict[str, Any], request_id: str | None, expected: dict[str, str]
) -> None:
    requests_mock.post(f"{TAMS_HOST}/v1/jobs", json=CREATED)
    make_hook("tensorart").submit_job(payload, kind="job", request_id=request_id)
    body = json.loads(requests_mock.last_request.body)
    assert {k: v for k, v in body.items() if k in ("requestId", "request_id")} == expected


def test_a_generated_request_id_makes_the_create_safe_to_retry(
    requests_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 after the create may have been acted on: the retry sends the same requestId."""
    monkeypatch.setattr(retry_module, "backoff_delay", lambda *a, **k: 0.0)
    requests_mock.post(
        f"{TAMS_HOST}/v1/jobs",
        [{"status_code": 503, "json": {"code": 14, "message": "unavailable"}}, {"json": CREATED}],
    )
    assert make_hook("tensorart", retries=3).submit_job({"stages": STAGES}) == "784512339871236541"
    bodies = [r.body for r in requests_mock.request_history]
    assert len(bodies) == 2 and bodies[0] == bodies[1]


@pytest.mark.parametrize("provider", ["goenhance", "vozo", "tensorpix"])
def test_other_providers_get_no_request_id(requests_mock: Any, provider: str) -> None:
    url, answer, payload = {
        "goenhance": (
            "https://api.goenhance.ai/api/v1/imagefaceswap/generate",
            {"code": 0, "data": {"img_uuid": "g1"}},
            {"reference_img": "https://example.com/a.jpg", "source_img": "https://example.com/b.jpg"},
        ),
        "vozo": (
            "https://api.vozo.ai/v1/video_generation",
            {"task_id": "v1"},
            {
                "reference_file_url": "https://example.com/in.mp4",
                "reference_file_type": "video",
                "audio_url": "https://example.com/a.mp3",
                "model": "standard_v1",
            },
        ),
        "tensorpix": (
            "https://backend.tensorpix.ai/api/jobs/from-url/",
            {"id": 7, "status": 0},
            {"url": "https://example.com/in.mp4"},
        ),
    }[provider]
    requests_mock.post(url, json=answer, status_code=201 if provider == "tensorpix" else 200)
    make_hook(provider).submit_job(payload)
    body = json.loads(requests_mock.last_request.body)
    assert "requestId" not in json.dumps(body) and "request_id" not in json.dumps(body)


@pytest.mark.parametrize("kind", ["job", "template"])
def test_tams_create_without_request_id_against_the_emulator(
    mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    creds = mediajobs_emulator.credentials("tensorart")
    conn = {
        "conn_type": "tensorart",
        "host": mediajobs_emulator.base_url("tensorart"),
        "password": creds["api_key"],
    }
    set_connections(monkeypatch, {"tams_emu": conn})
    hook = make_hook("tensorart", conn_id="tams_emu")
    payload = (
        {"stages": STAGES}
        if kind == "job"
        else {"templateId": "676018193025756628", "fields": {"fieldAttrs": []}}
    )
    first = hook.submit_job(payload, kind=kind)
    second = hook.submit_job(payload, kind=kind)
    assert first != second  # two creates, two jobs (a fixed requestId would return the same one)
    assert hook.get_job(first).state in (JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED)


# ---- (b) the hint after a refused key is the provider's own ---------------------------------------
OWN_HINT = {
    "goenhance": ("GoEnhance API key", "Bearer"),
    "tensorart": ("App ID and private key", "TAMS console"),
    "vozo": ("Vozo API key", "Bearer"),
    "tensorpix": ("TensorPix API token", "Token <key>"),
}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_auth_hint_is_per_provider(wire: Wire, provider: str) -> None:
    wire.reply(Reply(401, json={"detail": "unauthorized"}))
    job_id = "42" if provider == "tensorpix" else "j-42"
    with pytest.raises(MediaJobAuthError) as info:
        await wire.get_job(make_hook(provider), job_id)
    text = str(info.value)
    for needle in OWN_HINT[provider]:
        assert needle in text, text
    assert f"connection '{CONN_IDS[provider]}'" in text and "API key" in text
    assert "password field" not in text  # the form labels it "API key"
    names = {
        "goenhance": ["GoEnhance"],
        "tensorart": ["TAMS", "TensorArt"],
        "vozo": ["Vozo"],
        "tensorpix": ["TensorPix"],
    }
    for other in PROVIDERS:
        for name in names[other] if other != provider else []:
            assert name not in info.value.hint, info.value.hint  # no other provider's advice
    assert_error_context(info.value, provider, CONN_IDS[provider], job_id)


async def test_auth_hint_also_for_auth_codes_inside_other_statuses(wire: Wire) -> None:
    wire.reply(Reply(200, json={"code": 401, "msg": "Token is required", "data": None}))
    with pytest.raises(MediaJobAuthError) as info:
        await wire.get_job(make_hook("goenhance"), "j")
    assert "GoEnhance API key" in str(info.value)
    wire.reply(Reply(400, json={"code": "1302", "message": "api key revoked", "serverTs": "1"}))
    with pytest.raises(MediaJobAuthError) as info:
        await wire.get_job(make_hook("vozo"), "j")
    assert "Vozo API key" in str(info.value) and "1302" in str(info.value)


# ---- (c) cancel_job: True = this call canceled it; False = it had already finished ------------------
@pytest.mark.parametrize(
    ("provider", "reply", "expected"),
    [
        ("tensorart", Reply(200, json={"jobId": "784512339871236541"}), True),
        ("tensorart", Reply(400, json={"code": 9, "message": "job already finished", "details": []}), False),
        ("tensorpix", Reply(204), True),
        ("tensorpix", Reply(409, json={"detail": "Job already canceled."}), False),
        ("tensorpix", Reply(400, json={"detail": "Job already finished."}), False),
    ],
)
async def test_cancel_return_value(wire: Wire, provider: str, reply: Reply, expected: bool) -> None:
    wire.reply(reply)
    job_id = "784512339871236541" if provider == "tensorart" else "4242"
    assert await wire.cancel_job(make_hook(provider), job_id) is expected
    path = f"/v1/jobs/{job_id}" if provider == "tensorart" else f"/api/jobs/{job_id}/"
    assert [(s.method, s.path) for s in wire.sent] == [("DELETE", path)]


@pytest.mark.parametrize(
    ("provider", "reply", "error_class"),
    [
        (
            "tensorart",
            Reply(400, json={"code": 3, "message": "invalid job id", "details": []}),
            MediaJobApiError,
        ),
        (
            "tensorart",
            Reply(404, json={"code": 5, "message": "job not found", "details": []}),
            MediaJobNotFoundError,
        ),
        ("tensorpix", Reply(404, json={"detail": "Not found."}), MediaJobNotFoundError),
        ("tensorpix", Reply(401, json={"detail": "Invalid token."}), MediaJobAuthError),
    ],
)
async def test_cancel_errors_are_raised(
    wire: Wire, provider: str, reply: Reply, error_class: type[Exception]
) -> None:
    wire.reply(reply)
    job_id = "784512339871236541" if provider == "tensorart" else "4242"
    with pytest.raises(error_class) as info:
        await wire.cancel_job(make_hook(provider), job_id)
    assert_error_context(info.value, provider, CONN_IDS[provider], job_id)


@pytest.mark.parametrize("provider", ["goenhance", "vozo"])
async def test_cancel_where_the_api_has_none_is_refused_before_any_request(wire: Wire, provider: str) -> None:
    hook = make_hook(provider)
    assert hook.supports_cancel is False
    with pytest.raises(MediaJobConfigError) as info:
        await wire.cancel_job(hook, "job-7")
    assert "has no API to cancel a job" in str(info.value) and "supports_cancel" in str(info.value)
    assert_error_context(info.value, provider, CONN_IDS[provider], "job-7")
    assert wire.sent == []


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("provider", ["tensorart", "tensorpix"])
async def test_cancel_twice_and_after_the_end_against_the_emulator(
    mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, provider: str, mode: str
) -> None:
    creds = mediajobs_emulator.credentials(provider)
    conn = {
        "conn_type": provider,
        "host": mediajobs_emulator.base_url(provider),
        "password": creds["api_key"],
    }
    set_connections(monkeypatch, {"emu": conn})
    hook = make_hook(provider, conn_id="emu")

    async def cancel(job_id: str) -> bool:
        return hook.cancel_job(job_id) if mode == "sync" else await hook.acancel_job(job_id)

    running = mediajobs_emulator.add_job(provider, outcome="succeeded", queued_s=0, running_s=3600)
    assert await cancel(running) is True
    assert hook.get_job(running).state is JobState.CANCELED
    assert await cancel(running) is False  # TAMS: 400 code 9; TensorPix: 409

    finished = mediajobs_emulator.add_job(provider, outcome="succeeded", queued_s=0, running_s=1)
    mediajobs_emulator.advance(10)
    assert hook.get_job(finished).state is JobState.SUCCEEDED
    assert await cancel(finished) is False
    assert hook.get_job(finished).state is JobState.SUCCEEDED
    assert SENTINEL not in repr(hook)
