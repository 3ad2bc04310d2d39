"""Bad input is refused with a clear, typed error before any job is touched.

Unsafe job ids, a connection of the wrong type, a missing connection, an empty key, TAMS keys that
are not (usable) PEM, a base URL with credentials, an unknown job kind, an output destination that
cannot be written: through the sync hook, the trigger (as the triggerer runs it), the sensors and
the submit and outputs operators. The emulator's statistics prove that not one provider request
was made, the error names the provider / connection / job and says what to do, no key appears in
it, and nothing is left behind (no job created, no file written).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from reliability_support import as_triggerer_would, connection, run_trigger

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.exceptions import (
    InvalidJobIdError,
    MediaJobConfigError,
    MediaJobError,
)
from airflow_provider_mediajobs.hooks import hook_class
from airflow_provider_mediajobs.operators import (
    MediaJobOutputsOperator,
    MediaJobSubmitOperator,
    TensorArtSubmitJobOperator,
    TensorPixSubmitJobOperator,
)
from airflow_provider_mediajobs.sensors import MediaJobSensor, TensorArtJobSensor, TensorPixJobSensor
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections
from support.constants import PROVIDERS

UNSAFE_IDS = [
    "",
    "   ",
    "..",
    "../../_emulator/reset",
    "a/b",
    "a\\b",
    "a\x00b",
    "tab\there",
    "new\nline",
    "?img_uuid=someone-elses",
    "#fragment",
    "%2e%2e%2f",
    "x" * 129,
]
NOT_A_TENSORPIX_ID = ["12a", "-1", "1.5", "1e3", "\u0661\u0662"]  # the last: Arabic-Indic digits
NOT_PEM_SECRET = "this-is-my-secret-tams-key-text-0123456789"


def _damaged_pem() -> str:
    """A well-formed PEM whose CRT numbers do not match (paste or storage corruption)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = key.private_numbers()
    bad = rsa.RSAPrivateNumbers(n.p, n.q, n.d, n.dmp1 ^ 2, n.dmq1, n.iqmp, n.public_numbers)
    return (
        bad.private_key(unsafe_skip_rsa_key_validation=True)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )


@pytest.fixture(scope="module")
def damaged_pem() -> str:
    return _damaged_pem()


@pytest.fixture
def emu(
    mediajobs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, damaged_pem: str
) -> Iterator[Emulator]:
    """Good connections ``bad_<provider>`` ... and the broken ones the tests use."""
    emu = mediajobs_emulator
    conns: dict[str, dict[str, Any]] = {f"good_{p}": connection(emu, p) for p in PROVIDERS}
    tams = connection(emu, "tensorart")
    conns["wrong_type"] = {"conn_type": "http", "host": emu.url, "password": "k" * 20}
    conns["empty_key"] = {**connection(emu, "tensorpix"), "password": ""}
    conns["tams_not_pem"] = {**tams, "extra": {**tams["extra"], "private_key": NOT_PEM_SECRET}}
    conns["tams_garbage_pem"] = {
        **tams,
        "extra": {
            **tams["extra"],
            "private_key": f"-----BEGIN PRIVATE KEY-----\n{NOT_PEM_SECRET}\n-----END PRIVATE KEY-----",
        },
    }
    conns["tams_damaged_pem"] = {**tams, "extra": {**tams["extra"], "private_key": damaged_pem}}
    conns["tams_no_app_id"] = {
        **tams,
        "extra": {k: v for k, v in tams["extra"].items() if k != "app_id"},
    }
    creds = emu.credentials("tensorpix")
    conns["key_in_host"] = {
        "conn_type": "tensorpix",
        "host": emu.base_url("tensorpix").replace("http://", f"http://user:{creds['api_key']}@"),
        "password": creds["api_key"],
    }
    conns["file_host"] = {**connection(emu, "tensorpix"), "host": "file:///etc/passwd"}
    for conn_id, conn in conns.items():
        set_connections(monkeypatch, {conn_id: conn})
    yield emu


def provider_calls(emu: Emulator) -> dict[str, Any]:
    """Every request the emulator saw on a provider or the CDN (admin requests excluded)."""
    return {k: v for k, v in emu.stats()["requests"].items() if k != "admin"}


def assert_clear(err: BaseException, *needles: str, secrets: tuple[str, ...] = ()) -> None:
    assert isinstance(err, MediaJobError), f"untyped {type(err).__name__}: {err}"
    text = str(err)
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    for secret in secrets:
        assert secret not in text and secret not in repr(err)


class FakeTI:
    dag_id, task_id, run_id, map_index, try_number = "d", "t", "r", -1, 1

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def context() -> dict[str, Any]:
    ti = FakeTI()
    return {"ti": ti, "task_instance": ti}


# ---- unsafe job ids -------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unsafe_job_ids_touch_nothing(emu: Emulator, provider: str) -> None:
    bad_ids = UNSAFE_IDS + (NOT_A_TENSORPIX_ID if provider == "tensorpix" else [])
    hook = hook_class(provider)(conn_id=f"good_{provider}")
    for job_id in bad_ids:
        with pytest.raises(InvalidJobIdError) as sync_err:
            hook.get_job(job_id)
        assert_clear(sync_err.value, provider, f"good_{provider}", "job id")
        now = time.time()
        trigger = MediaJobTrigger(
            provider=provider, conn_id=f"good_{provider}", job_id=job_id, deadline=now + 30, started_at=now
        )
        event = await run_trigger(as_triggerer_would(trigger))
        assert event["status"] == "error" and event["error_type"] == "InvalidJobIdError", event
        # the id is checked when the wait's read is prepared, before any status call
        assert f"good_{provider}" in event["message"] and event["status_calls"] == 0
    with pytest.raises(InvalidJobIdError):
        TensorPixJobSensor(task_id="w", conn_id="good_tensorpix", job_id="../1", timeout=60).execute(
            context()
        )
    assert provider_calls(emu) == {}, "an unsafe job id reached the provider"
    # the refusal is about the id, not the setup: a real job is read through the same hook
    job_id = str(emu.add_job(provider, outcome="succeeded", queued_s=0, running_s=0))
    assert hook.get_job(job_id).state.value == "succeeded"


# ---- connections ----------------------------------------------------------------------------------
CONNECTION_CASES = [
    # conn_id, sensor class, what the message must say
    ("wrong_type", MediaJobSensor, ["'wrong_type'", "'http'", "goenhance, tensorart, vozo, tensorpix"]),
    ("good_goenhance", TensorPixJobSensor, ["good_goenhance", "'goenhance'", "'tensorpix'"]),
    ("does_not_exist", TensorPixJobSensor, ["does_not_exist", "does not exist", "tensorpix"]),
    ("does_not_exist", MediaJobSensor, ["does_not_exist", "does not exist"]),
    ("empty_key", TensorPixJobSensor, ["empty_key", "no API key", "'API key' field"]),
    ("tams_not_pem", TensorArtJobSensor, ["tams_not_pem", "not a PEM key"]),
    ("tams_garbage_pem", TensorArtJobSensor, ["tams_garbage_pem", "could not be loaded"]),
    ("tams_damaged_pem", TensorArtJobSensor, ["tams_damaged_pem", "damaged"]),
    ("tams_no_app_id", TensorArtJobSensor, ["tams_no_app_id", "no app id"]),
    ("key_in_host", TensorPixJobSensor, ["key_in_host", "'API key' field, not in the host URL"]),
    ("file_host", TensorPixJobSensor, ["file_host", "not an http(s) base URL"]),
]
SUBMIT_OF: dict[type[MediaJobSensor], type[MediaJobSubmitOperator]] = {
    MediaJobSensor: MediaJobSubmitOperator,
    TensorPixJobSensor: TensorPixSubmitJobOperator,
    TensorArtJobSensor: TensorArtSubmitJobOperator,
}


def _secrets(emu: Emulator, damaged: str) -> tuple[str, ...]:
    body = [line for line in damaged.splitlines() if "-----" not in line]
    return (NOT_PEM_SECRET, emu.credentials("tensorpix")["api_key"], *body[:3])


@pytest.mark.parametrize(("conn_id", "sensor_class", "needles"), CONNECTION_CASES)
async def test_bad_connections_fail_before_any_request(
    emu: Emulator, damaged_pem: str, conn_id: str, sensor_class: type[MediaJobSensor], needles: list[str]
) -> None:
    secrets = _secrets(emu, damaged_pem)
    provider = sensor_class.default_provider or "tensorpix"
    job_id = str(emu.add_job(provider, outcome="succeeded", queued_s=10**6, running_s=1))
    before = emu.job(provider, job_id)

    # the sensor, as a worker runs it: fails instead of deferring
    sensor = sensor_class(task_id="wait", conn_id=conn_id, job_id=job_id, timeout=60)
    with pytest.raises(MediaJobConfigError) as err:
        sensor.execute(context())
    assert_clear(err.value, *needles, secrets=secrets)

    # the trigger, as the triggerer runs it (for a connection that was broken after deferral)
    now = time.time()
    trigger = MediaJobTrigger(
        provider=provider, conn_id=conn_id, job_id=job_id, deadline=now + 30, started_at=now
    )
    event = await run_trigger(as_triggerer_would(trigger))
    assert event["status"] == "error" and event["error_type"] == "MediaJobConfigError", event
    assert conn_id in event["message"] and not any(s in json.dumps(event) for s in secrets)

    # a submit operator creates nothing
    submit_class = SUBMIT_OF[sensor_class]
    submit = submit_class(task_id="submit", conn_id=conn_id, payload={"url": "https://example.com/in.mp4"})
    with pytest.raises(MediaJobConfigError) as err:
        submit.execute(context())
    assert_clear(err.value, conn_id, secrets=secrets)

    assert provider_calls(emu) == {}
    assert emu.stats()["jobs"] == {provider: 1}, "no job was created"
    assert emu.job(provider, job_id) == before


async def test_unknown_job_kind_is_refused_before_any_request(emu: Emulator) -> None:
    job_id = str(emu.add_job("vozo", kind="translate", outcome="succeeded", queued_s=0, running_s=0))
    with pytest.raises(MediaJobConfigError) as err:
        hook_class("vozo")(conn_id="good_vozo", job_kind="dubbing").get_job(job_id)
    assert_clear(err.value, "vozo", "good_vozo", "'dubbing'", "translate")
    trigger = MediaJobTrigger(
        provider="vozo", conn_id="good_vozo", job_id=job_id, job_kind="dubbing", deadline=time.time() + 30
    )
    event = await run_trigger(as_triggerer_would(trigger))
    assert event["status"] == "error" and "'dubbing'" in event["message"]
    assert provider_calls(emu) == {}


def test_submit_with_bad_input_creates_no_job(emu: Emulator) -> None:
    """The TAMS create path too (requestId derived, signature mode) refuses a damaged key."""
    with pytest.raises(MediaJobConfigError):
        TensorArtSubmitJobOperator(
            task_id="s", conn_id="tams_damaged_pem", payload={"stages": [{"type": "DIFFUSION"}]}
        ).execute(context())
    with pytest.raises(MediaJobConfigError):
        TensorPixSubmitJobOperator(task_id="s", conn_id="good_goenhance", payload={"url": "x"}).execute(
            context()
        )
    assert provider_calls(emu) == {} and emu.stats()["jobs"] == {}


# ---- output destinations --------------------------------------------------------------------------
def _unwritable_destinations(tmp_path: Path) -> list[str]:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    return [
        str(in_the_way / "renders"),  # a parent is a regular file
        f"file://{in_the_way}",  # the destination itself is a file
        "nosuchscheme://bucket/renders",  # no object store for that scheme
    ]


@pytest.mark.parametrize("index", range(3))
def test_unwritable_destination_fails_before_the_job_is_read(
    emu: Emulator, tmp_path: Path, index: int
) -> None:
    destination = _unwritable_destinations(tmp_path)[index]
    job_id = str(emu.add_job("tensorpix", outcome="succeeded", queued_s=0, running_s=0))
    before = sorted(p.name for p in tmp_path.iterdir())
    operator = MediaJobOutputsOperator(
        task_id="persist", job_id=job_id, conn_id="good_tensorpix", destination=destination
    )
    with pytest.raises(MediaJobConfigError) as err:
        operator.execute(context())
    assert_clear(err.value, "tensorpix", "good_tensorpix", job_id, "destination")
    assert provider_calls(emu) == {}, "the job was read although the destination is unusable"
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "something was left behind"
