"""Create a media job from a payload, then (optionally) wait for it like the sensor does, and
with ``destination=`` persist its outputs in the same task: submit, defer, resume, persist.

The job id is pushed to XCom (key ``job_id``) before any waiting, and kept in Airflow's task
state store (3.3+) so a retried task re-attaches to the job it created instead of paying for a
second one (and, when only persisting failed, just downloads again). A provider whose creates are
idempotent (its spec's ``idempotent_create``) gets a request id derived from the task instance, so
that holds on every Airflow version for it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_mediajobs.dialects.inputs import PAYLOADS_SECTION
from airflow_provider_mediajobs.dialects.registry import (
    SUBMIT_SUFFIX,
    ProviderSpec,
    convenience_classes,
    get_dialect,
)
from airflow_provider_mediajobs.engine.wait import run_sync
from airflow_provider_mediajobs.exceptions import (
    MediaJobBadResponseError,
    MediaJobError,
    MediaJobNotFoundError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.models import JobState, MediaJob
from airflow_provider_mediajobs.plugins.links import MediaLink
from airflow_provider_mediajobs.task_wait import (
    TaskWaitMixin,
    last_job_id,
    read_tries,
    record_try,
    recording_failure,
    seconds,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

INPUTS_KEY = "media_inputs"  # XCom: the job's inputs as people read them (JobInputs.to_dict())
DEFAULT_TIMEOUT = timedelta(hours=24)


def how_it_ended(job: MediaJob) -> str:
    """``"<provider> job 41 failed (reason); cost 0.5 usd"``: what a resubmit's log line says."""
    ended = f"failed ({job.error or 'no reason given'})" if job.state is JobState.FAILED else "was canceled"
    return f"{job.provider} job {job.job_id} {ended}; cost {job.cost_text}"


class MediaJobSubmitOperator(TaskWaitMixin):
    """Submit a job to a media-job provider and wait for it.

    :param payload: the provider's documented create body (templated).
    :param job_kind: which create endpoint, one of the provider's ``job_kinds`` (the named
        subclasses list theirs); the first one by default.
    :param wait_for_completion: wait for the job (default) or return its id at once.
    :param timeout: how long to wait (seconds or timedelta; ``execution_timeout`` also applies).
    :param cancel_on_timeout: cancel the remote job when the wait times out (providers that can cancel).
    :param request_id: idempotency key of a provider with idempotent creates;
        derived from the task instance when not given.

    The wait's arguments (``conn_id``, ``deferrable``, ``poll_interval``, ``outage_tolerance``, ...)
    are :class:`~airflow_provider_mediajobs.task_wait.TaskWaitMixin`'s; ``destination`` (persist
    the finished job's outputs in this task) and the other persist arguments are
    :class:`~airflow_provider_mediajobs.operators.persist_options.PersistsOutputs`'. Any Asset in
    ``outlets`` gets the files written in its event's ``extra``.

    Returns (XCom) the finished job's dict (with ``files``, the outputs operator's records, when
    given a destination), or the job id when not waiting.
    """

    template_fields: Sequence[str] = (
        "payload",
        "conn_id",
        "job_kind",
        "request_id",
        "destination",
        "filename_template",
    )
    template_fields_renderers = {"payload": "json"}
    ui_color = "#e4f0ff"
    operator_extra_links = (MediaLink(),)

    def __init__(
        self,
        *,
        payload: Mapping[str, Any],
        wait_for_completion: bool = True,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        cancel_on_timeout: bool = True,
        request_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("destination") is not None and not wait_for_completion:
            raise ValueError(
                "destination needs wait_for_completion=True: outputs exist once the job is done."
            )
        super().__init__(**kwargs)
        self.payload = payload
        self.wait_for_completion = wait_for_completion
        self.timeout = timeout
        self.cancel_on_timeout = cancel_on_timeout
        self.request_id = request_id
        self._submitted_job_id: str | None = None

    # ---- submit or re-attach ------------------------------------------------------------------
    def _base_request_id(self, context: Context) -> str:
        if self.request_id:
            return str(self.request_id)
        ti = context["ti"]
        seed = f"{ti.dag_id}/{ti.task_id}/{ti.run_id}/{getattr(ti, 'map_index', -1)}"
        return "airflow-" + hashlib.sha256(seed.encode()).hexdigest()[:32]

    def _previous_job(self, job_id: str | None) -> tuple[str, MediaJob | None] | None:
        """The previous try's job to re-attach to, with the read that checked it (None if that
        read failed), or None to submit anew (saying why)."""
        if not job_id:
            return None
        try:
            job = self.hook.get_job(job_id)
        except MediaJobNotFoundError:
            self.log.warning(
                "Resubmitting: %s does not know job %s of the previous try (not found); cost unknown.",
                self.hook.provider,
                job_id,
            )
            return None
        except (MediaJobTransientError, MediaJobBadResponseError) as err:
            # Like any read of a wait: transient trouble is ridden out by the wait, not a new job.
            self.log.warning(
                "Could not read job %s of the previous try (%s); re-attaching to it, the wait retries.",
                job_id,
                err,
            )
            return job_id, None
        if job.state in (JobState.FAILED, JobState.CANCELED):
            self.log.warning("Resubmitting: the previous try's %s.", how_it_ended(job))
            return None
        self.log.info("Re-attaching to the job of the previous try: %s", job.describe())
        return job_id, job

    def _submit(self, context: Context) -> tuple[str, MediaJob | None]:
        """Create the job: its id, and the read that checked an idempotent create's answer (if any)."""
        hook = self.hook
        base_id = self._base_request_id(context) if hook.dialect.idempotent_create else None
        job_id = hook.submit_job(self.payload, request_id=base_id)
        job: MediaJob | None = None
        try_number = getattr(context["ti"], "try_number", 1)
        if base_id is not None and not self.request_id and try_number > 1:
            # An idempotent create hands back an earlier try's job; if that one failed, start anew.
            # (A first try has no earlier one: its create is new, so it is not read back.)
            try:
                job = hook.get_job(job_id)
            except (MediaJobTransientError, MediaJobBadResponseError) as err:
                # The job exists; a status blip must not fail the task (the wait retries reads).
                self.log.warning("Could not check job %s after submitting it (%s).", job_id, err)
            if job is not None and job.state in (JobState.FAILED, JobState.CANCELED):
                retry_id = f"{base_id}-try{try_number}"
                self.log.warning(
                    "Resubmitting with requestId %s: requestId %s already ran, and %s.",
                    retry_id,
                    base_id,
                    how_it_ended(job),
                )
                job_id, job = hook.submit_job(self.payload, request_id=retry_id), None
        self.log.info("Submitted %s job %s.", hook.provider, job_id)
        return job_id, job

    def _warn_no_reattach(self, context: Context, store: Any) -> None:
        """A retry that cannot find the previous try's job pays for a new one: say so."""
        try_number = getattr(context["ti"], "try_number", 1)
        if store is not None or try_number <= 1 or self.hook.dialect.idempotent_create:
            return
        self.log.warning(
            "Try %s submits a new %s job: re-attaching to the previous try's job needs Airflow 3.3's "
            "task state store (or a provider with idempotent creates, like TAMS), so that job, if it "
            "was created, keeps running and may be billed too.",
            try_number,
            self.hook.provider,
        )

    def execute(self, context: Context) -> Any:
        store, tries = read_tries(context)
        self._warn_no_reattach(context, store)
        previous = self._previous_job(last_job_id(tries))
        job_id, job = previous if previous is not None else self._submit(context)
        self._submitted_job_id = job_id
        record_try(context, store, tries, job_id)
        context["ti"].xcom_push(key="job_id", value=job_id)
        self._record_inputs(context)
        if not self.wait_for_completion:
            return job_id
        timeout = self._effective_timeout()
        with recording_failure(context):
            if self.deferrable:
                # a job created a moment ago is not finished: defer without reading it (the trigger
                # reads it); a re-attached one was read just now, and that read is used
                return self._wait_for(
                    job_id, timeout, context, cancel_on_kill=True, job=job, read_first=False
                )
            return self._wait_here(job_id, timeout, context)

    def _record_inputs(self, context: Context) -> None:
        """What the job was asked (the dialect's reading of the payload), for the Media view."""
        hook = self.hook
        try:
            kind = hook.dialect.normalize_kind(hook.job_kind, hook.config.context(None))
            inputs = hook.dialect.describe_inputs(kind, self.payload)
        except Exception as err:  # a view's nicety never fails the task
            self.log.warning(
                "Could not describe the job's inputs for the Media view (%s).", type(err).__name__
            )
            return
        context["ti"].xcom_push(key=INPUTS_KEY, value=inputs.to_dict())

    def _effective_timeout(self) -> float:
        limits = [seconds(self.timeout), seconds(self.execution_timeout)]
        return min(v for v in limits if v is not None) if any(v is not None for v in limits) else 86400.0

    # ---- waiting ------------------------------------------------------------------------------
    def _wait_here(self, job_id: str, timeout: float, context: Context) -> Any:
        """Synchronous wait (deferrable=False): the trigger's wait loop, run on the worker."""
        started = time.time()
        wait = self._wait_state(job_id, deadline=started + timeout, started_at=started)
        event = run_sync(wait, lambda: self._read(job_id), clock=time.time, sleep=time.sleep)
        return self._finish(event, job_id, context, on_timeout=self._cancel_after_timeout)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, job_id: str | None = None
    ) -> Any:
        resumed = self._resumed_job_id(event, job_id)
        if resumed is None:
            ti = context["ti"]
            resumed = ti.xcom_pull(task_ids=ti.task_id, key="job_id", map_indexes=ti.map_index)
        with recording_failure(context):
            return self._finish(event, str(resumed), context, on_timeout=self._cancel_after_timeout)

    def _cancel_after_timeout(self, job_id: str) -> None:
        if self.cancel_on_timeout:
            self._cancel(job_id, "the wait timed out")

    def _cancel(self, job_id: str, why: str) -> None:
        hook = self.hook
        if not hook.supports_cancel:
            self.log.warning("%s cannot cancel jobs: job %s keeps running (%s).", hook.provider, job_id, why)
            return
        try:
            done = hook.cancel_job(job_id)
        except MediaJobError as err:
            self.log.error("Could not cancel %s job %s after %s: %s", hook.provider, job_id, why, err)
            return
        self.log.info(
            "Canceled %s job %s (%s)." if done else "%s job %s had already finished (%s).",
            hook.provider,
            job_id,
            why,
        )

    def on_kill(self) -> None:
        # Sync waits only; a deferred wait is canceled by the trigger's on_kill.
        if self._submitted_job_id:
            self._cancel(self._submitted_job_id, "the task was killed")


def _submit_doc(spec: ProviderSpec) -> str:
    """A provider's submit operator's docstring, from its registry line and its dialect: the job
    kinds, the fields each kind's payload must set and a minimal working payload per kind."""
    dialect = get_dialect(spec.name)
    kinds = ", ".join(f"``{kind}``" for kind in spec.job_kinds)
    lines = [
        f"Create a {spec.display_name} job and wait for it (connection ``{spec.default_conn_id}`` "
        "unless ``conn_id`` is given).",
        "",
        f"``job_kind``: {kinds} (the first is the default). ``payload`` is {spec.display_name}'s "
        f"documented create body.",
    ]
    if spec.idempotent_create:
        lines += [
            "",
            "Idempotent: without a request id in the payload one is derived from the task instance, "
            "so a retried task gets its first job back.",
        ]
    required = [
        f"- ``{kind}``: " + ", ".join(f"``{name}``" for name in dialect.create_fields[kind])
        for kind in spec.job_kinds
        if dialect.create_fields.get(kind)
    ]
    if required:
        lines += ["", "Fields each kind's payload must set (``a|b``: either name):", "", *required]
    examples = [
        (kind, dialect.example_payloads[kind]) for kind in spec.job_kinds if kind in dialect.example_payloads
    ]
    if examples:
        lines += ["", f"Minimal payloads ({PAYLOADS_SECTION} shows them with their sources):"]
        for kind, payload in examples:
            lines += ["", f'``job_kind="{kind}"``::', "", f"    {json.dumps(payload)}"]
    return "\n".join(lines) + "\n"


_NAMED = convenience_classes(MediaJobSubmitOperator, SUBMIT_SUFFIX, __name__, _submit_doc)
globals().update(_NAMED)

__all__ = ["MediaJobSubmitOperator", *_NAMED]
