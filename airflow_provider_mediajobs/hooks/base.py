"""The one hook class behind every provider; a provider's hook module only names its provider.

Sync methods (``get_job``, ``submit_job``, ``cancel_job``, ``test_connection``) use ``requests``
and the normal connection lookup. Async methods (``aget_job``, ``acancel_job``) resolve the
connection asynchronously, once per hook, and share one ``httpx`` pool per event loop: they are
safe to call from a trigger. Both go through the same dialect parser.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import AbstractAsyncContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.sdk import BaseHook

from airflow_provider_mediajobs.connection_forms import form
from airflow_provider_mediajobs.dialects.base import Dialect
from airflow_provider_mediajobs.dialects.registry import get_dialect, get_spec, missing_connection_error
from airflow_provider_mediajobs.engine.api import JobApi, StatusRead
from airflow_provider_mediajobs.engine.config import ApiConfig, config_from_connection
from airflow_provider_mediajobs.engine.transport import ClientLease
from airflow_provider_mediajobs.exceptions import (
    MediaJobConfigError,
    MediaJobError,
    is_missing_connection,
    redact,
)
from airflow_provider_mediajobs.models import MediaJob

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests


class MediaJobHook(BaseHook):
    """Read, create and cancel jobs of one media-job provider.

    :param conn_id: Airflow connection id (the provider's ``default_conn_name`` by default).
    :param job_kind: the provider's job family where it has several (its spec's ``job_kinds``), used
        when a method is not given one.
    :param retries: attempts per call for transient failures (5xx, 429, timeouts, resets).
    """

    conn_name_attr = "conn_id"
    default_provider: ClassVar[str]
    """The registry name a provider's hook is for; the Airflow attributes below derive from it."""
    provider: ClassVar[str]
    default_conn_name: ClassVar[str]
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]

    def __init__(self, conn_id: str | None = None, job_kind: str | None = None, retries: int = 3) -> None:
        super().__init__()
        self.conn_id = conn_id or self.default_conn_name
        self.job_kind = job_kind
        self.retries = retries
        self._async_api: JobApi | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "default_provider" in cls.__dict__:
            spec = get_spec(cls.default_provider)
            cls.provider = cls.conn_type = spec.name
            cls.default_conn_name = spec.default_conn_id
            cls.hook_name = spec.display_name
        # Airflow 3.1 takes the form classmethods only from a hook class's own __dict__ (so that
        # a parent's fields count once): give each provider hook its own, bound to its conn type.
        if "conn_type" in cls.__dict__:
            for name in ("get_ui_field_behaviour", "get_connection_form_widgets"):
                setattr(cls, name, classmethod(getattr(MediaJobHook, name).__func__))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r}, job_kind={self.job_kind!r})"

    @property
    def dialect(self) -> Dialect:
        return get_dialect(self.provider)

    # ---- connection --------------------------------------------------------------------------
    @cached_property
    def config(self) -> ApiConfig:
        """The connection, read synchronously (worker side)."""
        try:
            conn = self.get_connection(self.conn_id)
        except Exception as err:
            raise self._lookup_error(err) from None
        return config_from_connection(self.dialect, conn, conn.extra_dejson)

    def _lookup_error(self, err: Exception) -> Exception:
        """A missing connection becomes a clear config error; anything else passes through."""
        if is_missing_connection(err):
            return missing_connection_error(self.conn_id, self.provider)
        return err

    async def aget_config(self) -> ApiConfig:
        """The connection, read asynchronously and cached on the hook (safe in a trigger)."""
        if self._async_api is None:
            try:
                try:
                    conn = await get_async_connection(self.conn_id, hook=self)
                except ImportError as err:
                    if not is_missing_connection(err):
                        raise
                    # Airflow 3.1 outside a task or triggerer (a script, a unit test): its async
                    # lookup needs the supervisor even for environment/secrets-backend connections;
                    # the sync lookup reads those first, in a worker thread off the event loop.
                    conn = await asyncio.to_thread(self.get_connection, self.conn_id)
            except Exception as err:
                raise self._lookup_error(err) from None
            extras = await get_async_extra_dejson(conn)
            if self.dialect.credentials_load_a_key(extras):
                # a request-signing key is parsed (and cryptography's RSA half imported the first
                # time) in a worker thread, never on the triggerer's event loop
                config = await asyncio.to_thread(config_from_connection, self.dialect, conn, extras)
            else:
                config = config_from_connection(self.dialect, conn, extras)
            self._async_api = self._api(config)
        return self._async_api.config

    def _api(self, config: ApiConfig) -> JobApi:
        return JobApi(self.dialect, config, attempts=self.retries)

    @cached_property
    def api(self) -> JobApi:
        return self._api(self.config)

    def status_reads(self, job_id: str, kind: str | None = None) -> AbstractAsyncContextManager[StatusRead]:
        """``job_id``'s status read for a whole wait: the connection resolved (async, once), the
        loop's shared HTTP client for the endpoint leased, the request prepared once.

        A trigger holds this for its whole wait and calls the read on every poll; the client is
        closed when the last wait on the endpoint ends.
        """
        return _StatusReads(self, job_id, kind or self.job_kind)

    async def _aapi(self) -> JobApi:
        await self.aget_config()
        assert self._async_api is not None
        return self._async_api

    @cached_property
    def session(self) -> requests.Session:
        # requests is imported by the first sync call, not with the hook: a task that only
        # persists a job the trigger just read (one task per job) makes none
        import requests

        return requests.Session()

    # ---- jobs ----------------------------------------------------------------------------------
    def get_job(self, job_id: str, kind: str | None = None, attempts: int | None = None) -> MediaJob:
        """Read a job's status (sync, retried on transient failures up to ``attempts`` tries)."""
        return self.api.get_job(self.session, job_id, kind or self.job_kind, attempts=attempts)

    async def aget_job(self, job_id: str, kind: str | None = None, attempts: int | None = None) -> MediaJob:
        """Read a job's status once without blocking the event loop (retried on transient failures
        up to ``attempts`` tries); a wait holds :meth:`status_reads` instead."""
        async with self.status_reads(job_id, kind) as read:
            return await (await self._aapi()).policy(attempts).acall(read)

    def submit_job(
        self, payload: Mapping[str, Any], kind: str | None = None, request_id: str | None = None
    ) -> str:
        """Create a job from ``payload`` (the provider's documented body); return its id.

        ``request_id`` is the idempotency key of a provider whose spec has ``idempotent_create``:
        the same id again returns the same job. Without one a random one is
        generated, so the create can be retried safely; other providers have no such key.
        """
        request_id = request_id or self.dialect.new_request_id()
        return self.api.submit(self.session, payload, kind or self.job_kind, request_id)

    def cancel_job(self, job_id: str, kind: str | None = None) -> bool:
        """Ask the provider to cancel a job (where its spec :attr:`supports_cancel`).

        :return: True when this call stopped the job (it was queued or running); False when the
            job had already finished — succeeded, failed or already canceled — so there was nothing
            to cancel (each dialect's ``parse_cancel`` reads how its provider says so).
        :raises MediaJobConfigError: for a provider without a cancel API, or an
            invalid job id, before any request.
        :raises MediaJobError: as :meth:`get_job` does (unknown job, refused key, ...).
        """
        if not self.supports_cancel:
            raise self._cannot_cancel(self.config, job_id)
        return self.api.cancel(self.session, job_id, kind or self.job_kind)

    async def acancel_job(self, job_id: str, kind: str | None = None) -> bool:
        """:meth:`cancel_job` without blocking the event loop; same return value and errors."""
        api = await self._aapi()
        if not self.supports_cancel:
            raise self._cannot_cancel(api.config, job_id)
        return await api.acancel(job_id, kind or self.job_kind)

    def _cannot_cancel(self, config: ApiConfig, job_id: object) -> MediaJobError:
        ctx = config.context(None if job_id is None else str(job_id))
        safe_id = self.dialect.validate_job_id(job_id, ctx)
        return ctx.error(
            MediaJobConfigError,
            f"{self.dialect.display_name} has no API to cancel a job: job {safe_id} runs until it finishes.",
            hint="Check the hook's supports_cancel before canceling.",
        )

    @property
    def supports_cancel(self) -> bool:
        return self.dialect.supports_cancel

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call; never raises (Airflow's Test button)."""
        secrets: tuple[str, ...] = ()
        try:
            secrets = self.config.credentials.secret_texts
            return True, self.api.check_connection(self.session)
        except Exception as err:
            return False, redact(self._test_message(err), secrets)

    def _test_message(self, err: Exception) -> str:
        """The failure as the Test button shows it, without naming the connection id.

        Airflow's UI and REST API test a connection under a random, transient conn id (the
        user's own id never reaches the hook), so "check connection 'Xy3kQ9aB'" would point at
        nothing: the connection under test is "this connection".
        """
        text = err.summary if isinstance(err, MediaJobError) else str(err)
        quoted = "|".join(re.escape(q) for q in (repr(self.conn_id), f'"{self.conn_id}"'))
        text = re.sub(rf"(?:airflow )?connection (?:{quoted})|{quoted}", "this connection", text, flags=re.I)
        return "T" + text[1:] if text.startswith("this connection") else text

    # ---- connection form (Airflow 3.1; 3.2+ reads the same definitions from provider info) -------
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        behaviour = form(get_spec(cls.conn_type))["ui-field-behaviour"]
        return {
            "hidden_fields": list(behaviour["hidden-fields"]),
            "relabeling": dict(behaviour["relabeling"]),
            "placeholders": dict(behaviour["placeholders"]),
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import PasswordField, StringField

        widgets: dict[str, Any] = {}
        for name, field in form(get_spec(cls.conn_type))["conn-fields"].items():
            secret = field["schema"].get("format") == "password"
            field_class = PasswordField if secret else StringField
            widget = BS3PasswordFieldWidget() if secret else BS3TextFieldWidget()
            widgets[name] = field_class(
                lazy_gettext(field["label"]), widget=widget, description=field["description"]
            )
        return widgets


class _StatusReads(AbstractAsyncContextManager[StatusRead]):
    """:meth:`MediaJobHook.status_reads`: a plain class, as a trigger holds it for its whole wait."""

    __slots__ = ("_hook", "_job_id", "_kind", "_lease")

    def __init__(self, hook: MediaJobHook, job_id: str, kind: str | None) -> None:
        self._hook, self._job_id, self._kind = hook, job_id, kind
        self._lease: ClientLease | None = None

    async def __aenter__(self) -> StatusRead:
        api = await self._hook._aapi()
        lease = ClientLease(api.config)
        client = await lease.__aenter__()
        try:
            read = api.status_read(client, self._job_id, self._kind)
        except BaseException:
            await lease.__aexit__(None, None, None)
            raise
        self._lease = lease
        return read

    async def __aexit__(self, *exc: object) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            await lease.__aexit__(*exc)
