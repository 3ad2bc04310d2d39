"""Issue 3, "done when": the core hooks read every state of every provider from the emulator.

Each job is scripted (outcome, queue and run time, outputs) and the emulated clock is moved
through its life: queued (TAMS CREATED -> PENDING -> WAITING with a falling queue rank) ->
running (progress, ETA, Vozo's translate stages) -> succeeded / failed / canceled. At every
step the sync hook (``requests``) and the async hook (``httpx``) read the job over real HTTP and
must agree with each other and with what the script implies, per the providers' documents.
Then submit and cancel round trips through the hooks for every provider that has them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.exceptions import MediaJobConfigError, MediaJobNotFoundError
from airflow_provider_mediajobs.hooks import MediaJobHook, hook_class
from airflow_provider_mediajobs.models import JobState, MediaJob, OutputKind

pytestmark = pytest.mark.usefixtures("connections")

QUEUED_S, RUNNING_S, QUEUE_RANK = 100.0, 200.0, 8
END = QUEUED_S + RUNNING_S
# Emulated seconds after creation at which the job is read: every TAMS queue status, a falling
# queue rank, every Vozo translate stage, then past the end.
# Half-seconds keep every read off a phase boundary that the clock's tiny drift could cross
# between the two reads (durations, reported in real seconds, are aligned by settle_countdowns).
CHECKPOINTS = (5.5, 15.5, 40.5, 70.5, 95.5, 101.5, 150.5, 190.5, 230.5, 270.5, 299.5, 301.5, 900.5)
HOUR = 3600
# How long output URLs stay valid (docs/emulator.md), from the job's end; TensorPix from each read.
URL_LIFETIME = {"goenhance": 12 * HOUR, "tensorart": 12 * HOUR, "vozo": 24 * HOUR, "tensorpix": 2 * HOUR}
TRANSLATE_STAGES = ("preprocessing", "transcribing", "translating", "dubbing", "rendering")


@dataclass(frozen=True)
class Case:
    name: str
    provider: str
    conn_id: str
    kind: str | None  # the hook's job kind (None: the provider's only one)
    emulator_kind: str | None  # the emulator's kind for add_job
    outputs: tuple[str, ...] | None  # scripted output kinds (None: the kind's default)
    expected_kinds: tuple[OutputKind, ...]


IMAGE, VIDEO, AUDIO, OTHER = OutputKind.IMAGE, OutputKind.VIDEO, OutputKind.AUDIO, OutputKind.OTHER
CASES = (
    Case("goenhance-faceswap", "goenhance", "goenhance_emu", None, "faceswap", None, (IMAGE,)),
    Case("goenhance-video2video", "goenhance", "goenhance_emu", None, "video2video", None, (VIDEO,)),
    Case("tensorart-bearer", "tensorart", "tensorart_emu", None, "job", ("image", "image"), (IMAGE, IMAGE)),
    Case("tensorart-rsa", "tensorart", "tensorart_rsa", None, "job", ("image", "video"), (IMAGE, VIDEO)),
    Case("tensorart-rsa-template", "tensorart", "tensorart_rsa", "template", "template", None, (IMAGE,)),
    Case("vozo-lipsync", "vozo", "vozo_emu", "lipsync", "lipsync", None, (VIDEO,)),
    Case("vozo-translate", "vozo", "vozo_emu", "translate", "translate", None, (VIDEO, AUDIO, OTHER)),
    Case("tensorpix", "tensorpix", "tensorpix_emu", None, None, None, (VIDEO,)),
)


def make_hook(case: Case) -> MediaJobHook:
    return hook_class(case.provider)(conn_id=case.conn_id, job_kind=case.kind)


def read_both(case: Case, job_id: str) -> MediaJob:
    """Read through the sync and the async path (fresh hooks); both must see the same job."""
    sync_job = make_hook(case).get_job(job_id)
    async_job = asyncio.run(make_hook(case).aget_job(job_id))
    sync_dict, async_dict = sync_job.to_dict(), async_job.to_dict()
    if case.provider == "tensorpix" and sync_job.outputs:
        # TensorPix re-signs the output URL on every read, each with a later expiry.
        for key in ("raw", "outputs", "output_urls"):
            sync_dict.pop(key), async_dict.pop(key)
        assert [o.kind for o in async_job.outputs] == [o.kind for o in sync_job.outputs]
        for first, second in zip(sync_job.outputs, async_job.outputs, strict=True):
            assert first.url != second.url
            assert first.expires_at is not None and second.expires_at is not None
            assert second.expires_at > first.expires_at
    settle_countdowns(sync_dict, async_dict)
    assert async_dict == sync_dict, case.name
    return async_job


def settle_countdowns(first: dict[str, Any], second: dict[str, Any]) -> None:
    """Durations are reported in real seconds, so they count down between the two reads even on a
    frozen emulated clock: check they agree to within the time between the reads, then align them."""

    def countdowns(data: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        found = [(data, "eta_seconds")] if data.get("eta_seconds") is not None else []
        raw = data.get("raw")
        if isinstance(raw, dict):
            if raw.get("eta_s") is not None:
                found.append((raw, "eta_s"))
            info = raw.get("successInfo") or {}
            for item in (info.get("images") or []) + (info.get("videos") or []):
                found.append((item, "expiredIn"))
        return found

    pairs = list(zip(countdowns(first), countdowns(second), strict=True))
    for (one, key), (other, other_key) in pairs:
        assert key == other_key
        assert abs(float(one[key]) - float(other[key])) <= 1.0, (key, one[key], other[key])
        other[key] = one[key]


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def emulated_cost(emu: Emulator, provider: str, job_id: str) -> float:
    job = emu.runtime.state.get_job(provider, job_id)  # the seeded price the emulator reports
    assert job is not None
    return float(job.cost)


# ---- the active phases ------------------------------------------------------------------------
def check_queued(case: Case, job: MediaJob, elapsed: float, speed: float) -> None:
    assert job.state is JobState.QUEUED
    assert job.outputs == () and job.error is None
    provider = case.provider
    if provider == "tensorart":
        share = elapsed / QUEUED_S
        expected_status = "CREATED" if share < 0.1 else "PENDING" if share < 0.2 else "WAITING"
        assert job.provider_status == expected_status
        if expected_status == "WAITING":
            assert isinstance(job.queue_position, int)
            assert 0 <= job.queue_position <= QUEUE_RANK
        else:
            assert job.queue_position is None
        assert job.progress is None and job.eta_seconds is None
    elif provider == "tensorpix":
        assert job.provider_status == 0
        assert job.progress == 0.0
        assert job.eta_seconds == pytest.approx((END - elapsed) / speed, rel=1e-3)  # real seconds
        assert job.queue_position is None
    elif provider == "vozo" and case.kind == "translate":
        assert job.provider_status == "queuing"
        assert job.progress == 0.0
    else:
        assert job.provider_status == "pending"  # GoEnhance, Vozo lip-sync
        assert job.progress is None and job.queue_position is None and job.eta_seconds is None


def check_running(case: Case, job: MediaJob, elapsed: float, speed: float) -> None:
    assert job.state is JobState.RUNNING
    assert job.outputs == () and job.error is None and job.queue_position is None
    share = (elapsed - QUEUED_S) / RUNNING_S
    provider = case.provider
    if provider == "tensorart":
        assert job.provider_status == "RUNNING"
        assert job.progress == pytest.approx(share, abs=1e-3)
    elif provider == "tensorpix":
        assert job.provider_status == 1
        assert job.progress == pytest.approx(share, abs=1e-3)
        assert job.eta_seconds == pytest.approx((END - elapsed) / speed, rel=1e-3)  # real seconds
    elif provider == "vozo" and case.kind == "translate":
        stage = TRANSLATE_STAGES[min(4, int(share * 5))]
        assert job.provider_status == stage
        # coarse progress: the share of the work done when the stage starts
        assert (
            job.progress
            == {
                "preprocessing": 0.05,
                "transcribing": 0.15,
                "translating": 0.35,
                "dubbing": 0.55,
                "rendering": 0.8,
            }[stage]
        )
    else:
        assert job.provider_status == "processing"
        assert job.progress is None
    if job.progress is not None:
        assert 0.0 <= job.progress <= 1.0


# ---- the end ----------------------------------------------------------------------------------
def check_succeeded(case: Case, job: MediaJob, emu: Emulator, created: float, job_id: str) -> None:
    assert job.state is JobState.SUCCEEDED
    assert job.progress == 1.0 and job.error is None and job.eta_seconds is None
    assert tuple(o.kind for o in job.outputs) == case.expected_kinds
    assert job.output_urls == [o.url for o in job.outputs]
    assert len(set(job.output_urls)) == len(job.outputs)
    lifetime = URL_LIFETIME[case.provider]
    expires = (emu.now() if case.provider == "tensorpix" else created + END) + lifetime
    for output in job.outputs:
        assert output.url.startswith(f"{emu.url}/cdn/{case.provider}/"), output.url
        assert output.expires_at is not None
        assert abs((output.expires_at - at(expires)).total_seconds()) <= 1.0
        assert not output.is_expired(now=at(emu.now()))
    if case.kind == "translate":
        assert [o.name for o in job.outputs] == ["video", "audio", "subtitle"]


def check_failed(case: Case, job: MediaJob, reason: str) -> None:
    assert job.state is JobState.FAILED
    assert job.outputs == ()
    expected = {
        "tensorart": reason,
        "tensorpix": "TensorPix reported status -1 (Failed)",
        "goenhance": "GoEnhance reported status 'failed' without a reason",
        "vozo": f"[4101] {reason}" if case.kind == "translate" else "Vozo reported 'failed' without a reason",
    }[case.provider]
    assert job.error == expected


def check_cost(case: Case, job: MediaJob, emu: Emulator, job_id: str) -> None:
    if case.provider == "tensorart":
        assert job.cost == emulated_cost(emu, "tensorart", job_id)
        assert job.cost_unit == "credits"
    elif case.provider == "tensorpix":
        assert job.cost == pytest.approx(emulated_cost(emu, "tensorpix", job_id))
        assert job.cost_unit == "usd"
    else:  # neither GoEnhance nor Vozo report a price on the job
        assert job.cost is None and job.cost_unit is None


@pytest.mark.parametrize("outcome", ["succeeded", "failed", "canceled"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_state_sync_and_async(emu: Emulator, case: Case, outcome: str) -> None:
    reason = f"{case.name} could not render the input"
    script: dict[str, Any] = {
        "outcome": outcome,
        "queued_s": QUEUED_S,
        "running_s": RUNNING_S,
        "queue_rank": QUEUE_RANK,
        "failure_reason": reason,
        "failure_code": "4101" if case.provider == "vozo" else "FATAL_ERROR",
    }
    if case.emulator_kind:
        script["kind"] = case.emulator_kind
    if case.outputs:
        script["outputs"] = list(case.outputs)
    job_id = str(emu.add_job(case.provider, **script))
    created = emu.now()

    elapsed = 0.0
    ranks: list[int] = []
    for checkpoint in CHECKPOINTS:
        emu.advance(checkpoint - elapsed)
        elapsed = checkpoint
        job = read_both(case, job_id)
        assert job.provider == case.provider and job.job_id == job_id
        check_cost(case, job, emu, job_id)
        if elapsed < QUEUED_S:
            check_queued(case, job, elapsed, emu.speed)
            if job.queue_position is not None:
                ranks.append(job.queue_position)
        elif elapsed < END:
            check_running(case, job, elapsed, emu.speed)
        elif outcome == "succeeded":
            check_succeeded(case, job, emu, created, job_id)
        elif outcome == "failed":
            check_failed(case, job, reason)
            assert job.retryable is False
        elif case.provider in ("tensorart", "tensorpix"):
            assert job.state is JobState.CANCELED
            assert job.error is None and job.outputs == ()
        else:  # GoEnhance and Vozo have no canceled state: the API reports a canceled job as failed
            assert job.state is JobState.FAILED
            assert job.outputs == ()

    if case.provider == "tensorart":  # the queue rank falls while the job waits
        assert ranks == sorted(ranks, reverse=True)
        assert ranks[0] >= 4 and ranks[-1] <= 1, ranks
    # every hook read is exactly one request: nothing retried, nothing refused
    status = emu.stats()["requests"][f"{case.provider} status"]
    assert status == {"200": 2 * len(CHECKPOINTS)}


@pytest.mark.parametrize("conn_id", ["tensorart_emu", "tensorart_rsa"])
def test_tams_transitory_failure_is_retryable(emu: Emulator, conn_id: str) -> None:
    job_id = str(
        emu.add_job(
            "tensorart",
            outcome="failed",
            queued_s=1,
            running_s=1,
            failure_reason="GPU node lost",
            failure_code="TRANSITORY_ERROR",
        )
    )
    emu.advance(10)
    case = Case("tams", "tensorart", conn_id, None, None, None, ())
    job = read_both(case, job_id)
    assert job.state is JobState.FAILED
    assert job.error == "GPU node lost"
    assert job.retryable is True


@pytest.mark.parametrize(
    "conn_id", ["goenhance_emu", "tensorart_emu", "tensorart_rsa", "vozo_emu", "tensorpix_emu"]
)
def test_connection_test_and_unknown_job(emu: Emulator, connections: dict[str, Any], conn_id: str) -> None:
    provider = connections[conn_id]["conn_type"]
    hook = hook_class(provider)(conn_id=conn_id)
    ok, message = hook.test_connection()
    assert ok, message
    unknown = "999999999" if provider == "tensorpix" else "123456789012345678"
    with pytest.raises(MediaJobNotFoundError) as sync_err:
        hook.get_job(unknown)
    with pytest.raises(MediaJobNotFoundError) as async_err:
        asyncio.run(hook_class(provider)(conn_id=conn_id).aget_job(unknown))
    for err in (sync_err.value, async_err.value):
        text = str(err)
        assert provider in text.lower() or hook.dialect.display_name in text
        assert conn_id in text and unknown in text


# ---- submit and cancel ------------------------------------------------------------------------
def test_goenhance_submit_both_kinds_and_no_cancel(emu: Emulator) -> None:
    hook = hook_class("goenhance")(conn_id="goenhance_emu")
    args = {"reference_img": "https://example.com/a.jpg", "source_img": "https://example.com/b.jpg"}
    swap = hook.submit_job({"args": args, "type": "mx-image-face-swap"}, kind="faceswap")
    v2v_args = {"reference_video_url": "https://example.com/in.mp4", "model": 2000, "prompt": "anime"}
    v2v = hook.submit_job(v2v_args, kind="video2video")
    assert emu.job("goenhance", swap)["kind"] == "faceswap"
    assert emu.job("goenhance", swap)["request"]["args"] == args
    assert emu.job("goenhance", v2v)["kind"] == "video2video"
    assert emu.job("goenhance", v2v)["request"]["type"] == "mx-v2v"  # bare args are wrapped
    assert hook.get_job(swap).state is JobState.QUEUED

    assert hook.supports_cancel is False
    with pytest.raises(MediaJobConfigError, match="GoEnhance has no API to cancel"):
        hook.cancel_job(swap)
    assert emu.stats()["requests"]["goenhance create"] == {"200": 2}
    assert "goenhance cancel" not in emu.stats()["requests"]


@pytest.mark.parametrize("conn_id", ["tensorart_emu", "tensorart_rsa"])
def test_tams_submit_idempotent_template_and_cancel(emu: Emulator, conn_id: str) -> None:
    hook = hook_class("tensorart")(conn_id=conn_id)
    stages = {"stages": [{"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}}]}
    first = hook.submit_job(stages, request_id="airflow-req-1")
    again = hook.submit_job(stages, request_id="airflow-req-1")
    assert again == first  # same requestId: the same job, not a second one
    other = hook.submit_job(stages, request_id="airflow-req-2")
    assert other != first
    template = hook.submit_job(
        {"templateId": "676018193025756628", "fields": {"fieldAttrs": []}},
        kind="template",
        request_id="airflow-req-3",
    )
    assert emu.job("tensorart", template)["kind"] == "template"
    assert emu.stats()["jobs"] == {"tensorart": 3}

    assert hook.cancel_job(first) is True
    assert hook.get_job(first).state is JobState.CANCELED
    assert hook.cancel_job(first) is False  # already finished: nothing left to cancel
    assert asyncio.run(hook_class("tensorart")(conn_id=conn_id).acancel_job(other)) is True
    assert hook.get_job(other).state is JobState.CANCELED
    assert emu.stats()["requests"]["tensorart cancel"] == {"200": 2, "400": 1}


def test_vozo_submit_both_kinds(emu: Emulator) -> None:
    hook = hook_class("vozo")(conn_id="vozo_emu")
    lipsync = hook.submit_job(
        {
            "reference_file_url": "https://example.com/face.mp4",
            "audio_url": "https://example.com/voice.mp3",
            "model": "standard_v1",
            "reference_file_type": "video",
        },
        kind="lipsync",
    )
    translate = hook.submit_job(
        {
            "media_type": "video",
            "media_url": "https://example.com/talk.mp4",
            "source_language": "auto",
            "target_language": "es",
            "export_type": "all",
        },
        kind="translate",
    )
    assert emu.job("vozo", lipsync)["kind"] == "lipsync"
    assert emu.job("vozo", translate)["kind"] == "translate"
    assert hook.get_job(lipsync, kind="lipsync").provider_status == "pending"
    assert hook.get_job(translate, kind="translate").provider_status == "queuing"
    with pytest.raises(MediaJobNotFoundError):  # a translate id is not a lip-sync task
        hook.get_job(translate, kind="lipsync")
    assert hook.supports_cancel is False


def test_tensorpix_submit_and_cancel(emu: Emulator) -> None:
    hook = hook_class("tensorpix")(conn_id="tensorpix_emu")
    job_id = hook.submit_job({"url": "https://example.com/in.mp4", "ml_models": [1]})
    assert job_id.isdigit()
    assert emu.job("tensorpix", int(job_id))["request"]["url"] == "https://example.com/in.mp4"
    assert hook.cancel_job(job_id) is True
    assert hook.get_job(job_id).state is JobState.CANCELED
    assert hook.cancel_job(job_id) is False  # 409 "already canceled": this call canceled nothing (as TAMS)

    done = str(emu.add_job("tensorpix", outcome="succeeded", queued_s=1, running_s=1))
    emu.advance(5)
    assert hook.cancel_job(done) is False  # finished: nothing to cancel
    running = str(emu.add_job("tensorpix", queued_s=1, running_s=100))
    assert asyncio.run(hook_class("tensorpix")(conn_id="tensorpix_emu").acancel_job(running)) is True
    assert hook.get_job(running).state is JobState.CANCELED
    assert emu.stats()["requests"]["tensorpix cancel"] == {"204": 2, "409": 1, "400": 1}


@pytest.mark.parametrize(
    ("conn_id", "payload", "kind"),
    [
        (
            "goenhance_emu",
            {
                "args": {
                    "reference_img": "https://example.com/r.jpg",
                    "source_img": "https://example.com/s.jpg",
                }
            },
            "faceswap",
        ),
        ("tensorart_rsa", {"stages": [{"type": "INPUT_INITIALIZE"}], "requestId": "scripted-1"}, None),
        (
            "vozo_emu",
            {
                "reference_file_url": "https://example.com/v.mp4",
                "audio_url": "https://example.com/a.mp3",
                "model": "standard_v1",
                "reference_file_type": "video",
            },
            None,
        ),
        ("tensorpix_emu", {"url": "https://example.com/in.mp4"}, None),
    ],
    ids=["goenhance", "tensorart", "vozo", "tensorpix"],
)
def test_create_body_script_travels_through_the_hook(
    emu: Emulator, connections: dict[str, Any], conn_id: str, payload: dict[str, Any], kind: str | None
) -> None:
    provider = connections[conn_id]["conn_type"]
    hook = hook_class(provider)(conn_id=conn_id, job_kind=kind)
    script = {"outcome": "failed", "queued_s": 2, "running_s": 3, "failure_reason": "scripted failure"}
    job_id = hook.submit_job({**payload, "_emulator": script})
    assert emu.job(provider, int(job_id) if provider == "tensorpix" else job_id)["outcome"] == "failed"
    assert hook.get_job(job_id).state is JobState.QUEUED
    emu.advance(10)
    assert hook.get_job(job_id).state is JobState.FAILED
