"""Job ids are validated before any request, and safe ids are percent-encoded on the wire."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

from airflow_provider_mediajobs.dialects.base import MAX_JOB_ID_LENGTH
from airflow_provider_mediajobs.exceptions import InvalidJobIdError

from support.constants import CONN_IDS, PROVIDERS, SENTINEL
from support.seed_examples import tensorpix_job
from support.wire import Reply, Wire, make_hook

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

UNSAFE: dict[str, Any] = {
    "none": None,
    "empty": "",
    "blank": "   ",
    "too-long": "a" * (MAX_JOB_ID_LENGTH + 1),
    "slash": "abc/def",
    "leading-slash": "/v1/jobs",
    "dot-dot": "..",
    "dot-dot-inside": "a..b",
    "traversal": "../../admin",
    "backslash": "a\\b",
    "space": "a b",
    "tab": "a\tb",
    "newline": "abc\n",
    "header-injection": "1\r\nX-Evil: 1",
    "nul": "a\x00b",
    "del": "a\x7fb",
    "escape": "a\x1bb",
    "nbsp": "a\u00a0b",
    "question-mark": "a?b=c",
    "hash": "a#b",
    "percent": "a%2Fb",
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("name", list(UNSAFE))
async def test_unsafe_ids_are_refused_before_any_request(wire: Wire, provider: str, name: str) -> None:
    job_id = UNSAFE[name]
    hook = make_hook(provider)
    with pytest.raises(InvalidJobIdError) as info:
        await wire.get_job(hook, job_id)
    with pytest.raises(InvalidJobIdError):
        await wire.cancel_job(hook, job_id)  # same check, whether or not the provider can cancel
    assert wire.sent == []
    text = str(info.value)
    assert text.startswith(f"[{provider} conn_id={CONN_IDS[provider]!r}")
    assert "job id" in text and "Pass the id exactly as the provider returned it" in text
    assert SENTINEL not in text
    if name == "too-long":
        assert job_id not in text  # a long id is not echoed whole


@pytest.mark.parametrize("job_id", ["12a", "-5", "1.5", "1e3", "+7", "0x1F", "\u0663", "²", "4242 "])
async def test_tensorpix_ids_must_be_integers(wire: Wire, job_id: str) -> None:
    with pytest.raises(InvalidJobIdError) as info:
        await wire.get_job(make_hook("tensorpix"), job_id)
    assert wire.sent == []
    assert "[tensorpix conn_id='tensorpix_default'" in str(info.value)


async def test_tensorpix_integer_ids_are_normalized(wire: Wire) -> None:
    wire.reply(Reply(json=tensorpix_job(1)))
    for job_id in (4242, "4242", "004242"):
        await wire.get_job(make_hook("tensorpix"), job_id)
    assert {s.path for s in wire.sent} == {"/api/jobs/4242/"}


async def test_the_longest_allowed_id_is_sent(wire: Wire) -> None:
    job_id = "x" * MAX_JOB_ID_LENGTH
    wire.reply(Reply(json={"status": "pending"}))
    await wire.get_job(make_hook("vozo"), job_id)
    assert wire.sent[0].path == f"/v1/video_generation/{job_id}"


SAFE_IDS = ["a+b=c&d:e@f", "j\u00f6b-\u00fc~1", "tr;1,2=3!$'()*", "784512339871236541"]


@pytest.mark.parametrize("job_id", SAFE_IDS)
@pytest.mark.parametrize("provider", ["goenhance", "tensorart", "vozo"])
async def test_safe_ids_are_percent_encoded_in_paths_and_queries(
    wire: Wire, provider: str, job_id: str
) -> None:
    body = {
        "goenhance": {"code": 0, "msg": "ok", "data": {"img_uuid": job_id, "status": "pending"}},
        "tensorart": {"job": {"id": job_id, "status": "RUNNING"}},
        "vozo": {"status": "pending"},
    }[provider]
    wire.reply(Reply(json=body))
    job = await wire.get_job(make_hook(provider), job_id)
    assert job.job_id == job_id
    sent = wire.sent[0]
    if provider == "goenhance":
        assert sent.path == "/api/v1/jobs/detail"
        name, _, value = sent.query.partition("=")
        assert name == "img_uuid"
        raw = value
    else:
        prefix = "/v1/jobs/" if provider == "tensorart" else "/v1/video_generation/"
        assert sent.path.startswith(prefix)
        raw = sent.path[len(prefix) :]
    assert unquote(raw) == job_id  # the provider gets exactly the id back
    # nothing but unreserved characters and %XX escapes: no id character can change the URL's meaning
    assert all(c.isascii() and (c.isalnum() or c in "-._~%") for c in raw), raw
    if not job_id.isalnum():
        assert "%" in raw
