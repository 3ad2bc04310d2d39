"""A fifth provider, "ToyVid", defined outside the package and added with one registry line.

Two modules written to a temporary folder at test time stand in for a provider's files: its
dialect module (the API behaviour, its registry line and the convenience classes made from it)
and its emulator module (a ``Provider`` subclass serving the API on 127.0.0.1). The only change to
the package's state is the dialect module's ``registry.register(SPEC)``, undone after the tests. Everything else must
follow from the registry: the emulator serves the new API (its own routes, auth header and error
shape), the sync hook reads it, the trigger waits on it over the async path, the deferrable sensor
and the submit operator finish through their resume methods, and the Media view lists the task
and shows the job. A layer that knows only the four built-in providers fails here.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from airflow_provider_mediajobs._compat import TaskDeferred
from airflow_provider_mediajobs.dialects import registry
from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.models import JobState
from airflow_provider_mediajobs.triggers import MediaJobTrigger

from support.airflow_compat import DagBag
from support.connections import set_connections
from support.media_run import MediaRun

NAME = "toyvid"
DIALECT_MODULE = "mediajobs_toy_dialect"
EMULATOR_MODULE = "mediajobs_toy_emulator"

# The provider's dialect module: its API as the engine reads it, its registry line (registered on
# import, the way a provider outside the package adds itself), and the hook, sensor and submit
# operator made from that line (as the package makes the built-in ones).
DIALECT_SOURCE = '''
"""ToyVid renders: ``POST /v1/renders``, ``GET /v1/renders/{id}``, key in ``X-Toy-Key``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_mediajobs.dialects.base import Dialect
from airflow_provider_mediajobs.dialects.registry import ProviderSpec, convenience_classes, register
from airflow_provider_mediajobs.dialects.values import as_fraction, as_str, encode_segment
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext, Credentials
from airflow_provider_mediajobs.hooks.base import MediaJobHook
from airflow_provider_mediajobs.models import JobState, MediaJob, MediaOutput, OutputKind
from airflow_provider_mediajobs.operators.submit import MediaJobSubmitOperator
from airflow_provider_mediajobs.sensors import MediaJobSensor

STATES = {
    "waiting": JobState.QUEUED,
    "rendering": JobState.RUNNING,
    "done": JobState.SUCCEEDED,
    "broken": JobState.FAILED,
    "stopped": JobState.CANCELED,
}


class ToyVidDialect(Dialect):
    def auth_headers(self, creds: Credentials, request: ApiRequest, path_and_query: str) -> dict[str, str]:
        return {"X-Toy-Key": str(creds.api_key)}

    def error_message(self, payload: Any) -> str | None:
        error = payload.get("problem") if isinstance(payload, dict) else None
        return as_str(error.get("text")) if isinstance(error, dict) else None

    def render(self, response: ApiResponse, ctx: CallContext) -> Mapping[str, Any]:
        body = self.expect_object(self.check_response(response, ctx), "response", ctx)
        return self.expect_object(body.get("render"), "render", ctx)

    def status_request(self, job_id: str, kind: str) -> ApiRequest:
        return ApiRequest("GET", f"/v1/renders/{encode_segment(job_id)}")

    def parse_status(self, job_id: str, kind: str, response: ApiResponse, ctx: CallContext) -> MediaJob:
        render = self.render(response, ctx)
        status = as_str(render.get("phase")) or "waiting"
        state = STATES.get(status, JobState.FAILED)
        url = as_str(render.get("video"))
        return MediaJob(
            provider=self.name,
            job_id=job_id,
            state=state,
            provider_status=status,
            progress=as_fraction(render.get("percent")),
            outputs=(MediaOutput(url=url, kind=OutputKind.VIDEO),) if url and state is JobState.SUCCEEDED else (),
            error=as_str(render.get("reason")) if state is JobState.FAILED else None,
        )

    def connection_check_request(self) -> ApiRequest:
        return ApiRequest("GET", "/v1/whoami")

    def create_request(self, kind: str, payload: Mapping[str, Any], request_id: str | None) -> ApiRequest:
        return ApiRequest.json("POST", "/v1/renders", dict(payload))

    def parse_create(self, kind: str, response: ApiResponse, ctx: CallContext) -> str:
        render = self.render(response, ctx)
        return str(render["id"])


# its registry line (a provider outside the package registers instead of editing BUILTIN)
SPEC = register(ProviderSpec(
    name="toyvid",
    display_name="ToyVid",
    dialect=f"{__name__}:ToyVidDialect",
    hook=f"{__name__}.ToyVidHook",
    emulator="mediajobs_toy_emulator:ToyVid",
    docs_url="https://docs.toyvid.test/",
    default_base_url="https://api.toyvid.test",
    default_poll_interval=0.2,
    default_max_poll_interval=0.5,
    job_kinds=("render",),
))

ToyVidHook = convenience_classes(MediaJobHook, "Hook", __name__, lambda s: s.display_name, [SPEC])["ToyVidHook"]
ToyVidJobSensor = convenience_classes(MediaJobSensor, "JobSensor", __name__, str, [SPEC])["ToyVidJobSensor"]
ToyVidSubmitJobOperator = convenience_classes(
    MediaJobSubmitOperator, "SubmitJobOperator", __name__, str, [SPEC]
)["ToyVidSubmitJobOperator"]
'''

# The provider's emulator module: its routes, its auth header and its error shape.
EMULATOR_SOURCE = '''
"""The emulated ToyVid API (routes under ``/toyvid`` and on an origin of its own)."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.responses import Response

from airflow_provider_mediajobs.emulator.providers.base import Provider, retry_headers
from airflow_provider_mediajobs.emulator.runtime import Ctx, RouteSpec, json_response

PHASES = {"queued": "waiting", "running": "rendering", "succeeded": "done", "failed": "broken", "canceled": "stopped"}


class ToyVid(Provider):
    kinds = ("render",)
    default_outputs = {"render": ("video",)}

    def routes(self) -> list[RouteSpec]:
        return [
            RouteSpec("GET", "/v1/renders/{job_id}", "status", self.get_render, "job_id"),
            RouteSpec("POST", "/v1/renders", "create", self.create_render),
            RouteSpec("GET", "/v1/whoami", "test", self.whoami),
        ]

    def authenticate(self, ctx: Ctx) -> tuple[str | None, str]:
        sent = ctx.request.headers.get("x-toy-key")
        if not sent:
            return None, "missing X-Toy-Key header"
        key = ctx.rt.creds.keys[self.name]
        return (key, "") if hmac.compare_digest(sent.encode(), key.encode()) else (None, "invalid key")

    def unauthorized(self, reason: str) -> Response:
        return self.error(401, reason)

    def error(self, status: int, message: str, retry_after: int | None = None) -> Response:
        return json_response({"problem": {"text": message}}, status, retry_headers(retry_after))

    def view(self, ctx: Ctx, job: Any) -> dict[str, Any]:
        phase = job.observe(ctx.now, ctx.flap)
        render: dict[str, Any] = {"id": job.id, "phase": PHASES[phase.state], "percent": round(phase.progress * 100)}
        if phase.state == "succeeded":
            render["video"] = ctx.output_urls(job, ctx.now + 3600)[0][1]
        if phase.state == "failed":
            render["reason"] = job.failure_reason
        return {"render": render}

    async def get_render(self, ctx: Ctx) -> Response:
        job = ctx.rt.state.get_job(self.name, ctx.job_id or "")
        return self.not_found() if job is None else json_response(self.view(ctx, job))

    async def create_render(self, ctx: Ctx) -> Response:
        body, script = ctx.script()
        if not isinstance(body.get("prompt"), str):
            return self.error(400, "prompt is required")
        job = ctx.rt.state.create_job(self.name, kind="render", script=script, request=body)
        return json_response(self.view(ctx, job), 201)

    async def whoami(self, ctx: Ctx) -> Response:
        return json_response({"user": "toy"})
'''

DAG_ID = "mediajobs_toy_provider"
DAG_SOURCE = f'''
"""One ToyVid render, submitted and waited for by its provider's own submit operator."""
import pendulum
from airflow.sdk import dag

from {DIALECT_MODULE} import ToyVidSubmitJobOperator


@dag(dag_id="{DAG_ID}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False)
def toy():
    ToyVidSubmitJobOperator(
        task_id="render",
        payload={{"prompt": "a toy", "_emulator": {{"queued_s": 0.3, "running_s": 0.6}}}},
        deferrable=True,
        timeout=120,
    )


toy()
'''


@dataclass
class Toy:
    module: ModuleType
    emulator: Emulator
    folder: Path


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Toy]:
    """ToyVid's two modules importable, its registry line added, an emulator built after it (so its
    table has the fifth provider) and ``toyvid_default`` pointing there; all undone afterwards."""
    folder = tmp_path_factory.mktemp("toy-provider")
    (folder / f"{DIALECT_MODULE}.py").write_text(textwrap.dedent(DIALECT_SOURCE))
    (folder / f"{EMULATOR_MODULE}.py").write_text(textwrap.dedent(EMULATOR_SOURCE))
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(DIALECT_MODULE)  # registers SPEC
        try:
            with (
                Emulator(port=0, seed=3, speed=1.0, tams_qps=0) as emulator,
                pytest.MonkeyPatch.context() as mp,
            ):
                conn = emulator.connection(NAME, rate_limit=0, allow_private_hosts=True)
                set_connections(mp, {module.SPEC.default_conn_id: conn})
                yield Toy(module, emulator, folder)
        finally:
            registry.unregister(NAME)
    finally:
        sys.path.remove(str(folder))
        for name in (DIALECT_MODULE, EMULATOR_MODULE):
            sys.modules.pop(name, None)


@pytest.fixture(autouse=True)
def _fresh_emulator(toy: Toy) -> None:
    toy.emulator.reset()


def test_the_emulator_serves_the_toy_api_from_its_own_module(toy: Toy) -> None:
    emulator = toy.emulator
    assert list(emulator.providers) == [*(spec.name for spec in registry.BUILTIN), NAME]
    key = emulator.credentials(NAME)["api_key"]
    with httpx.Client(base_url=emulator.base_url(NAME), timeout=10) as http:
        assert http.get("/v1/whoami", headers={"X-Toy-Key": key}).json() == {"user": "toy"}
        refused = http.get("/v1/whoami", headers={"X-Toy-Key": "wrong"})
        assert (refused.status_code, refused.json()) == (401, {"problem": {"text": "invalid key"}})
    with httpx.Client(base_url=emulator.origin(NAME), timeout=10) as http:  # its own origin, too
        assert http.get("/v1/whoami", headers={"X-Toy-Key": key}).status_code == 200


def test_the_sync_hook_checks_submits_and_reads_each_state(toy: Toy) -> None:
    hook = toy.module.ToyVidHook()
    assert (hook.provider, hook.conn_id) == (NAME, "toyvid_default")
    assert hook.test_connection() == (True, "Connected to ToyVid.")
    job_id = hook.submit_job({"prompt": "a cat", "_emulator": {"queued_s": 30, "running_s": 30}})
    assert hook.get_job(job_id).state is JobState.QUEUED
    toy.emulator.advance(45)
    running = hook.get_job(job_id)
    assert (running.state, running.provider_status) == (JobState.RUNNING, "rendering")
    assert running.progress is not None and 0.3 < running.progress < 0.7
    toy.emulator.advance(30)
    done = hook.get_job(job_id)
    assert done.state is JobState.SUCCEEDED and done.provider == NAME
    (output,) = done.outputs
    assert output.url.startswith(f"{toy.emulator.url}/cdn/{NAME}/")


async def test_the_deferrable_sensor_waits_on_the_trigger_to_success(toy: Toy) -> None:
    job_id = str(toy.emulator.add_job(NAME, queued_s=0.3, running_s=0.6))
    sensor = toy.module.ToyVidJobSensor(task_id="wait", job_id=job_id, deferrable=True, timeout=60)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["provider"] == NAME and kwargs["conn_id"] == "toyvid_default"
    key = toy.emulator.credentials(NAME)["api_key"]
    assert key not in json.dumps(kwargs)
    rebuilt = MediaJobTrigger(**kwargs)  # as the triggerer does, from the stored kwargs
    events = [event.payload async for event in rebuilt.run()]  # async hook, real HTTP
    assert len(events) == 1 and events[0]["status"] == "succeeded", events
    resume = getattr(sensor, deferred.value.method_name)
    result = resume({}, event=events[0], **(deferred.value.kwargs or {}))
    assert (result["provider"], result["job_id"], result["state"]) == (NAME, job_id, "succeeded")
    assert [o["kind"] for o in result["outputs"]] == ["video"]
    assert toy.emulator.stats()["requests"]  # the reads went to the emulator


def test_the_submit_operator_runs_in_a_dag_and_the_media_view_shows_the_job(
    toy: Toy, plugin_db: None, client: Any, viewer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.utils.cli import get_bagged_dag

    from airflow_provider_mediajobs.plugins.records import media_operators

    assert {"ToyVidSubmitJobOperator", "ToyVidJobSensor"} <= media_operators()
    dags = toy.folder / "dags"
    dags.mkdir(exist_ok=True)
    dag_file = dags / "toy_dag.py"
    dag_file.write_text(textwrap.dedent(DAG_SOURCE))
    bundles = [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(dags)},
        }
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    bag = DagBag(dag_folder=str(dag_file), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    run = get_bagged_dag(None, DAG_ID, str(dag_file)).test()  # defers; the trigger runs in-process
    assert str(getattr(run.state, "value", run.state)) == "success", run.state

    (job,) = toy.emulator.runtime.state.jobs[NAME].values()  # the one the operator created
    page = client.get(MediaRun(DAG_ID, str(run.run_id), toy.folder).url(), headers=viewer)
    assert page.status_code == 200, page.text[:500]
    assert "render" in page.text and job.id in page.text and NAME in page.text
    task_page = client.get(
        MediaRun(DAG_ID, str(run.run_id), toy.folder).url("tasks", "render"), headers=viewer
    )
    assert task_page.status_code == 200 and job.id in task_page.text
    assert f"/cdn/{NAME}/{job.id}/" in task_page.text  # its output, linked from the provider
