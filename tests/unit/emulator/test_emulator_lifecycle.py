"""Job lifecycles per provider: scripted and unscripted jobs, every create route, cancel, scripts.

Every status read goes through ``Api.status``, which validates the body against the provider's
documented schema (``emu_support``).
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from airflow_provider_mediajobs.emulator import Emulator

from support.emulator_api import (
    GOENHANCE_FACESWAP,
    GOENHANCE_V2V,
    PNG_MAGIC,
    TAMS_ERROR,
    TAMS_TEMPLATE,
    TENSORPIX_ERROR,
    TENSORPIX_FROM_URL,
    TENSORPIX_JOB,
    VOZO_ERROR,
    VOZO_LIPSYNC,
    VOZO_TRANSLATE,
    VOZO_TRANSLATE_STAGES,
    dedup,
    output_urls,
    phase,
    raw_status,
    tams_body,
    validate,
)

KINDS = [
    ("goenhance", "faceswap"),
    ("goenhance", "video2video"),
    ("tensorart", "job"),
    ("tensorart", "template"),
    ("vozo", "lipsync"),
    ("vozo", "translate"),
    ("tensorpix", None),
]
IDS = [f"{p}-{k}" if k else p for p, k in KINDS]
CONTENT_TYPES = {
    "image": "image/png",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "subtitle": "text/plain",
}


def _script(provider, kind, **fields):
    if kind is not None:
        fields["kind"] = kind
    return fields


def _first_time(samples, wanted):
    return next(t for t, body in samples if body is not None and wanted(body))


# ------------------------------------------------------------------------------------------------
# The full lifecycle of a scripted job, for every provider and job kind
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("provider", "kind"), KINDS, ids=IDS)
def test_scripted_job_goes_queued_running_succeeded(emu, api, provider, kind):
    job_id = emu.add_job(provider, **_script(provider, kind, outcome="succeeded", queued_s=60, running_s=120))

    samples = api.timeline(provider, job_id, kind, until=200, step=10)
    phases = [phase(provider, body) for _, body in samples]

    assert dedup(phases) == ["queued", "running", "succeeded"]
    assert 60 <= _first_time(samples, lambda b: phase(provider, b) == "running") <= 70
    assert 180 <= _first_time(samples, lambda b: phase(provider, b) == "succeeded") <= 190

    final = samples[-1][1]
    outputs = output_urls(provider, final, kind)
    assert outputs, final
    for out_kind, url in outputs:
        response = api.download(url)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
        assert response.headers["content-type"].startswith(CONTENT_TYPES[out_kind])
        assert int(response.headers["content-length"]) == len(response.content) > 0
        if out_kind == "image":
            assert response.content.startswith(PNG_MAGIC)
    # no outputs are announced before the job finished
    for _, body in samples:
        if phase(provider, body) != "succeeded":
            assert output_urls(provider, body, kind) == []


def test_goenhance_detail_fields_over_the_lifecycle(emu, api):
    job_id = emu.add_job(
        "goenhance",
        kind="faceswap",
        outcome="succeeded",
        queued_s=30,
        running_s=30,
        outputs=["image", "image"],
    )
    samples = api.timeline("goenhance", job_id, None, until=70, step=5)
    for _, body in samples:
        data = body["data"]
        assert body["code"] == 0
        assert data["img_uuid"] == str(job_id)
        if data["status"] != "success":
            assert data["json"] is None
            assert data["img_url"] == ""
            assert "end_time" not in data or data["end_time"] in (None, "")
    assert dedup([b["data"]["status"] for _, b in samples]) == ["pending", "processing", "success"]
    data = samples[-1][1]["data"]
    assert data["type"] == "mx-image-face-swap"
    assert [o["type"] for o in data["json"]] == ["image", "image"]
    assert data["img_url"] == data["json"][0]["value"]
    assert data["end_time"] >= data["start_time"]


def test_goenhance_video2video_makes_video_outputs(emu, api):
    job_id = emu.add_job("goenhance", kind="video2video", outcome="succeeded", queued_s=5, running_s=5)
    api.advance(20)
    data = api.status("goenhance", job_id)["data"]
    assert data["status"] == "success"
    assert data["type"] == "mx-v2v"
    assert {o["type"] for o in data["json"]} == {"video"}


def test_tams_waiting_queue_rank_falls_and_progress_rises(emu, api):
    job_id = emu.add_job(
        "tensorart", kind="job", outcome="succeeded", queued_s=120, running_s=100, queue_rank=8
    )
    samples = api.timeline("tensorart", job_id, None, until=240, step=3)
    statuses = dedup([b["job"]["status"] for _, b in samples])
    order = ["CREATED", "PENDING", "WAITING", "RUNNING", "SUCCESS"]
    assert statuses == [s for s in order if s in statuses], statuses  # only ever forwards
    assert "WAITING" in statuses
    assert statuses[-2:] == ["RUNNING", "SUCCESS"]

    ranks = [int(b["job"]["waitingInfo"]["queueRank"]) for _, b in samples if b["job"]["status"] == "WAITING"]
    assert ranks[0] <= 8
    assert ranks == sorted(ranks, reverse=True), ranks
    assert ranks[-1] < ranks[0]
    assert ranks[-1] == 0, ranks
    for _, body in samples:
        if body["job"]["status"] == "WAITING":
            info = body["job"]["waitingInfo"]
            assert isinstance(info["queueRank"], str)
            assert isinstance(info["queueLen"], str)

    progress = []
    for _, body in samples:
        if body["job"]["status"] == "RUNNING":
            images = body["job"]["runningInfo"]["processingImages"]
            assert images
            progress.append(min(img["progress"] for img in images))
    assert len(progress) >= 15
    assert progress == sorted(progress), progress
    assert progress[0] < 0.2
    assert progress[-1] > 0.8
    assert all(0 <= p <= 1 for p in progress)

    job = samples[-1][1]["job"]
    assert "credits" in job
    assert job["successInfo"]["images"] or job["successInfo"]["videos"]


def test_tensorpix_progress_rises_and_eta_falls(emu, api):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=30, running_s=200)
    samples = api.timeline("tensorpix", job_id, None, until=240, step=8)
    assert dedup([b["status"] for _, b in samples]) == [0, 1, 2]

    running = [b for _, b in samples if b["status"] == 1]
    progress = [b["processing_progress"] for b in running]
    etas = [b["eta_s"] for b in running]
    assert len(running) >= 20
    assert progress == sorted(progress)
    assert progress[0] < 0.1
    assert progress[-1] > 0.9
    assert etas == sorted(etas, reverse=True), etas
    assert etas[0] > etas[-1] >= 0

    for _, body in samples:
        if body["status"] != 2:
            assert body["output_video"] is None
            assert body["finished"] is None
    final = samples[-1][1]
    assert final["processing_progress"] == pytest.approx(1.0)
    assert final["finished"] is not None
    assert final["output_video"]["file"]


def test_vozo_translate_walks_every_stage_in_order(emu, api):
    job_id = emu.add_job("vozo", kind="translate", outcome="succeeded", queued_s=30, running_s=600)
    samples = api.timeline("vozo", job_id, "translate", until=650, step=10)
    statuses = dedup([b["status"] for _, b in samples])
    assert statuses == [*VOZO_TRANSLATE_STAGES, "done"]
    final = samples[-1][1]
    result = final["result"]
    assert result["video_url"]
    assert result["audio_url"]
    assert result["subtitle_url"]


def test_vozo_lipsync_video_url_only_when_done(emu, api):
    job_id = emu.add_job("vozo", kind="lipsync", outcome="succeeded", queued_s=10, running_s=10)
    samples = api.timeline("vozo", job_id, None, until=30, step=2)
    assert dedup([b["status"] for _, b in samples]) == ["pending", "processing", "done"]
    for _, body in samples:
        assert ("video_url" in body and body["video_url"] is not None) == (body["status"] == "done")


# ------------------------------------------------------------------------------------------------
# Failed and canceled jobs
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("provider", "kind"), KINDS, ids=IDS)
def test_scripted_failure(emu, api, provider, kind):
    failure_code = {"tensorart": "FATAL_ERROR", "vozo": "20601"}.get(provider)
    fields = {"failure_code": failure_code} if failure_code else {}
    job_id = emu.add_job(
        provider,
        **_script(
            provider,
            kind,
            outcome="failed",
            queued_s=10,
            running_s=20,
            failure_reason="no face found in the reference",
            **fields,
        ),
    )
    samples = api.timeline(provider, job_id, kind, until=40, step=2)
    phases = dedup([phase(provider, b) for _, b in samples])
    assert phases[0] == "queued"
    assert phases[-1] == "failed"
    assert "succeeded" not in phases
    assert 28 <= _first_time(samples, lambda b: phase(provider, b) == "failed") <= 32

    final = samples[-1][1]
    assert output_urls(provider, final, kind) == []
    if provider == "tensorart":
        info = final["job"]["failedInfo"]
        assert info["reason"] == "no face found in the reference"
        assert info["code"] == "FATAL_ERROR"
    elif provider == "vozo" and kind == "translate":
        assert str(final["err_code"]) == "20601"
        assert final["err_message"] == "no face found in the reference"
    elif provider == "goenhance":
        assert final["data"]["json"] is None
    elif provider == "tensorpix":
        assert final["status"] == -1
        assert final["output_video"] is None


def test_tams_transitory_failure_code(emu, api):
    job_id = emu.add_job(
        "tensorart", outcome="failed", queued_s=1, running_s=1, failure_code="TRANSITORY_ERROR"
    )
    api.advance(10)
    job = api.status("tensorart", job_id)["job"]
    assert job["status"] == "FAILED"
    assert job["failedInfo"]["code"] == "TRANSITORY_ERROR"


@pytest.mark.parametrize(("provider", "final"), [("tensorart", "CANCELED"), ("tensorpix", -2)])
def test_scripted_cancel(emu, api, provider, final):
    job_id = emu.add_job(provider, outcome="canceled", queued_s=10, running_s=20)
    samples = api.timeline(provider, job_id, None, until=60, step=5)
    assert raw_status(provider, samples[0][1]) != final
    assert raw_status(provider, samples[-1][1]) == final
    assert output_urls(provider, samples[-1][1]) == []


def test_tams_cancel_route(emu, api):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=10, running_s=100)
    api.advance(30)
    assert api.status("tensorart", job_id)["job"]["status"] == "RUNNING"

    response = api.request("tensorart", "DELETE", f"/tensorart/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    assert response.json() == {"jobId": str(job_id)}
    assert api.status("tensorart", job_id)["job"]["status"] == "CANCELED"
    api.advance(200)  # the script's end does not resurrect it
    assert api.status("tensorart", job_id)["job"]["status"] == "CANCELED"


def test_tams_cancel_of_finished_job_is_400_code_9(emu, api):
    job_id = emu.add_job("tensorart", outcome="succeeded", queued_s=1, running_s=1)
    api.advance(10)
    response = api.request("tensorart", "DELETE", f"/tensorart/v1/jobs/{job_id}")
    assert response.status_code == 400
    validate(response.json(), TAMS_ERROR)
    assert response.json()["code"] == 9
    assert api.status("tensorart", job_id)["job"]["status"] == "SUCCESS"


def test_tensorpix_cancel_route(emu, api):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=10, running_s=100)
    api.advance(30)
    assert api.status("tensorpix", job_id)["status"] == 1

    response = api.request("tensorpix", "DELETE", f"/tensorpix/api/jobs/{job_id}/")
    assert response.status_code == 204
    assert response.content == b""
    assert api.status("tensorpix", job_id)["status"] == -2

    again = api.request("tensorpix", "DELETE", f"/tensorpix/api/jobs/{job_id}/")
    assert again.status_code == 409
    validate(again.json(), TENSORPIX_ERROR)
    api.advance(200)
    assert api.status("tensorpix", job_id)["status"] == -2


def test_tensorpix_cancel_of_finished_job_is_400(emu, api):
    job_id = emu.add_job("tensorpix", outcome="succeeded", queued_s=1, running_s=1)
    api.advance(10)
    response = api.request("tensorpix", "DELETE", f"/tensorpix/api/jobs/{job_id}/")
    assert response.status_code == 400
    assert api.status("tensorpix", job_id)["status"] == 2


# ------------------------------------------------------------------------------------------------
# Create routes (unscripted jobs get seeded-random durations and succeed)
# ------------------------------------------------------------------------------------------------
CREATES = [
    ("goenhance", None, "/goenhance/api/v1/imagefaceswap/generate", GOENHANCE_FACESWAP),
    ("goenhance", None, "/goenhance/api/v1/video2video/generate", GOENHANCE_V2V),
    ("tensorart", None, "/tensorart/v1/jobs", None),
    ("tensorart", None, "/tensorart/v1/jobs/workflow/template", TAMS_TEMPLATE),
    ("vozo", "lipsync", "/vozo/v1/video_generation", VOZO_LIPSYNC),
    ("vozo", "translate", "/vozo/v1/media/translate", VOZO_TRANSLATE),
    ("tensorpix", None, "/tensorpix/api/jobs/from-url/", TENSORPIX_FROM_URL),
]
CREATE_IDS = [path.rsplit("/v1/", 1)[-1].strip("/").replace("/", "-") for _, _, path, _ in CREATES]


def _create(api, provider, path, body, script=None):
    if provider == "tensorart" and body is None:
        payload = json.loads(tams_body())
    elif provider == "tensorart":
        payload = {"requestId": uuid.uuid4().hex, **body}
    else:
        payload = dict(body)
    if script is not None:
        payload["_emulator"] = script
    return api.request(provider, "POST", path, json=payload)


def _created_id(provider, response):
    if provider == "goenhance":
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["code"] == 0, body
        assert body["msg"] == "success"
        assert isinstance(body["data"]["img_uuid"], str)
        return body["data"]["img_uuid"]
    if provider == "tensorart":
        assert response.status_code == 200, response.text
        job = response.json()["job"]
        assert job["status"] == "CREATED"
        assert isinstance(job["id"], str)
        assert job["id"].isdigit()
        return job["id"]
    if provider == "vozo":
        assert response.status_code == 200, response.text
        task_id = response.json()["task_id"]
        assert isinstance(task_id, str)
        return task_id
    assert response.status_code == 201, response.text
    job = response.json()
    validate(job, TENSORPIX_JOB)
    assert job["status"] == 0
    return job["id"]


@pytest.mark.parametrize(("provider", "kind", "path", "body"), CREATES, ids=CREATE_IDS)
def test_create_route_makes_a_job_that_eventually_succeeds(emu, api, provider, kind, path, body):
    job_id = _created_id(provider, _create(api, provider, path, body))
    first = api.status(provider, job_id, kind)
    assert phase(provider, first) == "queued"
    # queued 1-5 min + running 2-10 min (emulated) at most
    samples = api.timeline(provider, job_id, kind, until=15 * 60 + 10, step=30)
    phases = dedup([phase(provider, b) for _, b in samples])
    assert phases == ["queued", "running", "succeeded"]
    assert output_urls(provider, samples[-1][1], kind)
    assert emu.stats()["jobs"][provider] == 1
    if provider == "goenhance":
        expected_type = body["type"]
        assert samples[-1][1]["data"]["type"] == expected_type
        expected_outputs = {"mx-image-face-swap": {"image"}, "mx-v2v": {"video"}}[expected_type]
        assert {o["type"] for o in samples[-1][1]["data"]["json"]} == expected_outputs


def test_unscripted_durations_are_within_documented_ranges_and_seeded():
    def trajectory(seed):
        with Emulator(port=0, seed=seed, speed=1.0, tams_qps=0) as other, httpx.Client() as client:
            headers = {"Authorization": "Token tensorpix-emulator-key"}
            created = client.post(
                f"{other.url}/tensorpix/api/jobs/from-url/", json=TENSORPIX_FROM_URL, headers=headers
            )
            assert created.status_code == 201, created.text
            job_id = created.json()["id"]
            started = finished = None
            for step in range(1, 15 * 6 + 2):
                other.advance(10)
                status = client.get(f"{other.url}/tensorpix/api/jobs/{job_id}/", headers=headers).json()[
                    "status"
                ]
                if status >= 1 and started is None:
                    started = step * 10
                if status == 2:
                    finished = step * 10
                    break
            assert started is not None
            assert finished is not None
            return started, finished - started

    queued_a, running_a = trajectory(11)
    queued_b, running_b = trajectory(11)
    assert 60 <= queued_a <= 300 + 10
    assert 120 - 10 <= running_a <= 600 + 10
    assert abs(queued_a - queued_b) <= 10
    assert abs(running_a - running_b) <= 10


# ------------------------------------------------------------------------------------------------
# Create validation errors and unknown ids
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["args", "type"])
@pytest.mark.parametrize("path", ["imagefaceswap", "video2video"])
def test_goenhance_create_without_args_or_type(api, path, missing):
    body = dict(GOENHANCE_FACESWAP if path == "imagefaceswap" else GOENHANCE_V2V)
    del body[missing]
    response = api.request("goenhance", "POST", f"/goenhance/api/v1/{path}/generate", json=body)
    assert response.status_code == 200
    assert response.json()["code"] == 400
    assert isinstance(response.json()["msg"], str)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tensorart/v1/jobs", {"requestId": "abc"}),
        ("/tensorart/v1/jobs", {"stages": [{"type": "INPUT_INITIALIZE"}]}),
        ("/tensorart/v1/jobs/workflow/template", {"requestId": "abc"}),
    ],
)
def test_tams_create_missing_fields_is_400_code_3(api, path, body):
    response = api.request("tensorart", "POST", path, json=body)
    assert response.status_code == 400
    validate(response.json(), TAMS_ERROR)
    assert response.json()["code"] == 3


@pytest.mark.parametrize("missing", ["reference_file_url", "audio_url", "model", "reference_file_type"])
def test_vozo_create_missing_field_is_400_code_5(api, missing):
    body = {k: v for k, v in VOZO_LIPSYNC.items() if k != missing}
    response = api.request("vozo", "POST", "/vozo/v1/video_generation", json=body)
    assert response.status_code == 400
    validate(response.json(), VOZO_ERROR)
    assert response.json()["code"] == "5"


def test_tensorpix_create_without_url(api):
    response = api.request("tensorpix", "POST", "/tensorpix/api/jobs/from-url/", json={"ml_models": [1]})
    assert response.status_code == 400
    assert response.json() == {"url": ["This field is required."]}


def test_unknown_ids(api):
    goenhance = api.request("goenhance", "GET", "/goenhance/api/v1/jobs/detail?img_uuid=nope")
    assert goenhance.status_code == 200
    assert goenhance.json() == {"code": 404, "msg": "job not found", "data": None}

    tams = api.request("tensorart", "GET", "/tensorart/v1/jobs/123456789")
    assert tams.status_code == 404
    validate(tams.json(), TAMS_ERROR)
    assert tams.json()["code"] == 5

    for path in ("/vozo/v1/video_generation/nope", "/vozo/v1/media/translate/nope"):
        vozo = api.request("vozo", "GET", path)
        assert vozo.status_code == 404
        validate(vozo.json(), VOZO_ERROR)
        assert vozo.json()["code"] == "404"
        assert vozo.json()["message"] == "task not found"

    tensorpix = api.request("tensorpix", "GET", "/tensorpix/api/jobs/987654/")
    assert tensorpix.status_code == 404
    assert tensorpix.json() == {"detail": "Not found."}


# ------------------------------------------------------------------------------------------------
# Scripting through the create body, /_emulator/script and /_emulator/jobs
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("provider", "kind", "path", "body"), CREATES, ids=CREATE_IDS)
def test_emulator_object_in_create_body_scripts_the_job(emu, api, provider, kind, path, body):
    script = {"outcome": "failed", "queued_s": 10, "running_s": 10, "failure_reason": "scripted"}
    response = _create(api, provider, path, body, script=script)
    assert "_emulator" not in response.text
    job_id = _created_id(provider, response)
    assert phase(provider, api.status(provider, job_id, kind)) == "queued"
    api.advance(30)
    final = api.status(provider, job_id, kind)
    assert phase(provider, final) == "failed"
    assert "_emulator" not in json.dumps(final)


def test_script_route_applies_to_the_next_count_jobs(emu, api):
    response = api.http.post(
        "/_emulator/script",
        json={"provider": "tensorpix", "count": 2, "outcome": "failed", "queued_s": 5, "running_s": 5},
    )
    assert response.status_code == 200, response.text
    ids = []
    for _ in range(3):
        created = api.request("tensorpix", "POST", "/tensorpix/api/jobs/from-url/", json=TENSORPIX_FROM_URL)
        ids.append(_created_id("tensorpix", created))
    api.advance(20)
    assert [api.status("tensorpix", i)["status"] for i in ids] == [-1, -1, 0]
    api.advance(15 * 60)
    assert api.status("tensorpix", ids[2])["status"] == 2


def test_script_route_is_per_provider(emu, api):
    response = api.http.post(
        "/_emulator/script",
        json={"provider": "vozo", "count": 1, "outcome": "failed", "queued_s": 1, "running_s": 1},
    )
    assert response.status_code == 200
    pix = _created_id(
        "tensorpix",
        api.request("tensorpix", "POST", "/tensorpix/api/jobs/from-url/", json=TENSORPIX_FROM_URL),
    )
    vozo = _created_id("vozo", api.request("vozo", "POST", "/vozo/v1/video_generation", json=VOZO_LIPSYNC))
    api.advance(10)
    assert api.status("vozo", vozo)["status"] == "failed"
    assert api.status("tensorpix", pix)["status"] == 0


@pytest.mark.parametrize(("provider", "kind"), KINDS, ids=IDS)
def test_admin_jobs_route_creates_a_scripted_job(emu, api, provider, kind):
    payload = {"provider": provider, "outcome": "succeeded", "queued_s": 5, "running_s": 5}
    if kind:
        payload["kind"] = kind
    response = api.http.post("/_emulator/jobs", json=payload)
    assert response.status_code == 200, response.text
    job_id = response.json()["job_id"]
    assert phase(provider, api.status(provider, job_id, kind)) == "queued"
    api.advance(12)
    assert phase(provider, api.status(provider, job_id, kind)) == "succeeded"
    assert emu.stats()["jobs"][provider] == 1


def test_high_speed_moves_jobs_without_advance():
    with Emulator(port=0, seed=1, speed=1000, tams_qps=0) as fast:
        # 1 s queued and 2 s running in real time: long enough for a loaded machine to see both
        job_id = fast.add_job("tensorpix", outcome="succeeded", queued_s=1000, running_s=2000)
        headers = {"Authorization": "Token tensorpix-emulator-key"}
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = httpx.get(f"{fast.url}/tensorpix/api/jobs/{job_id}/", headers=headers).json()["status"]
            seen.append(status)
            if status == 2:
                break
            time.sleep(0.02)
        assert dedup(seen) == [0, 1, 2]
