"""The emulator's shared runtime (state, faults, stats, auth) and the per-request context handlers get."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response

from .auth import Credentials, ReplayCache
from .cdn import Signer
from .faults import FaultSet
from .protocol import Connections
from .ratelimit import RateLimiter
from .state import Job, State
from .stats import Stats
from .uploads import Uploads

if TYPE_CHECKING:
    from .providers.base import Provider


@dataclass
class Runtime:
    state: State
    faults: FaultSet
    stats: Stats
    creds: Credentials
    limiter: RateLimiter
    default_limits: dict[str, float]
    signer: Signer = field(default_factory=Signer)
    uploads: Uploads = field(default_factory=Uploads)
    signatures: ReplayCache = field(default_factory=ReplayCache)  # exact replays of TAMS signatures
    nonces: ReplayCache = field(default_factory=ReplayCache)  # TAMS nonces, checked only when strict
    strict_nonces: bool = False
    origin_ports: dict[int, str] = field(default_factory=dict)  # local port -> provider served at its root
    main_port: int | None = None
    connections: Connections | None = None
    closing: threading.Event = field(default_factory=threading.Event)  # set by Emulator.stop()
    default_success_status: dict[str, str] = field(default_factory=dict)  # constructor's options
    success_status: dict[str, str] = field(default_factory=dict)  # provider -> spelling of success

    def __post_init__(self) -> None:
        self.success_status = dict(self.default_success_status)

    @property
    def providers(self) -> dict[str, Provider]:
        """The emulated providers by name (the table the state was built with)."""
        return self.state.providers

    def credentials(self) -> dict[str, dict[str, Any]]:
        """``{provider: what a client needs}`` (``GET /_emulator/credentials``)."""
        return {name: p.credentials(self.creds) for name, p in self.providers.items()}

    def success_spelling(self, job: Job) -> str:
        """How ``job``'s provider spells a terminal success now: the job's script, the option, or
        the provider's default."""
        provider = self.providers[job.provider]
        default = provider.success_statuses[0] if provider.success_statuses else "success"
        return job.success_status or self.success_status.get(job.provider) or default

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` (real); returns False early if the server is stopping."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(0.05, remaining))
        return False

    def reset(self) -> None:
        self.state.reset()
        self.faults.clear()
        self.stats.reset()
        self.signatures.clear()
        self.uploads.clear()
        self.nonces.clear()
        self.limiter.reset(self.default_limits)
        self.success_status = dict(self.default_success_status)

    def stats_snapshot(self) -> dict[str, Any]:
        return self.stats.snapshot(self.state.job_counts())


_NO_BODY = object()


@dataclass
class Ctx:
    rt: Runtime
    request: Request
    body: bytes
    job_id: str | None = None
    flap: bool = False
    _parsed: Any = _NO_BODY

    @property
    def now(self) -> float:
        return self.rt.state.now()

    @property
    def origin(self) -> str | None:
        """The provider whose own origin (root-level production paths) received this request."""
        return self.request.scope.get("mediajobs.origin")

    @property
    def base(self) -> str:
        """Where the CDN lives: this request's scheme and host, the emulator's main port."""
        url = self.request.base_url
        if self.origin is not None and self.rt.main_port is not None:
            url = url.replace(port=self.rt.main_port)
        return str(url).rstrip("/")

    async def form(self, max_files: int = 1) -> Any:
        """The body parsed as a form (multipart or urlencoded); raises ``ValueError`` when it is not one."""
        body = self.body

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            return await Request(self.request.scope, receive).form(max_files=max_files, max_fields=100)
        except Exception as err:  # python-multipart / starlette raise several types for bad forms
            raise ValueError(f"not a valid form: {err}") from err

    def json(self) -> Any:
        """The parsed JSON body, or ``None`` if it is not valid JSON."""
        if self._parsed is _NO_BODY:
            try:
                self._parsed = json.loads(self.body) if self.body else None
            except (ValueError, UnicodeDecodeError):
                self._parsed = None
        return self._parsed

    def json_object(self) -> dict[str, Any] | None:
        body = self.json()
        return body if isinstance(body, dict) else None

    def script(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split a create body into (echoable body without ``_emulator``, script fields)."""
        body = dict(self.json_object() or {})
        script = body.pop("_emulator", None)
        return body, (script if isinstance(script, dict) else {})

    def cdn_url(self, job: Job, name: str, expires: float) -> str:
        return self.rt.signer.url(self.base, job.provider, job.id, name, int(expires))

    def output_urls(self, job: Job, expires: float) -> list[tuple[str, str]]:
        """(kind, signed url) of each output of ``job``."""
        return [
            (kind, self.cdn_url(job, name, expires))
            for kind, name in zip(job.outputs, job.output_names(), strict=True)
        ]


Handler = Callable[[Ctx], Awaitable[Response]]


class DigitsConvertor(Convertor[str]):
    """``{name:digits}``: a path segment of digits, kept as text (Django's ``<int:pk>`` routes: a
    non-numeric segment matches no detail route, so a sibling route such as ``from-url/`` wins)."""

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("digits", DigitsConvertor())


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # below the provider prefix, Starlette syntax
    route: str  # status | create | cancel | test | upload | lookup
    handler: Handler
    job_param: str | None = None  # path parameter, or "?name" for a query parameter


def iso(epoch: float, digits: int = 3) -> str:
    """``2024-10-11T10:55:32.596Z`` (``digits`` fractional digits)."""
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += f".{moment.microsecond:06d}"[: digits + 1]
    return text + "Z"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json")
