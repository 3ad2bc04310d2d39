"""What every provider dialect is made of.

A dialect is pure: it builds :class:`~.wire.ApiRequest` objects and reads
:class:`~.wire.ApiResponse` objects, and never does I/O. The engine sends the requests (sync with ``requests``, async with ``httpx``)
and hands the responses back to the same parser, so both paths read a job identically.
"""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow_provider_mediajobs.dialects.inputs import generic_inputs
from airflow_provider_mediajobs.dialects.values import as_str, parse_retry_after
from airflow_provider_mediajobs.dialects.wire import ApiRequest, ApiResponse, CallContext, Credentials
from airflow_provider_mediajobs.engine.urls import UrlRefused, check_url, shown_url
from airflow_provider_mediajobs.exceptions import (
    InvalidJobIdError,
    MediaJobApiError,
    MediaJobAuthError,
    MediaJobBadResponseError,
    MediaJobConfigError,
    MediaJobRateLimitedError,
    UnsafeOutputUrlError,
    status_error,
)
from airflow_provider_mediajobs.models import JobInputs, MediaJob

if TYPE_CHECKING:
    from airflow_provider_mediajobs.dialects.registry import ProviderSpec

log = logging.getLogger(__name__)

MAX_JOB_ID_LENGTH = 128
_UNSAFE_ID = re.compile(r"[\s\x00-\x1f\x7f/\\?#%]")


class Dialect(ABC):
    """Everything specific to one provider's API: credentials, requests, and reading the answers.

    Its facts (name, form, cadence, capabilities) are its :class:`~.registry.ProviderSpec`, given
    to the constructor and readable here. Implement the abstract methods; override the others
    where the provider differs.
    """

    auth_hint: ClassVar[str] = MediaJobAuthError.default_hint
    """What to check when the provider refuses the credentials (401/403 or its own auth codes);
    ``{conn_id}`` is filled in."""

    create_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """The fields each job kind's create payload must set, as the provider documents them;
    ``"a|b"`` is satisfied by either name. Checked before any request (:func:`.inputs.check_create`)."""

    example_payloads: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    """A minimal working create payload per job kind: the submit operator's docstring shows them,
    as does the README's section 'Payloads' (a test holds the two equal and runs them on the emulator)."""

    def __init__(self, spec: ProviderSpec) -> None:
        self.spec = spec

    # ---- the spec's facts, as the engine reads them ---------------------------------------
    @property
    def name(self) -> str:
        """Registry key, connection type and every job's ``provider``."""
        return self.spec.name

    @property
    def display_name(self) -> str:
        return self.spec.display_name

    @property
    def default_base_url(self) -> str | None:
        return self.spec.default_base_url

    @property
    def default_rate_limit(self) -> float | None:
        return self.spec.default_rate_limit

    @property
    def default_poll_interval(self) -> float:
        return self.spec.default_poll_interval

    @property
    def default_max_poll_interval(self) -> float:
        return self.spec.default_max_poll_interval

    @property
    def job_kinds(self) -> tuple[str, ...]:
        return self.spec.job_kinds

    @property
    def supports_cancel(self) -> bool:
        return self.spec.supports_cancel

    @property
    def idempotent_create(self) -> bool:
        return self.spec.idempotent_create

    # ---- connection -> credentials -------------------------------------------------------
    def build_credentials(
        self, api_key: str | None, extras: Mapping[str, Any], ctx: CallContext
    ) -> Credentials:
        """The connection's secrets: ``api_key`` is its password field, ``extras`` the values of its
        form fields. Fail (``ctx.fail``) with a config error when something is missing."""
        if not api_key:
            ctx.fail(
                MediaJobConfigError,
                f"The connection has no API key. Put the {self.display_name} API key in its "
                f"{self.spec.key_label!r} field.",
            )
        return Credentials(api_key=api_key, secret_texts=(api_key,))

    def credentials_load_a_key(self, extras: Mapping[str, Any]) -> bool:
        """Whether :meth:`build_credentials` parses key material (CPU-bound): a trigger then builds
        the credentials in a worker thread, off the event loop; otherwise on the loop."""
        return False

    def auth_headers(self, creds: Credentials, request: ApiRequest, path_and_query: str) -> dict[str, str]:
        """Headers that authenticate ``request``; ``path_and_query`` is the full path sent on the wire."""
        return {"Authorization": f"Bearer {creds.api_key}"}

    def signs_each_request(self, creds: Credentials) -> bool:
        """Whether :meth:`auth_headers` differ on every request (a signature with a timestamp and a
        nonce); otherwise a repeated read builds its headers once."""
        return False

    # ---- job ids ---------------------------------------------------------------------------
    def validate_job_id(self, job_id: object, ctx: CallContext) -> str:
        """The job id as a string safe in a URL; :class:`InvalidJobIdError` for anything else."""
        text = "" if job_id is None else str(job_id)
        shown = text[:40] + ("..." if len(text) > 40 else "")
        if not text.strip():
            ctx.fail(InvalidJobIdError, f"{self.display_name} job id is empty.")
        if len(text) > MAX_JOB_ID_LENGTH:
            ctx.fail(
                InvalidJobIdError,
                f"{self.display_name} job id is longer than {MAX_JOB_ID_LENGTH} characters.",
            )
        if _UNSAFE_ID.search(text) or ".." in text:
            ctx.fail(
                InvalidJobIdError,
                f"{self.display_name} job id {shown!r} contains characters not allowed in a job id "
                "(whitespace, control characters, '/', '\\', '?', '#', '%' or '..').",
            )
        return text

    def normalize_kind(self, kind: str | None, ctx: CallContext) -> str:
        """``kind`` checked against :attr:`job_kinds`; None or ``"default"`` is the first one."""
        if kind is None or kind == "default":
            return self.job_kinds[0]
        if kind not in self.job_kinds:
            ctx.fail(
                MediaJobConfigError,
                f"Unknown {self.display_name} job kind {kind!r}; expected one of {list(self.job_kinds)}.",
            )
        return kind

    # ---- the calls -------------------------------------------------------------------------
    @abstractmethod
    def status_request(self, job_id: str, kind: str) -> ApiRequest:
        """The request that reads one job's status (``job_id`` already validated)."""

    @abstractmethod
    def parse_status(self, job_id: str, kind: str, response: ApiResponse, ctx: CallContext) -> MediaJob:
        """The status answer as a :class:`MediaJob`; typed errors (``ctx.fail``) for error answers."""

    def read_status(self, job_id: str, kind: str, response: ApiResponse, ctx: CallContext) -> MediaJob:
        """:meth:`parse_status` under the URL policy: what the engine calls for every status answer.

        An output whose URL the policy (:mod:`~airflow_provider_mediajobs.engine.urls`) refuses is
        dropped with a logged, typed reason; the job keeps the state the provider reported.
        """
        return accepted_outputs(self.parse_status(job_id, kind, response, ctx), ctx)

    @abstractmethod
    def connection_check_request(self) -> ApiRequest:
        """One cheap authenticated call for Airflow's Test button and ``airflow connections test``."""

    def parse_connection_check(self, response: ApiResponse, ctx: CallContext) -> str:
        """The Test button's success message; raises like :meth:`check_response` on failure."""
        self.check_response(response, ctx)
        return self.connected()

    def connected(self, label: str = "", value: Any = None) -> str:
        """The Test button's success message, with one account fact when the check answered it
        (``Connected to TensorPix. Balance: 12.``)."""
        return f"Connected to {self.display_name}." + (f" {label}: {value}." if value is not None else "")

    def create_payload_fields(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The part of ``payload`` that :attr:`create_fields` names (the payload itself by default)."""
        return payload

    @abstractmethod
    def create_request(self, kind: str, payload: Mapping[str, Any], request_id: str | None) -> ApiRequest:
        """The request that creates a job of ``kind`` from the provider's documented ``payload``;
        ``request_id`` is the idempotency key of a provider with ``idempotent_create``."""

    def new_request_id(self) -> str | None:
        """An idempotency key for a create the caller gave none for; None when the API has none."""
        return None

    @abstractmethod
    def parse_create(self, kind: str, response: ApiResponse, ctx: CallContext) -> str:
        """The new job's id from the create answer."""

    def describe_inputs(self, kind: str, payload: Mapping[str, Any]) -> JobInputs:
        """What a create payload asks, for people (prompt, model, size, source media, ...), shown
        by the Media view beside the outputs. This default reads a flat payload
        (:func:`~.inputs.generic_inputs`); a dialect whose payload is shaped otherwise overrides it."""
        return generic_inputs(payload)

    def cancel_request(self, job_id: str, kind: str) -> ApiRequest:
        """The request that cancels a job; only called when the spec ``supports_cancel``."""
        raise MediaJobConfigError(f"{self.display_name} has no API to cancel a job.", provider=self.name)

    def parse_cancel(self, response: ApiResponse, ctx: CallContext) -> bool:
        """True when this call canceled the job; False when it had already finished (any end state)."""
        self.check_response(response, ctx)
        return True

    # ---- shared reading helpers ------------------------------------------------------------
    def error_message(self, payload: Any) -> str | None:
        """The provider's own error text from an error body, if it has one."""
        if isinstance(payload, Mapping):
            for key in ("message", "msg", "detail", "error", "err_message"):
                value = payload.get(key)
                if isinstance(value, str) and value:
                    return value
        return None

    def check_response(self, response: ApiResponse, ctx: CallContext) -> Any:
        """Classify the HTTP status; return the decoded JSON body of a 2xx response."""
        status = response.status_code
        if 200 <= status < 300:
            return self.decode_json(response, ctx) if response.body else {}
        payload = _try_json(response.body)
        message = self.error_message(payload) or _snippet(response)
        self.fail_with_status(status, f"{self.display_name} answered HTTP {status}: {message}", ctx, response)

    def fail_with_status(
        self, status: int, detail: str, ctx: CallContext, response: ApiResponse | None = None
    ) -> NoReturn:
        """Raise the error ``status`` means (:func:`~airflow_provider_mediajobs.exceptions.status_error`),
        with this dialect's auth hint and the answer's ``Retry-After``."""
        cls = status_error(status) or MediaJobApiError
        if cls is MediaJobAuthError:
            ctx.fail(cls, detail, status_code=status, hint=self.auth_hint)
        if cls is MediaJobRateLimitedError:
            header = response.header("retry-after") if response is not None else None
            ctx.fail(cls, detail, status_code=status, retry_after=parse_retry_after(header, detail))
        ctx.fail(cls, detail, status_code=status)

    def decode_json(self, response: ApiResponse, ctx: CallContext) -> Any:
        """The body as JSON; :class:`MediaJobBadResponseError` when it is not."""
        try:
            return json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            ctx.fail(
                MediaJobBadResponseError,
                f"{self.display_name} answered HTTP {response.status_code} with a body that is not JSON "
                f"({_content_type(response)}, {len(response.body)} bytes: {_snippet(response)!r}).",
                status_code=response.status_code,
            )

    def created_id(self, data: Mapping[str, Any], key: str, where: str, ctx: CallContext) -> str:
        """The new job's id, ``data[key]``; :class:`MediaJobBadResponseError` naming ``where``
        (``job.id``) when a create's answer has none."""
        job_id = as_str(data.get(key))
        if not job_id:
            ctx.fail(MediaJobBadResponseError, f"{self.display_name} create response has no {where}.")
        return job_id

    def expect_object(self, value: Any, what: str, ctx: CallContext) -> Mapping[str, Any]:
        """``value`` when it is a JSON object; :class:`MediaJobBadResponseError` naming ``what`` otherwise."""
        if not isinstance(value, Mapping):
            ctx.fail(
                MediaJobBadResponseError,
                f"{self.display_name} response has no {what} object (got {type(value).__name__}).",
            )
        return value


def accepted_outputs(job: MediaJob, ctx: CallContext) -> MediaJob:
    """``job`` without the outputs whose URL the URL policy refuses, each logged with its reason."""
    kept = []
    for index, output in enumerate(job.outputs):
        try:
            check_url(output.url)
        except UrlRefused as refused:
            err = ctx.error(
                UnsafeOutputUrlError,
                f"Dropped output {index} ({output.kind.value}) of the job: its URL "
                f"{shown_url(output.url)[:120]!r} is refused ({refused.reason}: {refused}).",
            )
            log.warning("%s: %s", type(err).__name__, err, extra={"mediajobs_refused": refused.reason})
            continue
        kept.append(output)
    return job if len(kept) == len(job.outputs) else replace(job, outputs=tuple(kept))


def json_object(body: bytes) -> Mapping[str, Any]:
    """The body as a JSON object, or ``{}`` when it is not one (for reading error bodies)."""
    value = _try_json(body)
    return value if isinstance(value, Mapping) else {}


def _try_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _content_type(response: ApiResponse) -> str:
    return response.header("content-type") or "no content type"


def _snippet(response: ApiResponse, limit: int = 120) -> str:
    text = response.body[:limit].decode("utf-8", "replace")
    text = re.sub(r"\s+", " ", text).strip()
    return text or "(empty body)"


__all__ = [
    "MAX_JOB_ID_LENGTH",
    "Dialect",
    "accepted_outputs",
    "json_object",
]
