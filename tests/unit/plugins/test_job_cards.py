"""The Media view's cards, built from the XComs media tasks write (pure: no Airflow, no I/O).

One card per job keyed by provider + job id; the persisted copies replace the provider URLs; inputs
read by each dialect; failures with reason, cost, tries and log links; the run's cost per unit.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_mediajobs.dialects.registry import get_dialect
from airflow_provider_mediajobs.models import JobInputs
from airflow_provider_mediajobs.plugins import card_html, pages
from airflow_provider_mediajobs.plugins.cards import job_cards, run_costs
from airflow_provider_mediajobs.plugins.records import TaskMedia, task_media

LATER = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
SIG = "sig=SECRETSIGNATURE"


def job(job_id: str, provider: str = "tensorart", state: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {
        "provider": provider,
        "job_id": job_id,
        "state": state,
        "outputs": [{"url": f"https://cdn.example/{job_id}.png?{SIG}", "kind": "image", "expires_at": LATER}],
        "cost": 2.5 if provider == "tensorart" else None,
        "cost_unit": "credits" if provider == "tensorart" else None,
        **extra,
    }


def files(name: str) -> list[dict[str, Any]]:
    return [
        {
            "url": f"https://cdn.example/{name}",
            "path": f"file:///out/{name}",
            "bytes": 10,
            "sha256": "ab" * 32,
            "content_type": "image/png",
            "kind": "image",
            "skipped": False,
        }
    ]


def submit(
    task_id: str, map_index: int, value: dict[str, Any] | None, state: str = "success", **xcoms: Any
) -> TaskMedia:
    found = task_media(
        task_id,
        map_index,
        state,
        "TensorArtSubmitJobOperator",
        {**({"return_value": value} if value else {}), **xcoms},
        try_number=xcoms.pop("try_number", 1) if "try_number" in xcoms else 1,
    )
    assert found is not None
    return found


def outputs(task_id: str, map_index: int, job_id: str | None, state: str = "success") -> TaskMedia:
    xcoms: dict[str, Any] = {}
    if job_id:
        xcoms = {
            "return_value": files(f"tensorart-{job_id}-0.png"),
            "media_job": {"provider": "tensorart", "job_id": job_id},
        }
    found = task_media(
        task_id, map_index, state, "MediaJobOutputsOperator", xcoms, try_number=1 if job_id else 0
    )
    assert found is not None
    return found


def links() -> card_html.Links:
    return card_html.Links(
        file=lambda t, i: f"/f/{t.task_id}/{t.map_index}/{i.index}",
        task=lambda t: f"/ui/{t.task_id}/{t.map_index}",
        log=lambda t, n: f"/ui/{t.task_id}/{t.map_index}?try_number={n}",
    )


def test_a_mapped_batch_is_one_card_per_job_in_map_index_order() -> None:
    tasks = [outputs("gen_outputs", i, str(900 + i)) for i in (8, 2, 5, 0, 1, 3, 4, 6, 7, 9)]
    tasks += [submit("gen", i, job(str(900 + i))) for i in (5, 2, 0, 1, 3, 4, 6, 7, 8, 9)]
    cards = job_cards(tasks)
    assert [(c.primary.task_id, c.primary.map_index) for c in cards] == [("gen", i) for i in range(10)]
    assert all([t.task_id for t in c.tasks] == ["gen", "gen_outputs"] for c in cards)
    assert all(c.outputs_tasks[0].map_index == c.job_task.map_index for c in cards if c.job_task)
    html = pages.run_page("d", "r", cards, links(), "/s")
    assert html.count("<article ") == 10
    assert "10 job(s), 10 persisted file(s), 0 failed" in html
    # the stored copy replaces the provider URL: no expiry hint, no signed URL
    assert "provider URL" not in html and "expires" not in html and SIG not in html
    assert "/f/gen_outputs/3/0?download=1" in html


def test_files_a_waiting_task_persisted_itself_are_on_its_card() -> None:
    """A submit operator with ``destination=`` returns its job dict with ``files``."""
    value = job("77", files=files("tensorart-77-0.png"))
    (card,) = job_cards([submit("gen", -1, value)])
    assert [(t.task_id, i.name) for t, i in card.files] == [("gen", "tensorart-77-0.png")]
    assert card.provider_urls == []
    assert "/f/gen/-1/0" in pages.task_page("d", "gen", [card], links(), "/s")


def test_a_failed_job_shows_reason_cost_tries_and_log_links() -> None:
    failed = job("222", state="failed", error="content filter <b>flagged</b>", outputs=[])
    tries = [
        {
            "try": 1,
            "job_id": "111",
            "state": "failed",
            "error": "first reason",
            "cost": 1.5,
            "cost_unit": "credits",
        },
        {"try": 2, "job_id": "222"},
    ]
    task = task_media(
        "gen",
        -1,
        "failed",
        "TensorArtSubmitJobOperator",
        {"job_id": "222", "job": failed},
        try_number=2,
        tries=tries,
    )
    assert task is not None
    not_run = outputs("gen_outputs", -1, None, state="upstream_failed")
    cards = job_cards([not_run, task], upstream=lambda t: ["gen"] if t == "gen_outputs" else [])
    (card,) = cards
    assert card.state == "failed" and [t.task_id for t in card.tasks] == ["gen", "gen_outputs"]
    html = pages.run_page("d", "r", cards, links(), "/s")
    assert "content filter &lt;b&gt;flagged&lt;/b&gt;" in html and "<b>flagged" not in html
    assert "<dd class='cost'>2.5 credits</dd>" in html
    assert "try 1 job 111 failed (first reason) cost 1.5 credits" in html
    assert "/ui/gen/-1?try_number=1" in html and "/ui/gen/-1?try_number=2" in html
    assert "Outputs task gen_outputs did not run (upstream_failed: upstream gen failed)" in html
    assert "1 failed" in html
    # the earlier try's job was paid for too
    assert "Cost: 4 credits" in html


def test_the_run_cost_is_per_unit_and_names_providers_without_cost() -> None:
    tasks = [
        submit("a", -1, job("1")),
        submit("b", -1, job("2", cost=0.25, cost_unit="usd", provider="tensorpix")),
        submit("c", -1, job("3", provider="vozo")),
        submit("d", -1, job("4")),
    ]
    totals, silent = run_costs(job_cards(tasks))
    assert totals == {"credits": 5.0, "usd": 0.25} and silent == ["vozo"]


def test_a_job_waited_on_by_two_tasks_is_one_card() -> None:
    first = submit("submit", -1, None, job_id="5")
    sensor = task_media("wait", -1, "success", "TensorArtJobSensor", {"return_value": job("5")})
    assert sensor is not None
    (card,) = job_cards([first, sensor])
    assert [t.task_id for t in card.tasks] == ["submit", "wait"]


def test_inputs_are_escaped_and_signed_urls_lose_their_signature() -> None:
    inputs = get_dialect("goenhance").describe_inputs(
        "faceswap",
        {
            "args": {
                "reference_img": f"https://media.example/poster.jpg?{SIG}",
                "source_img": "https://u:pw@media.example/face.jpg",  # the URL policy refuses user info
                "video_url": "file:///etc/passwd",
            }
        },
    )
    assert inputs.media == (("Reference image", "https://media.example/poster.jpg", "image"),)
    task = submit(
        "swap",
        -1,
        job("9", provider="goenhance"),
        media_inputs={
            **inputs.to_dict(),
            "texts": [{"label": "Prompt", "text": "<script>alert(1)</script>"}],
        },
    )
    html = pages.task_page("d", "swap", job_cards([task]), links(), "/s")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SIG not in html.replace(f"9.png?{SIG}", "") and "pw@" not in html
    assert "class='compare kind-image'" in html  # the reference image before, the swapped image after


@pytest.mark.parametrize(
    ("provider", "kind", "payload", "texts", "media"),
    [
        (
            "tensorart",
            "job",
            {
                "stages": [
                    {"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": 7, "count": 1}},
                    {
                        "type": "DIFFUSION",
                        "diffusion": {
                            "width": 768,
                            "height": 512,
                            "prompts": [{"text": "a fox"}, {"text": "blurry", "weight": -1}],
                            "sdModel": "600",
                            "steps": 20,
                        },
                    },
                ]
            },
            {"Prompt": "a fox", "Negative prompt": "blurry", "Model": "600", "Size": "768x512", "Seed": "7"},
            [],
        ),
        (
            "vozo",
            "lipsync",
            {
                "reference_file_url": "https://m.example/clip.mp4",
                "audio_url": "https://m.example/v.mp3",
                "model": "standard_v1",
            },
            {"Model": "standard_v1"},
            [("Reference", "video"), ("Audio", "audio")],
        ),
        (
            "vozo",
            "translate",
            {"media_url": "https://m.example/talk.mp4", "source_language": "auto", "target_language": "de"},
            {"Languages": "auto -> de"},
            [("Source media", "video")],
        ),
        (
            "tensorpix",
            "enhance",
            {"url": "https://m.example/old.mp4", "ml_models": [1, 4]},
            {"Models": "1, 4"},
            [("Source video", "video")],
        ),
        (
            "goenhance",
            "video2video",
            {"args": {"video_url": "https://m.example/in.mp4", "prompt": "anime style", "duration": 5}},
            {"Prompt": "anime style", "Duration": "5"},
            [("Source video", "video")],
        ),
    ],
)
def test_each_dialect_reads_its_own_payload(
    provider: str, kind: str, payload: dict[str, Any], texts: dict[str, str], media: list[tuple[str, str]]
) -> None:
    inputs = get_dialect(provider).describe_inputs(kind, payload)
    assert {k: v for k, v in inputs.texts if k in texts} == texts
    assert [(label, k) for label, _, k in inputs.media] == media
    assert JobInputs.from_dict(inputs.to_dict()) == inputs


def test_a_long_prompt_is_cut() -> None:
    inputs = JobInputs.build([("Prompt", "x" * 5000)])
    assert len(inputs.texts[0][1]) == 2003
