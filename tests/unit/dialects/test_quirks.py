"""One test per provider quirk of the issue, each through both paths (``wire``)."""

from __future__ import annotations

import copy
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_mediajobs.exceptions import (
    MediaJobApiError,
    MediaJobAuthError,
    MediaJobBadResponseError,
    MediaJobError,
    MediaJobNotFoundError,
    MediaJobRateLimitedError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.models import JobState, MediaOutput, OutputKind

from support.constants import BASE_URLS, CONN_IDS, PROVIDERS
from support.seed_examples import GOENHANCE_PENDING, GOENHANCE_SUCCESS, tensorpix_job
from support.wire import Reply, Wire, assert_error_context, make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

# ---- GoEnhance --------------------------------------------------------------------------------------


def goenhance(data: dict[str, Any], code: int = 0, msg: str = "Success") -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": data}


def goenhance_success(status: str = "success", **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOENHANCE_SUCCESS)
    body["data"]["status"] = status
    body["data"].update(changes)
    return body


@pytest.mark.parametrize("status", ["success", "completed"])
async def test_goenhance_success_and_completed_both_mean_succeeded(wire: Wire, status: str) -> None:
    """The schema says ``success``, the guide's prose ``completed``."""
    wire.reply(Reply(json=goenhance_success(status)))
    job = await wire.get_job(make_hook("goenhance"), "37c82d82-8765-4031-8cb3-722df8a668e6")
    assert job.state is JobState.SUCCEEDED and job.is_terminal
    assert job.provider_status == status
    assert len(job.outputs) == 1


@pytest.mark.parametrize(
    ("code", "msg", "error_class"),
    [
        (10001, "Insufficient credits", MediaJobApiError),
        ("20002", "args.image is required", MediaJobApiError),
        (401, "Token is required", MediaJobAuthError),
        (404, "job not found", MediaJobNotFoundError),
        (429, "Too many requests", MediaJobRateLimitedError),
        (500, "internal error", MediaJobTransientError),
    ],
)
async def test_goenhance_http_200_with_nonzero_code_is_an_error_carrying_msg(
    wire: Wire, code: Any, msg: str, error_class: type[MediaJobError]
) -> None:
    wire.reply(Reply(200, json={"code": code, "msg": msg, "data": None}))
    with pytest.raises(error_class) as info:
        await wire.get_job(make_hook("goenhance"), "job-1")
    assert type(info.value) is error_class
    assert msg in str(info.value) and f"code {code}" in str(info.value)
    assert_error_context(info.value, "goenhance", "goenhance_default", "job-1")


async def test_goenhance_outputs_from_every_json_entry_plus_img_url(wire: Wire) -> None:
    entries = [
        {"type": "video", "value": "https://static.goenhance.example/a.mp4"},
        {"type": "image", "value": "https://static.goenhance.example/b.jpg"},
        {"type": "image", "value": "https://static.goenhance.example/b.jpg"},  # listed twice: kept once
        {"type": "audio", "value": "https://static.goenhance.example/c.mp3"},
    ]
    wire.reply(
        Reply(json=goenhance_success(json=entries, img_url="https://static.goenhance.example/cover.png"))
    )
    job = await wire.get_job(make_hook("goenhance"), "j")
    assert [(o.url.rsplit("/", 1)[1], o.kind) for o in job.outputs] == [
        ("a.mp4", OutputKind.VIDEO),
        ("b.jpg", OutputKind.IMAGE),
        ("c.mp3", OutputKind.AUDIO),
        ("cover.png", OutputKind.IMAGE),
    ]
    assert job.output_urls == [o.url for o in job.outputs]

    # img_url that repeats the first output is not a second output; a video img_url is a video
    wire.reply(Reply(json=goenhance_success(json=entries[:1], img_url=entries[0]["value"])))
    assert (await wire.get_job(make_hook("goenhance"), "j")).output_urls == [entries[0]["value"]]
    wire.reply(Reply(json=goenhance_success(json=None, img_url="https://s.example/x.MP4?sig=1")))
    only = (await wire.get_job(make_hook("goenhance"), "j")).outputs
    assert [(o.url, o.kind) for o in only] == [("https://s.example/x.MP4?sig=1", OutputKind.VIDEO)]


@pytest.mark.parametrize("status", ["pending", "processing"])
async def test_goenhance_json_null_while_pending(wire: Wire, status: str) -> None:
    body = copy.deepcopy(GOENHANCE_PENDING)
    body["data"]["status"] = status
    body["data"]["img_url"] = ""  # the emulator's (and the schema's required) empty img_url
    wire.reply(Reply(json=body))
    job = await wire.get_job(make_hook("goenhance"), "5334c57d-8443-4b79-ba24-8539c2163c74")
    assert job.state is (JobState.QUEUED if status == "pending" else JobState.RUNNING)
    assert job.outputs == () and job.output_urls == [] and not job.is_terminal


async def test_goenhance_urls_are_valid_12_hours_after_the_job_ended(wire: Wire) -> None:
    unsigned = [{"type": "image", "value": "https://static.goenhance.example/out.jpg"}]
    wire.reply(Reply(json=goenhance_success(json=unsigned, end_time="2024-10-11T10:56:00.338Z")))
    job = await wire.get_job(make_hook("goenhance"), "j")
    assert job.outputs[0].expires_at == datetime(2024, 10, 11, 22, 56, 0, 338000, tzinfo=timezone.utc)

    # no end_time: 12 h from when the job was read
    body = goenhance_success(json=unsigned)
    del body["data"]["end_time"]
    wire.reply(Reply(json=body))
    before = datetime.now(timezone.utc)
    job = await wire.get_job(make_hook("goenhance"), "j")
    after = datetime.now(timezone.utc)
    expires = job.outputs[0].expires_at
    assert expires is not None
    assert before + timedelta(hours=12) <= expires <= after + timedelta(hours=12)


async def test_goenhance_error_status_is_failed_with_the_reason(wire: Wire) -> None:
    wire.reply(
        Reply(json=goenhance({"img_uuid": "j", "status": "failed", "json": None, "error": "no face found"}))
    )
    job = await wire.get_job(make_hook("goenhance"), "j")
    assert (job.state, job.error, job.outputs) == (JobState.FAILED, "no face found", ())
    wire.reply(Reply(json=goenhance({"img_uuid": "j", "status": "error", "json": None})))
    job = await wire.get_job(make_hook("goenhance"), "j")
    assert job.state is JobState.FAILED and job.error and "'error'" in job.error


# ---- TensorArt TAMS ---------------------------------------------------------------------------------


def tams(job: dict[str, Any]) -> dict[str, Any]:
    return {"job": {"id": "784512339871236541", **job}}


@pytest.mark.parametrize("status", ["DEFAULT", "CREATED", "PENDING", "WAITING"])
async def test_tams_not_started_states_are_queued(wire: Wire, status: str) -> None:
    wire.reply(Reply(json=tams({"status": status})))
    job = await wire.get_job(make_hook("tensorart"), "784512339871236541")
    assert (job.state, job.provider_status, job.is_terminal) == (JobState.QUEUED, status, False)
    assert job.queue_position is None and job.outputs == ()


@pytest.mark.parametrize(("rank", "position"), [("17", 17), ("0", 0), (3, 3), ("", None), ("n/a", None)])
async def test_tams_waiting_queue_position_from_the_string_queue_rank(
    wire: Wire, rank: Any, position: int | None
) -> None:
    wire.reply(Reply(json=tams({"status": "WAITING", "waitingInfo": {"queueRank": rank, "queueLen": "40"}})))
    job = await wire.get_job(make_hook("tensorart"), "784512339871236541")
    assert job.state is JobState.QUEUED
    assert job.queue_position == position


@pytest.mark.parametrize(
    ("running_info", "progress"),
    [
        ({"processingImages": [{"progress": 0.25}, {"progress": 0.75}]}, 0.5),
        ({"processingImages": [{"progress": 40}]}, 0.4),  # 0..100 is read as a percentage
        ({"workflowFinishItem": {"status": "RUNNING", "progress": 0.6, "step": 3}}, 0.6),
        ({}, None),
    ],
)
async def test_tams_running_with_progress(
    wire: Wire, running_info: dict[str, Any], progress: float | None
) -> None:
    wire.reply(Reply(json=tams({"status": "RUNNING", "runningInfo": running_info})))
    job = await wire.get_job(make_hook("tensorart"), "784512339871236541")
    assert job.state is JobState.RUNNING
    assert job.progress == pytest.approx(progress) if progress is not None else job.progress is None


async def test_tams_success_gives_images_and_videos(wire: Wire) -> None:
    success = {
        "images": [
            {"id": "901", "url": "https://cdn.tams.example/i1.png", "expiredIn": "3600"},
            {"id": "902", "url": "https://cdn.tams.example/i2.png?Expires=4102444800"},
        ],
        "videos": [{"id": "903", "url": "https://cdn.tams.example/v.mp4", "expiredIn": "1893456000000"}],
    }
    wire.reply(Reply(json=tams({"status": "SUCCESS", "credits": "1.5", "successInfo": success})))
    before = datetime.now(timezone.utc)
    job = await wire.get_job(make_hook("tensorart"), "784512339871236541")
    after = datetime.now(timezone.utc)
    assert job.state is JobState.SUCCEEDED and job.progress == 1.0
    assert [(o.name, o.kind) for o in job.outputs] == [
        ("901", OutputKind.IMAGE),
        ("902", OutputKind.IMAGE),
        ("903", OutputKind.VIDEO),
    ]
    seconds, signed, epoch_ms = (o.expires_at for o in job.outputs)
    assert seconds is not None and before + timedelta(hours=1) <= seconds <= after + timedelta(hours=1)
    assert signed == datetime(2100, 1, 1, tzinfo=timezone.utc)  # the URL's own Expires wins
    assert epoch_ms == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert (job.cost, job.cost_unit) == (1.5, "credits")


@pytest.mark.parametrize(
    ("code", "retryable"), [("TRANSITORY_ERROR", True), ("FATAL_ERROR", False), ("DEFAULT", False)]
)
async def test_tams_failed_carries_reason_and_retryable_from_failed_info_code(
    wire: Wire, code: str, retryable: bool
) -> None:
    failed = {"reason": "GPU node lost", "code": code}
    wire.reply(Reply(json=tams({"status": "FAILED", "failedInfo": failed})))
    job = await wire.get_job(make_hook("tensorart"), "784512339871236541")
    assert (job.state, job.error, job.retryable) == (JobState.FAILED, "GPU node lost", retryable)
    assert job.outputs == ()


async def test_tams_canceled(wire: Wire) -> None:
    wire.reply(Reply(json=tams({"status": "CANCELED"})))
    job = await wire.get_job(make_hook("tensorart"), "784512339871236541")
    assert (job.state, job.is_terminal, job.error, job.retryable) == (JobState.CANCELED, True, None, False)


async def test_tams_64_bit_ids_stay_exact_strings(wire: Wire) -> None:
    big = "18446744073709551557"  # above 2**63 and far above 2**53: a float would round it
    wire.reply(Reply(json={"job": {"id": big, "status": "RUNNING"}}))
    job = await wire.get_job(make_hook("tensorart"), big)
    assert job.job_id == big and isinstance(job.job_id, str)
    assert wire.sent[0].path == f"/v1/jobs/{big}"
    # an API answering with a JSON number still gives the exact digits
    wire.reply(Reply(body=b'{"job": {"id": 18446744073709551557, "status": "RUNNING"}}'))
    assert (await wire.get_job(make_hook("tensorart"), big)).job_id == big


@pytest.mark.parametrize(
    ("status", "body", "error_class", "headers"),
    [
        (400, {"code": 3, "message": "invalid argument: jobId", "details": []}, MediaJobApiError, {}),
        (401, {"code": 16, "message": "signature mismatch", "details": []}, MediaJobAuthError, {}),
        (403, {"code": 7, "message": "permission denied", "details": []}, MediaJobAuthError, {}),
        (404, {"code": 5, "message": "job not found", "details": []}, MediaJobNotFoundError, {}),
        (
            429,
            {"code": 8, "message": "qps limit", "details": []},
            MediaJobRateLimitedError,
            {"Retry-After": "2"},
        ),
        (500, {"code": 13, "message": "internal", "details": []}, MediaJobTransientError, {}),
        (503, {"code": 14, "message": "unavailable", "details": []}, MediaJobTransientError, {}),
    ],
)
async def test_tams_grpc_style_error_bodies(
    wire: Wire, status: int, body: dict[str, Any], error_class: type[MediaJobError], headers: dict[str, str]
) -> None:
    wire.reply(Reply(status, json=body, headers=headers))
    with pytest.raises(error_class) as info:
        await wire.get_job(make_hook("tensorart"), "784512339871236541")
    assert type(info.value) is error_class
    assert body["message"] in str(info.value) and f"gRPC code {body['code']}" in str(info.value)
    assert_error_context(info.value, "tensorart", "tensorart_default", "784512339871236541")


# ---- Vozo ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", JobState.QUEUED),
        ("processing", JobState.RUNNING),
        ("done", JobState.SUCCEEDED),
        ("failed", JobState.FAILED),
    ],
)
async def test_vozo_lipsync_states(wire: Wire, status: str, state: JobState) -> None:
    body: dict[str, Any] = {"status": status}
    if status == "done":
        body["video_url"] = "https://cdn.vozo.example/o.mp4"
    wire.reply(Reply(json=body))
    job = await wire.get_job(make_hook("vozo"), "task-1")
    assert (job.state, job.provider_status, job.job_kind) == (state, status, "lipsync")
    assert job.output_urls == (["https://cdn.vozo.example/o.mp4"] if status == "done" else [])
    assert wire.sent[-1].path == "/v1/video_generation/task-1"


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("5", MediaJobApiError),  # invalid params
        ("104", MediaJobApiError),  # insufficient credits
        ("7", MediaJobAuthError),  # no permission
        ("1302", MediaJobAuthError),
        ("1304", MediaJobRateLimitedError),  # too many concurrent jobs
        ("1000", MediaJobTransientError),  # internal error
        (1000, MediaJobTransientError),  # numeric codes compare as strings
    ],
)
async def test_vozo_400_code_message_errors(wire: Wire, code: Any, error_class: type[MediaJobError]) -> None:
    wire.reply(Reply(400, json={"code": code, "message": f"vozo says {code}", "serverTs": "1730000000000"}))
    with pytest.raises(error_class) as info:
        await wire.get_job(make_hook("vozo"), "task-1")
    assert type(info.value) is error_class
    assert f"code {code}: vozo says {code}" in str(info.value)
    assert_error_context(info.value, "vozo", "vozo_default", "task-1")


TRANSLATE_STAGES = ["preprocessing", "transcribing", "translating", "dubbing", "rendering"]


@pytest.mark.parametrize("how", ["hook", "call"])
async def test_vozo_translate_family_is_selectable_on_the_hook(wire: Wire, how: str) -> None:
    hook = make_hook("vozo", job_kind="translate") if how == "hook" else make_hook("vozo")
    kind = None if how == "hook" else "translate"
    progress: list[float] = []
    for stage in TRANSLATE_STAGES:
        wire.reply(Reply(json={"status": stage, "err_code": None, "err_message": None, "result": None}))
        job = await wire.get_job(hook, "tr-9", kind)
        assert (job.state, job.provider_status, job.job_kind) == (JobState.RUNNING, stage, "translate")
        assert job.progress is not None
        progress.append(job.progress)
    assert progress == sorted(progress) and len(set(progress)) == len(progress)  # stages advance

    wire.reply(Reply(json={"status": "queuing"}))
    assert (await wire.get_job(hook, "tr-9", kind)).state is JobState.QUEUED

    result = {
        "video_url": "https://cdn.vozo.example/tr-9.mp4",
        "audio_url": "https://cdn.vozo.example/tr-9.mp3",
        "subtitle_url": "https://cdn.vozo.example/tr-9.srt",
    }
    wire.reply(Reply(json={"status": "done", "err_code": None, "err_message": None, "result": result}))
    job = await wire.get_job(hook, "tr-9", kind)
    assert job.state is JobState.SUCCEEDED and job.progress == 1.0
    assert [(o.url, o.kind, o.name) for o in job.outputs] == [
        (result["video_url"], OutputKind.VIDEO, "video"),
        (result["audio_url"], OutputKind.AUDIO, "audio"),
        (result["subtitle_url"], OutputKind.OTHER, "subtitle"),
    ]
    assert {s.path for s in wire.sent} == {"/v1/media/translate/tr-9"}
    assert {s.url.split("/v1/")[0] for s in wire.sent} == {BASE_URLS["vozo"]}


@pytest.mark.parametrize(("err_code", "retryable"), [("20601", False), ("999", True)])
async def test_vozo_translate_failure_carries_err_code_and_err_message(
    wire: Wire, err_code: str, retryable: bool
) -> None:
    wire.reply(
        Reply(json={"status": "failed", "err_code": err_code, "err_message": "no face", "result": None})
    )
    job = await wire.get_job(make_hook("vozo", job_kind="translate"), "tr-9")
    assert job.state is JobState.FAILED
    assert job.error == f"[{err_code}] no face"
    assert job.retryable is retryable


async def test_vozo_unknown_job_kind_is_refused_before_any_request(wire: Wire) -> None:
    with pytest.raises(MediaJobError, match="Unknown Vozo job kind 'dub'") as info:
        await wire.get_job(make_hook("vozo"), "task-1", "dub")
    assert_error_context(info.value, "vozo", "vozo_default", "task-1")
    assert wire.sent == []


# ---- TensorPix -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (0, JobState.QUEUED),
        (1, JobState.RUNNING),
        (2, JobState.SUCCEEDED),
        (-1, JobState.FAILED),
        (-2, JobState.CANCELED),
        ("2", JobState.SUCCEEDED),  # an integer sent as a string
        ("IN_QUEUE", JobState.QUEUED),  # the string form of the history endpoint and the docs' prose
        ("Processing", JobState.RUNNING),
    ],
)
async def test_tensorpix_integer_states(wire: Wire, status: Any, state: JobState) -> None:
    body = tensorpix_job(0, output=state is JobState.SUCCEEDED)
    body["status"] = status
    wire.reply(Reply(json=body))
    job = await wire.get_job(make_hook("tensorpix"), "4242")
    assert job.state is state
    assert job.output_urls == ([body["output_video"]["file"]] if state is JobState.SUCCEEDED else [])


async def test_tensorpix_progress_eta_output_and_cost(wire: Wire) -> None:
    wire.reply(Reply(json=tensorpix_job(1, progress=0.42, eta=37.5, cost="0.1234")))
    job = await wire.get_job(make_hook("tensorpix"), 4242)  # an int id is fine
    assert (job.progress, job.eta_seconds, job.cost, job.cost_unit) == (0.42, 37.5, 0.1234, "usd")
    assert job.describe() == "tensorpix job 4242: running (provider status 1) 42% ETA 38s"

    wire.reply(Reply(json=tensorpix_job(2, progress=1.0, eta=0.0, output=True)))
    job = await wire.get_job(make_hook("tensorpix"), "4242")
    assert job.outputs == (
        MediaOutput(
            url=tensorpix_job(2, output=True)["output_video"]["file"],
            kind=OutputKind.VIDEO,
            expires_at=datetime(2026, 1, 1, 1, 0, tzinfo=timezone.utc),
            name="in_enhanced.mp4",
        ),
    )
    assert job.eta_seconds is None  # no ETA for a finished job

    finished_without_file = tensorpix_job(2, output=True)
    finished_without_file["output_video"]["file"] = None  # "not completely uploaded yet"
    wire.reply(Reply(json=finished_without_file))
    assert (await wire.get_job(make_hook("tensorpix"), "4242")).outputs == ()


@pytest.mark.parametrize(
    ("status", "error_class", "detail"),
    [
        (401, MediaJobAuthError, "Invalid token."),
        (403, MediaJobAuthError, "You do not have permission to perform this action."),
        (404, MediaJobNotFoundError, "Not found."),
        (429, MediaJobRateLimitedError, "Request was throttled. Expected available in 3 seconds."),
        (400, MediaJobApiError, "Insufficient credits."),
        (500, MediaJobTransientError, "A server error occurred."),
    ],
)
async def test_tensorpix_detail_errors(
    wire: Wire, status: int, error_class: type[MediaJobError], detail: str
) -> None:
    wire.reply(Reply(status, json={"detail": detail}))
    with pytest.raises(error_class) as info:
        await wire.get_job(make_hook("tensorpix"), "4242")
    assert type(info.value) is error_class
    assert f"HTTP {status}: {detail}" in str(info.value)
    assert_error_context(info.value, "tensorpix", "tensorpix_default", "4242")


async def test_tensorpix_drf_validation_errors_are_readable(wire: Wire) -> None:
    wire.reply(Reply(400, json={"url": ["This field is required."], "ml_models": ["Invalid pk."]}))
    with pytest.raises(MediaJobApiError) as info:
        await wire.get_job(make_hook("tensorpix"), "4242")
    assert "url: This field is required., ml_models: Invalid pk." in str(info.value)


# ---- unknown states -----------------------------------------------------------------------------


def _unknown(provider: str) -> Any:
    if provider == "tensorpix":
        return (
            1000 + uuid.uuid4().int % 10**9
        )  # a new integer state (unique per run: logged once per process)
    return f"NEW_STATE_{uuid.uuid4().hex[:10]}"


def _body_with_status(provider: str, status: Any) -> dict[str, Any]:
    if provider == "goenhance":
        return goenhance({"img_uuid": "j1", "status": status, "json": None})
    if provider == "tensorart":
        return {"job": {"id": "j1", "status": status}}
    if provider == "tensorpix":
        body = tensorpix_job(0)
        body["status"] = status
        return body
    return {"status": status}


@pytest.mark.parametrize("provider", ["goenhance", "tensorart", "vozo", "vozo-translate", "tensorpix"])
async def test_unknown_provider_state_is_non_terminal_and_logged_once(
    wire: Wire, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider_mediajobs")
    dialect = provider.split("-")[0]
    hook = make_hook(dialect, job_kind="translate" if provider == "vozo-translate" else None)
    job_id = "1" if dialect == "tensorpix" else "j1"
    status = _unknown(dialect)
    wire.reply(Reply(json=_body_with_status(dialect, status)))
    jobs = [await wire.get_job(hook, job_id) for _ in range(3)]
    for job in jobs:
        assert not job.is_terminal and job.state is JobState.QUEUED
        assert job.provider_status == status
        assert job.outputs == () and job.error is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if repr(status) in w]) == 1, warnings
    assert f"{dialect} reported an unknown job status {status!r}" in "\n".join(warnings)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_mistyped_status_is_a_bad_response_not_a_crash(wire: Wire, provider: str) -> None:
    job_id = "1" if provider == "tensorpix" else "j1"
    wire.reply(Reply(json=_body_with_status(provider, [1, 2])))  # a list where the status belongs
    with pytest.raises(MediaJobBadResponseError) as info:
        await wire.get_job(make_hook(provider), job_id)
    assert_error_context(info.value, provider, CONN_IDS[provider], job_id)
