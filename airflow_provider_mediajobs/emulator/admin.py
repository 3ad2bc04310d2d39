"""Admin routes under ``/_emulator``: credentials, stats, scripts, jobs, faults, clock, reset."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .faults import FaultError
from .runtime import Runtime, json_response
from .state import ScriptError, check_success_status

AdminHandler = Callable[[Runtime, Request, dict[str, Any]], Response]


def _bad(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def add_job(rt: Runtime, provider: Any, fields: dict[str, Any]) -> int | str:
    job = rt.state.create_job(rt.state.check_provider(provider), script=fields, use_queue=False)
    return job.native_id


def _health(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    return json_response({"ok": True, "providers": list(rt.providers)})


def _credentials(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    return json_response(rt.credentials())


def _stats(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    return json_response(rt.stats_snapshot())


def _reset(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    rt.reset()
    return json_response({"ok": True})


def _clock(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    return json_response({"now": rt.state.now(), "speed": rt.state.clock.speed})


def _advance(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    try:
        now = rt.state.clock.advance(float(body.get("seconds", 0)))
    except (TypeError, ValueError) as err:
        return _bad(str(err))
    return json_response({"now": now, "speed": rt.state.clock.speed})


def _script(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    fields = dict(body)
    provider = fields.pop("provider", None)
    count = fields.pop("count", 1)
    try:
        rt.state.add_script(provider, int(count), fields)
    except (ScriptError, TypeError, ValueError) as err:
        return _bad(str(err))
    return json_response({"ok": True, "provider": provider, "count": int(count)})


def _jobs(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    fields = dict(body)
    provider = fields.pop("provider", None)
    try:
        job_id = add_job(rt, provider, fields)
    except ScriptError as err:
        return _bad(str(err))
    return json_response({"job_id": job_id})


def _job(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    job = rt.state.get_job(request.path_params["provider"], request.path_params["job_id"])
    if job is None:
        return _bad("job not found", 404)
    phase = job.phase(rt.state.now())
    return json_response(
        {
            "provider": job.provider,
            "job_id": job.native_id,
            "kind": job.kind,
            "state": phase.state,
            "progress": phase.progress,
            "created_at": job.created_at,
            "queued_s": job.queued_s,
            "running_s": job.running_s,
            "outcome": job.outcome,
            "outputs": job.outputs,
            "request": job.request,
        }
    )


def _faults_list(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    return json_response({"faults": rt.faults.list()})


def _faults_add(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    try:
        fault = rt.faults.add(body)
    except FaultError as err:
        return _bad(str(err))
    return json_response({"id": fault.id})


def _faults_clear(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    rt.faults.clear()
    return json_response({"ok": True})


def _fault_delete(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    if not rt.faults.remove(request.path_params["fault_id"]):
        return _bad("fault not found", 404)
    return json_response({"ok": True})


def _rate_limits(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    try:
        provider = rt.state.check_provider(body.get("provider"))
        qps = body.get("qps")
        rt.limiter.set(provider, None if qps is None else float(qps))
    except (ScriptError, TypeError, ValueError) as err:
        return _bad(str(err))
    return json_response({"limits": rt.limiter.limits})


def _options(rt: Runtime, request: Request, body: dict[str, Any]) -> Response:
    """``{"success_status": {provider: spelling}}`` (POST sets the given providers; reset restores)."""
    if request.method == "POST":
        unknown = set(body) - {"success_status"}
        spellings = body.get("success_status", {})
        if unknown or not isinstance(spellings, dict):
            return _bad('expected {"success_status": {"PROVIDER": "SPELLING"}}')
        try:
            checked = {
                rt.state.check_provider(name): check_success_status(rt.state.provider(name), value)
                for name, value in spellings.items()
            }
        except ScriptError as err:
            return _bad(str(err))
        rt.success_status.update(checked)
    current = {
        name: rt.success_status.get(name, p.success_statuses[0])
        for name, p in rt.providers.items()
        if p.success_statuses
    }
    return json_response({"success_status": current})


def _route(rt: Runtime, path: str, method: str, handler: AdminHandler, counted: bool = True) -> Route:
    async def endpoint(request: Request) -> Response:
        body: dict[str, Any] = {}
        raw = await request.body()
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                response = _bad("body must be a JSON object")
                if counted:
                    rt.stats.record("admin", response.status_code)
                return response
            body = parsed
        response = handler(rt, request, body)
        if counted:
            rt.stats.record("admin", response.status_code)
        return response

    return Route(f"/_emulator{path}", endpoint, methods=[method])


def admin_routes(rt: Runtime) -> list[Route]:
    return [
        _route(rt, "/health", "GET", _health, counted=False),
        _route(rt, "/stats", "GET", _stats, counted=False),
        _route(rt, "/credentials", "GET", _credentials),
        _route(rt, "/reset", "POST", _reset, counted=False),
        _route(rt, "/clock", "GET", _clock),
        _route(rt, "/advance", "POST", _advance),
        _route(rt, "/script", "POST", _script),
        _route(rt, "/jobs", "POST", _jobs),
        _route(rt, "/jobs/{provider}/{job_id}", "GET", _job),
        _route(rt, "/faults", "GET", _faults_list),
        _route(rt, "/faults", "POST", _faults_add),
        _route(rt, "/faults", "DELETE", _faults_clear),
        _route(rt, "/faults/{fault_id}", "DELETE", _fault_delete),
        _route(rt, "/rate_limits", "POST", _rate_limits),
        _route(rt, "/options", "GET", _options),
        _route(rt, "/options", "POST", _options),
    ]
