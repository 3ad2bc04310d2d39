"""A fifth provider is one dialect module and one registry line.

The toy provider "Pixelfy" below is registered inside the test (its dialect and its one-line hook
live in this module) and then driven the way Airflow drives a real one: provider info and its
form, the hook on the sync path (requests-mock), a submit operator keyed on the task instance
(idempotent creates), a sensor that defers, the trigger on the async path (httpx.MockTransport),
the event back into the sensor. Nothing outside the registry line names the provider.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from airflow_provider_mediajobs._compat import TaskDeferred
from airflow_provider_mediajobs.connection_forms import empty_extra, forms
from airflow_provider_mediajobs.dialects.base import Dialect
from airflow_provider_mediajobs.dialects.registry import (
    BUILTIN,
    ProviderSpec,
    convenience_classes,
    get_dialect,
    hook_class,
    register,
    specs,
    unregister,
)
from airflow_provider_mediajobs.dialects.values import as_fraction, as_str, encode_segment
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext, Credentials
from airflow_provider_mediajobs.engine.transport import override_async_transport
from airflow_provider_mediajobs.exceptions import MediaJobConfigError, MediaJobFailedError
from airflow_provider_mediajobs.get_provider_info import get_provider_info
from airflow_provider_mediajobs.hooks import MediaJobHook
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.operators.submit import MediaJobSubmitOperator
from airflow_provider_mediajobs.sensors import MediaJobSensor
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.connections import set_connections

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

KEY = "px-toy-secret-0123456789"
BASE = "https://api.pixelfy.test"
STATES = {"queued": JobState.QUEUED, "rendering": JobState.RUNNING, "done": JobState.SUCCEEDED}


# ---- the fifth provider's dialect module ---------------------------------------------------------
class PixelfyDialect(Dialect):
    """``GET /v2/renders/{id}``; the workspace goes into a header; creates are idempotent by ``idem``."""

    auth_hint = "Check the Pixelfy API key and workspace of connection '{conn_id}'."

    def build_credentials(
        self, api_key: str | None, extras: Mapping[str, Any], ctx: CallContext
    ) -> Credentials:
        creds = super().build_credentials(api_key, extras, ctx)
        if not extras.get("workspace"):
            ctx.fail(MediaJobConfigError, "The Pixelfy connection has no workspace.")
        return Credentials(
            api_key=creds.api_key, app_id=str(extras["workspace"]), secret_texts=creds.secret_texts
        )

    def auth_headers(self, creds: Credentials, request: ApiRequest, path_and_query: str) -> dict[str, str]:
        return {"X-Pixelfy-Key": str(creds.api_key), "X-Workspace": str(creds.app_id)}

    def status_request(self, job_id: str, kind: str) -> ApiRequest:
        return ApiRequest("GET", f"/v2/renders/{encode_segment(job_id)}")

    def parse_status(self, job_id: str, kind: str, response: ApiResponse, ctx: CallContext) -> MediaJob:
        render = self.expect_object(self.check_response(response, ctx), "render", ctx)
        status = as_str(render.get("state")) or "queued"
        state = STATES.get(status, JobState.FAILED)
        url = as_str(render.get("url"))
        return MediaJob(
            provider=self.name,
            job_id=job_id,
            state=state,
            provider_status=status,
            progress=as_fraction(render.get("percent")),
            outputs=(MediaOutput(url=url, kind=OutputKind.VIDEO),)
            if url and state is JobState.SUCCEEDED
            else (),
            error=as_str(render.get("error")) if state is JobState.FAILED else None,
        )

    def connection_check_request(self) -> ApiRequest:
        return ApiRequest("GET", "/v2/me")

    def create_request(self, kind: str, payload: Mapping[str, Any], request_id: str | None) -> ApiRequest:
        return ApiRequest.json("POST", "/v2/renders", {**payload, "idem": request_id})

    def new_request_id(self) -> str | None:
        return "px-generated"

    def parse_create(self, kind: str, response: ApiResponse, ctx: CallContext) -> str:
        return str(self.expect_object(self.check_response(response, ctx), "render", ctx)["id"])


# ---- its registry line ----------------------------------------------------------------------------
PIXELFY = ProviderSpec(
    name="pixelfy",
    display_name="Pixelfy",
    dialect=f"{__name__}:PixelfyDialect",
    hook=f"{__name__}.PixelfyHook",
    docs_url="https://docs.pixelfy.test/",
    default_base_url=BASE,
    key_placeholder="px-...",
    fields={
        "workspace": {
            "label": "Workspace",
            "description": "Pixelfy workspace id.",
            "schema": {"type": "string"},
        }
    },
    default_poll_interval=0.01,
    default_max_poll_interval=0.05,
    job_kinds=("render",),
    idempotent_create=True,
)


@pytest.fixture
def pixelfy(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[MediaJobHook]]:
    """Pixelfy registered (its hook made from the registry line, importable by its dotted path)."""
    register(PIXELFY)
    named = convenience_classes(MediaJobHook, "Hook", __name__, lambda spec: spec.display_name, [PIXELFY])
    PixelfyHook = named["PixelfyHook"]
    monkeypatch.setattr(sys.modules[__name__], "PixelfyHook", PixelfyHook, raising=False)
    extra = {**empty_extra("pixelfy"), "workspace": "ws-7"}
    conn = {"conn_type": "pixelfy", "password": KEY, "extra": extra}
    set_connections(monkeypatch, {"pixelfy_default": conn})
    try:
        yield PixelfyHook
    finally:
        unregister("pixelfy")


def render(state: str, **fields: Any) -> dict[str, Any]:
    return {"id": "r-1", "state": state, **fields}


def test_provider_info_and_form_come_from_the_registry_line(pixelfy: type[MediaJobHook]) -> None:
    from airflow.providers_manager import _create_provider_info_schema_validator

    info = get_provider_info()
    _create_provider_info_schema_validator().validate(info)
    assert "Pixelfy" in info["name"]
    assert {
        "integration-name": "Pixelfy",
        "external-doc-url": "https://docs.pixelfy.test/",
        "tags": ["software"],
    } in (info["integrations"])
    entry = next(t for t in info["connection-types"] if t["connection-type"] == "pixelfy")
    assert entry["hook-class-name"] == f"{__name__}.PixelfyHook" and entry["hook-name"] == "Pixelfy"
    assert list(entry["conn-fields"]) == ["workspace", "rate_limit", "timeout"]
    assert "no limit" in entry["conn-fields"]["rate_limit"]["description"]
    assert entry["ui-field-behaviour"]["relabeling"] == {"host": "Base URL", "password": "API key"}
    assert set(empty_extra("pixelfy")) == set(entry["conn-fields"])
    # the hook Airflow imports by that path has the attributes it checks
    assert hook_class("pixelfy") is pixelfy
    assert (pixelfy.conn_type, pixelfy.hook_name, pixelfy.default_conn_name) == (
        "pixelfy",
        "Pixelfy",
        "pixelfy_default",
    )
    assert pixelfy.get_ui_field_behaviour()["placeholders"]["password"] == "px-..."
    # the Media view lists its convenience classes' tasks before they wrote any XCom
    from airflow_provider_mediajobs.plugins.records import media_operators

    assert {"PixelfySubmitJobOperator", "PixelfyJobSensor"} <= media_operators()


def test_unregistering_leaves_the_four_built_in_providers(pixelfy: type[MediaJobHook]) -> None:
    unregister("pixelfy")
    assert specs() == BUILTIN and "pixelfy" not in forms()
    with pytest.raises(MediaJobConfigError, match="Unknown media-job provider 'pixelfy'"):
        get_dialect("pixelfy")
    register(PIXELFY)  # for the fixture's teardown
    with pytest.raises(ValueError, match="already registered"):
        register(PIXELFY)
    with pytest.raises(ValueError, match="built-in"):
        unregister("tensorart")


def test_sync_hook_tests_submits_and_reads(pixelfy: type[MediaJobHook], requests_mock: Any) -> None:
    requests_mock.get(f"{BASE}/v2/me", json={"user": "toy"})
    create = requests_mock.post(f"{BASE}/v2/renders", json={"id": "r-1"})
    requests_mock.get(f"{BASE}/v2/renders/r-1", json=render("rendering", percent=40))
    hook = pixelfy()
    assert hook.test_connection() == (True, "Connected to Pixelfy.")
    assert hook.submit_job({"prompt": "a cat"}) == "r-1"
    assert create.last_request.json() == {"prompt": "a cat", "idem": "px-generated"}
    assert create.last_request.headers["X-Workspace"] == "ws-7"
    job = hook.get_job("r-1")
    assert (job.provider, job.state, job.progress) == ("pixelfy", JobState.RUNNING, 0.4)


def test_submit_keys_an_idempotent_create_on_the_task_instance(
    pixelfy: type[MediaJobHook], requests_mock: Any
) -> None:
    create = requests_mock.post(f"{BASE}/v2/renders", json={"id": "r-1"})
    requests_mock.get(f"{BASE}/v2/renders/r-1", json=render("rendering"))
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id="d",
        task_id="t",
        run_id="r",
        map_index=-1,
        try_number=1,
        xcom_push=lambda key, value: pushed.update({key: value}),
    )
    task = MediaJobSubmitOperator(
        task_id="t", conn_id="pixelfy_default", payload={"prompt": "x"}, wait_for_completion=False
    )
    assert task.execute({"ti": ti}) == "r-1"
    # the toy provider declares no input reader: the default one reads its flat payload
    assert pushed == {
        "job_id": "r-1",
        "media_inputs": {"texts": [{"label": "Prompt", "text": "x"}], "media": []},
    }
    assert create.last_request.json()["idem"].startswith("airflow-")  # not the dialect's random one


async def test_sensor_defers_to_the_trigger_whose_event_finishes_the_task(
    pixelfy: type[MediaJobHook], requests_mock: Any
) -> None:
    requests_mock.get(f"{BASE}/v2/renders/r-1", json=render("queued"))
    sensor = MediaJobSensor(task_id="wait", job_id="r-1", conn_id="pixelfy_default", timeout=60)
    with pytest.raises(TaskDeferred) as info:
        sensor.execute({})
    trigger = info.value.trigger
    assert isinstance(trigger, MediaJobTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["provider"] == "pixelfy" and (kwargs["poll_interval"], kwargs["max_poll_interval"]) == (
        0.01,
        0.05,
    )
    assert KEY not in json.dumps(kwargs)

    answers = iter(
        [render("rendering", percent=50), render("done", percent=100, url="https://cdn.pixelfy.test/r-1.mp4")]
    )
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=next(answers))

    rebuilt = MediaJobTrigger(**kwargs)  # as the triggerer does, from the stored kwargs
    with override_async_transport(httpx.MockTransport(answer)):
        events = [event.payload async for event in rebuilt.run()]
    assert len(events) == 1 and events[0]["status"] == "succeeded", events
    assert [r.headers["X-Pixelfy-Key"] for r in seen] == [KEY, KEY]

    result = sensor.execute_complete({}, event=events[0], job_id="r-1")
    assert result["provider"] == "pixelfy" and result["state"] == "succeeded"
    assert [o["url"] for o in result["outputs"]] == ["https://cdn.pixelfy.test/r-1.mp4"]


async def test_a_failed_toy_job_fails_the_sensor_with_its_reason(pixelfy: type[MediaJobHook]) -> None:
    trigger = MediaJobTrigger(provider="pixelfy", conn_id="pixelfy_default", job_id="r-1", poll_interval=0.01)
    with override_async_transport(
        httpx.MockTransport(lambda r: httpx.Response(200, json=render("error", error="GPU melted")))
    ):
        events = [event.payload async for event in trigger.run()]
    sensor = MediaJobSensor(task_id="wait", job_id="r-1", conn_id="pixelfy_default")
    with pytest.raises(MediaJobFailedError, match="GPU melted"):
        sensor.execute_complete({}, event=events[0], job_id="r-1")


def test_a_toy_providers_named_sensor_and_operator_come_from_its_registry_line(
    pixelfy: type[MediaJobHook], requests_mock: Any
) -> None:
    sensor_cls = convenience_classes(MediaJobSensor, "JobSensor", __name__, str, [PIXELFY])[
        "PixelfyJobSensor"
    ]
    submit_cls = convenience_classes(MediaJobSubmitOperator, "SubmitJobOperator", __name__, str, [PIXELFY])[
        "PixelfySubmitJobOperator"
    ]
    requests_mock.get(f"{BASE}/v2/renders/r-1", json=render("queued"))
    sensor = sensor_cls(task_id="wait", job_id="r-1", timeout=60)  # no conn_id: the spec's default
    assert sensor.conn_id == "pixelfy_default" and sensor.hook.provider == "pixelfy"
    with pytest.raises(TaskDeferred) as info:
        sensor.execute({})
    assert info.value.trigger.serialize()[1]["provider"] == "pixelfy"
    operator = submit_cls(task_id="submit", payload={"prompt": "a cat"})
    assert operator.conn_id == "pixelfy_default" and operator.hook.provider == "pixelfy"


@pytest.mark.parametrize("spec", BUILTIN, ids=lambda spec: spec.name)
def test_the_built_in_providers_named_classes_come_from_the_registry(spec: ProviderSpec) -> None:
    from airflow_provider_mediajobs import hooks, operators, sensors
    from airflow_provider_mediajobs.plugins.records import media_operators

    named = {
        f"{spec.class_prefix}Hook": (hooks, MediaJobHook),
        f"{spec.class_prefix}JobSensor": (sensors, MediaJobSensor),
        f"{spec.class_prefix}SubmitJobOperator": (operators, MediaJobSubmitOperator),
    }
    for name, (module, base) in named.items():
        cls = getattr(module, name)
        assert name in module.__all__ and issubclass(cls, base) and cls.default_provider == spec.name
    assert hook_class(spec.name) is getattr(hooks, f"{spec.class_prefix}Hook")
    assert {f"{spec.class_prefix}JobSensor", f"{spec.class_prefix}SubmitJobOperator"} <= media_operators()


def test_the_default_conn_ids_and_hooks_of_the_built_in_providers_derive_from_the_registry() -> None:
    for spec in BUILTIN:
        assert spec.default_conn_id == f"{spec.name}_default"
        hook = hook_class(spec.name)
        assert (hook.provider, hook.conn_type, hook.hook_name) == (spec.name, spec.name, spec.display_name)
        dialect = get_dialect(spec.name)
        assert dialect.spec is spec and dialect.job_kinds == spec.job_kinds


FRESH = """
import json, sys
from airflow_provider_mediajobs.get_provider_info import get_provider_info
info = get_provider_info()
print(json.dumps({"airflow": sorted(m for m in sys.modules if m.split(".")[0] == "airflow"),
                  "types": [t["connection-type"] for t in info["connection-types"]]}))
"""


def test_provider_info_is_read_without_importing_airflow() -> None:
    """Airflow calls get_provider_info while it is still importing itself (provider discovery in
    its configuration): anything it imports that imports Airflow is a circular import at start."""
    proc = subprocess.run(
        [sys.executable, "-c", FRESH], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {"airflow": [], "types": [spec.name for spec in BUILTIN]}
