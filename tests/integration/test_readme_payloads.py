"""Issue 27: every create payload the README shows works, exactly as printed.

Each ```json block of the README's "Payloads" section is submitted through the provider's hook to
the emulator (which refuses what the real APIs refuse) and read back until it succeeds; every
provider and job kind of the registry has one; the submit operators' docstrings show the same
payloads; and a payload missing a required field fails before any request, naming the field and
the README section, as a create the provider refuses does.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from airflow_provider_mediajobs.dialects.inputs import payload_hint
from airflow_provider_mediajobs.dialects.registry import get_dialect, specs
from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.exceptions import MediaJobApiError, MediaJobConfigError
from airflow_provider_mediajobs.hooks import hook_class
from airflow_provider_mediajobs.models import JobState
from airflow_provider_mediajobs.operators import submit

from support.readme_text import README, payloads

pytestmark = pytest.mark.usefixtures("connections")

PAYLOADS = payloads()
BY_NAME = {spec.display_name: spec.name for spec in specs()}
OPERATORS = {
    "goenhance": submit.GoEnhanceSubmitJobOperator,
    "tensorart": submit.TensorArtSubmitJobOperator,
    "vozo": submit.VozoSubmitJobOperator,
    "tensorpix": submit.TensorPixSubmitJobOperator,
}


def _hook(provider: str, kind: str) -> Any:
    return hook_class(provider)(conn_id=f"{provider}_emu", job_kind=kind)


def test_every_provider_and_kind_has_a_readme_payload() -> None:
    shown = {(BY_NAME[name], kind) for name, kind in PAYLOADS}
    wanted = {(spec.name, kind) for spec in specs() for kind in spec.job_kinds}
    assert shown == wanted


@pytest.mark.parametrize(("name", "kind"), list(PAYLOADS), ids=[f"{n}-{k}" for n, k in PAYLOADS])
def test_readme_payload_runs_on_the_emulator(emu: Emulator, name: str, kind: str) -> None:
    provider = BY_NAME[name]
    hook = _hook(provider, kind)
    job_id = hook.submit_job(copy.deepcopy(PAYLOADS[name, kind]), kind=kind)
    assert emu.job(provider, job_id) is not None
    emu.advance(24 * 3600)  # past any emulated queue and run time
    job = hook.get_job(job_id, kind=kind)
    assert job.state is JobState.SUCCEEDED, job.describe()
    assert job.output_urls


@pytest.mark.parametrize(("name", "kind"), list(PAYLOADS), ids=[f"{n}-{k}" for n, k in PAYLOADS])
def test_operator_docstring_shows_the_readme_payload(name: str, kind: str) -> None:
    doc = OPERATORS[BY_NAME[name]].__doc__ or ""
    match = re.search(rf'``job_kind="{kind}"``::\n\n\s+(\{{.*\}})\n', doc)
    assert match, f"{OPERATORS[BY_NAME[name]].__name__} shows no {kind!r} payload"
    import json

    assert json.loads(match.group(1)) == PAYLOADS[name, kind]


@pytest.mark.parametrize(("name", "kind"), list(PAYLOADS), ids=[f"{n}-{k}" for n, k in PAYLOADS])
def test_missing_required_field_is_named_before_any_request(emu: Emulator, name: str, kind: str) -> None:
    provider = BY_NAME[name]
    dialect = get_dialect(provider)
    required = dialect.create_fields[kind]
    assert required, f"{provider} declares no required field for {kind!r}"
    for field in required:
        payload = copy.deepcopy(PAYLOADS[name, kind])
        fields = dialect.create_payload_fields(payload)
        for alternative in field.split("|"):
            fields.pop(alternative, None)  # type: ignore[attr-defined]
        before = emu.stats()
        with pytest.raises(MediaJobConfigError) as info:
            _hook(provider, kind).submit_job(payload, kind=kind)
        message = str(info.value)
        assert all(f"'{alt}'" in message for alt in field.split("|")), message
        assert "section 'Payloads'" in message and f"'{name}'" in message
        assert emu.stats() == before, "a request was sent"


def test_payload_hint_names_a_readme_section_that_exists() -> None:
    text = README.read_text()
    for spec in specs():
        hint = payload_hint(get_dialect(spec.name), spec.job_kinds[0])
        assert "'Payloads'" in hint
        assert f"\n### {spec.display_name}\n" in text.split("\n## Payloads\n", 1)[1].split("\n## ", 1)[0]


def test_a_create_the_provider_refuses_points_at_the_payloads_section(emu: Emulator) -> None:
    # TAMS answers 400 "stages must be a list"; the error keeps TAMS' words and adds where to look
    with pytest.raises(MediaJobApiError) as info:
        _hook("tensorart", "job").submit_job({"stages": "DIFFUSION"}, kind="job")
    message = str(info.value)
    assert "HTTP 400" in message and "stages" in message
    assert "section 'Payloads' > 'TensorArt TAMS'" in message
    assert "conn_id='tensorart_emu'" in message


def test_not_a_mapping_is_a_config_error() -> None:
    with pytest.raises(MediaJobConfigError, match="must be a JSON object"):
        _hook("vozo", "lipsync").submit_job(["not", "a", "dict"], kind="lipsync")  # type: ignore[arg-type]
