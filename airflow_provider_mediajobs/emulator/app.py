"""The ASGI app: provider routes under their prefixes and on their own origins, the CDN, and the
fault/auth/limit pipeline."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from . import cdn
from .admin import admin_routes
from .faults import Fault
from .providers import Provider
from .runtime import Ctx, RouteSpec, Runtime, json_response
from .state import DEFAULT_OUTPUT_BYTES, ScriptError
from .uploads import MAX_UPLOAD_BYTES, read_capped, upload_endpoint

log = logging.getLogger(__name__)
ErrorFn = Callable[..., Response]
HTML_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
CDN_ERROR_CODES = {429: "SlowDown", 500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable"}


class KillConnection(Response):
    """``reset``: drop the connection unanswered; ``truncated``: promise more body than is sent, close."""

    def __init__(self, rt: Runtime, truncate: Response | None = None) -> None:
        super().__init__(status_code=200 if truncate is None else truncate.status_code)
        self.rt = rt
        self.truncate = truncate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.truncate is not None:
            full = bytes(self.truncate.body) or b'{"detail":"truncated"}'
            headers = [(k, v) for k, v in self.truncate.raw_headers if k.lower() != b"content-length"]
            declared = max(len(full), 64)
            headers.append((b"content-length", str(declared).encode()))
            await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
            await send({"type": "http.response.body", "body": full[: len(full) // 2], "more_body": True})
        if self.rt.connections is None:
            raise ConnectionAbortedError("emulated connection fault (no socket access in this server)")
        await self.rt.connections.kill(scope.get("client"), abort=self.truncate is None)


async def fault_response(
    rt: Runtime, fault: Fault, error: ErrorFn, produce: Callable[[], Awaitable[Response]]
) -> tuple[Response | None, str | None]:
    """The response a fault causes (``None``: go on normally) and the stats label to record."""
    kind = fault.kind
    if kind == "latency":
        if not await rt.sleep(fault.delay_s):  # stopping: do not hold up the shutdown
            return KillConnection(rt), "reset"
        return None, None
    if kind in ("http_500", "http_502", "http_503"):
        status = int(kind[-3:])
        return error(status, f"emulated HTTP {status}"), str(status)
    if kind == "http_429":
        return error(429, "emulated rate limit", retry_after=max(1, fault.retry_after)), "429"
    if kind == "reset":
        return KillConnection(rt), "reset"
    if kind == "truncated":
        return KillConnection(rt, await produce()), "truncated"
    if kind == "non_json":
        return PlainTextResponse("OK - upstream returned plain text", 200), "200"
    if kind == "html":
        return HTMLResponse(HTML_PAGE, 502), "502"
    if kind == "goenhance_code":
        return json_response({"code": fault.code, "msg": fault.msg}), "200"
    return None, None


def provider_endpoint(rt: Runtime, provider: Provider, spec: RouteSpec) -> Callable[..., Any]:
    key = f"{provider.name} {spec.route}"

    async def endpoint(request: Request) -> Response:
        if spec.job_param is None:
            job_id = None
        elif spec.job_param.startswith("?"):
            job_id = request.query_params.get(spec.job_param[1:])
        else:
            job_id = request.path_params.get(spec.job_param)
        body = await read_capped(request, MAX_UPLOAD_BYTES)
        if body is None:
            rt.stats.record(key, 413)
            return provider.error(413, f"request body larger than {MAX_UPLOAD_BYTES} bytes")
        ctx = Ctx(rt, request, body, job_id)
        response, label = await handle(ctx)
        rt.stats.record(key, label or response.status_code)
        return response

    async def handle(ctx: Ctx) -> tuple[Response, str | None]:
        fault = rt.faults.take(provider.name, spec.route, ctx.job_id)
        if fault is not None:
            response, label = await fault_response(rt, fault, provider.error, lambda: run(ctx))
            if response is not None:
                return response, label
        identity, reason = provider.authenticate(ctx)
        if identity is None:
            return provider.unauthorized(reason), None
        retry_after = rt.limiter.check(provider.name, identity)
        if retry_after is not None:
            rt.stats.count_rate_limited()
            return provider.error(429, "rate limit exceeded", retry_after=retry_after), None
        if spec.route == "status":
            ctx.flap = rt.faults.take(provider.name, spec.route, ctx.job_id, flap=True) is not None
        return await run(ctx), None

    async def run(ctx: Ctx) -> Response:
        try:
            return await spec.handler(ctx)
        except ScriptError as err:
            return provider.error(400, str(err))
        except Exception:
            log.exception("emulator: %s %s failed", provider.name, spec.route)
            return provider.error(500, "internal emulator error")

    return endpoint


def fallback_endpoint(rt: Runtime, provider: Provider) -> Callable[..., Any]:
    """What no route of ``provider`` took: a path none of them has → its 404; a path some have but
    not with this method → (after auth and rate limit, as a framework's router does it after its
    middleware) its :meth:`~Provider.method_not_allowed`, or its ``OPTIONS`` answer."""
    patterns: list[tuple[Any, str]] = [
        (compile_path(spec.path)[0], spec.method) for spec in provider.routes()
    ]

    async def endpoint(request: Request) -> Response:
        path = "/" + request.path_params["rest"]
        allowed: list[str] = []
        for regex, method in patterns:
            if regex.match(path) and method not in allowed:
                allowed.append(method)
        if not allowed:
            rt.stats.record(f"{provider.name} unknown", 404)
            return provider.not_found()
        if "GET" in allowed:
            allowed.append("HEAD")
        body = await read_capped(request, MAX_UPLOAD_BYTES)
        ctx = Ctx(rt, request, body or b"", None)
        identity, reason = provider.authenticate(ctx)
        if identity is None:
            response = provider.unauthorized(reason)
        elif (retry_after := rt.limiter.check(provider.name, identity)) is not None:
            rt.stats.count_rate_limited()
            response = provider.error(429, "rate limit exceeded", retry_after=retry_after)
        else:
            response = provider.method_not_allowed(request.method, allowed)
        rt.stats.record(f"{provider.name} unknown", response.status_code)
        return response

    return endpoint


def cdn_error(status: int, message: str, retry_after: int | None = None) -> Response:
    code = CDN_ERROR_CODES.get(status, "AccessDenied")
    body = cdn.access_denied(message, "").replace("AccessDenied", code, 1)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return Response(body, status, headers=headers, media_type="application/xml")


def cdn_endpoint(rt: Runtime) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        response, label = await handle(request)
        rt.stats.record("cdn", label or response.status_code)
        return response

    async def handle(request: Request) -> tuple[Response, str | None]:
        provider = request.path_params["provider"]
        job_id = request.path_params["job_id"]
        if "authorization" in request.headers:
            rt.stats.count_cdn_authorization()
        fault = rt.faults.take(provider, "cdn", job_id)
        if fault is not None:
            response, label = await fault_response(rt, fault, cdn_error, lambda: serve(request))
            if response is not None:
                return response, label
        return await serve(request), None

    async def serve(request: Request) -> Response:
        provider = request.path_params["provider"]
        job_id = request.path_params["job_id"]
        name = request.path_params["name"]
        resource = request.url.path
        denied = rt.signer.check(
            provider,
            job_id,
            name,
            request.query_params.get("expires", ""),
            request.query_params.get("sig", ""),
            rt.state.now(),
        )
        if denied is not None:
            body = cdn.access_denied(denied, resource)
            return Response(body, 403, media_type="application/xml")
        job = rt.state.get_job(provider, job_id)
        found = cdn.body_for(
            name, f"{provider}/{job_id}/{name}", job.output_bytes if job else DEFAULT_OUTPUT_BYTES
        )
        if found is None:
            body = cdn.access_denied("The specified key does not exist.", resource)
            return Response(body.replace("AccessDenied", "NoSuchKey", 1), 404, media_type="application/xml")
        data, content_type = found
        return Response(data, 200, media_type=content_type)

    return endpoint


class ProviderOrigins:
    """Serves a provider at the root of its own port: ``/v1/jobs`` there is ``/tensorart/v1/jobs``.

    Only ``path`` (what routing sees) gains the prefix; ``raw_path`` stays what the client sent, which
    is what a TAMS client signed. Every path on an origin is the provider's (unknown ones: its 404).
    """

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        provider = self.rt.origin_ports.get(int(server[1])) if server and server[1] else None
        if provider is not None and scope["type"] == "http":
            scope = {**scope, "path": f"/{provider}{scope['path']}", "mediajobs.origin": provider}
        await self.app(scope, receive, send)


def build_app(rt: Runtime) -> ProviderOrigins:
    """Admin routes, the CDN, then each provider's routes under its prefix and its fallback."""
    routes: list[BaseRoute] = list(admin_routes(rt))
    uploads = upload_endpoint(rt)
    routes.append(Route("/cdn/uploads/{provider}/{upload_id}/{name}", uploads, methods=["GET", "PUT"]))
    routes.append(Route("/cdn/{provider}/{job_id}/{name}", cdn_endpoint(rt), methods=["GET"]))
    for provider in rt.providers.values():
        for spec in provider.routes():
            path = f"/{provider.name}{spec.path}"
            routes.append(Route(path, provider_endpoint(rt, provider, spec), methods=[spec.method]))
    for provider in rt.providers.values():
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        routes.append(
            Route(f"/{provider.name}/{{rest:path}}", fallback_endpoint(rt, provider), methods=methods)
        )
    return ProviderOrigins(Starlette(routes=routes), rt)
