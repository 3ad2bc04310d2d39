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
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_mediajobs.deferrable import resolve_deferrable
from airflow_provider_mediajobs.engine.wait import MAX_BACKOFF, OUTAGE_TOLERANCE, run_sync
from airflow_provider_mediajobs.exceptions import (
    MediaJobBadResponseError,
    MediaJobError,
    MediaJobNotFoundError,
    MediaJobTransientError,
)
from airflow_provider_mediajobs.models import JobState, MediaJob
from airflow_provider_mediajobs.operators.filenames import DEFAULT_TEMPLATE
from airflow_provider_mediajobs.operators.persist import (
    DEFAULT_ATTEMPTS_PER_FILE,
    DEFAULT_DOWNLOAD_DEADLINE,
    DEFAULT_DOWNLOAD_TIMEOUT,
    outlets_with_asset,
)
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


class MediaJobSubmitOperator(TaskWaitMixin, BaseOperator):
    """Submit a job to a media-job provider and wait for it.

    :param payload: the provider's documented create body (templated).
    :param conn_id: Airflow connection id; the provider subclasses default it.
    :param job_kind: which create endpoint, one of the provider's ``job_kinds`` (the named
        subclasses list theirs); the first one by default.
    :param wait_for_completion: wait for the job (default) or return its id at once.
    :param deferrable: wait in the triggerer instead of holding a worker slot; default True
        unless the admin set ``[operators] default_deferrable``.
    :param timeout: how long to wait (seconds or timedelta; ``execution_timeout`` also applies).
    :param outage_tolerance: how long (seconds or timedelta) failing status reads in a row are
        ridden out before the wait fails (30 minutes by default, never past ``timeout``).
    :param max_backoff: longest pause between two failing status reads, seconds.
    :param max_consecutive_failures: optional extra bound on failing reads in a row (None: time only).
    :param cancel_on_timeout: cancel the remote job when the wait times out (providers that can cancel).
    :param request_id: idempotency key of a provider with idempotent creates;
        derived from the task instance when not given.
    :param destination: persist the finished job's outputs here, in this task (templated; a
        local folder, ``file://``, ``s3://conn@bucket/key``, ... as for ``MediaJobOutputsOperator``).
        ``filename_template``, ``max_bytes``, ``overwrite``, ``asset``, ``download_timeout``,
        ``download_deadline``, ``allow_private_hosts``, ``attempts_per_file`` and ``progress_interval`` mean what they mean there; any Asset in
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
    default_provider: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        payload: Mapping[str, Any],
        conn_id: str | None = None,
        job_kind: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float | None = None,
        max_poll_interval: float | None = None,
        outage_tolerance: float | timedelta = OUTAGE_TOLERANCE,
        max_backoff: float | timedelta = MAX_BACKOFF,
        max_consecutive_failures: int | None = None,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        cancel_on_timeout: bool = True,
        request_id: str | None = None,
        destination: Any = None,
        filename_template: str = DEFAULT_TEMPLATE,
        max_bytes: int | Mapping[str, int] | None = None,
        overwrite: bool = False,
        asset: bool = False,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
        download_deadline: float | None = DEFAULT_DOWNLOAD_DEADLINE,
        allow_private_hosts: bool | None = None,
        attempts_per_file: int = DEFAULT_ATTEMPTS_PER_FILE,
        progress_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**outlets_with_asset(kwargs, destination, asset))
        if destination is not None and not wait_for_completion:
            raise ValueError(
                "destination needs wait_for_completion=True: outputs exist once the job is done."
            )
        self.payload = payload
        self.wait_for_completion = wait_for_completion
        self.timeout = timeout
        self.cancel_on_timeout = cancel_on_timeout
        self.request_id = request_id
        self._submitted_job_id: str | None = None
        self._init_wait(
            conn_id=conn_id,
            provider=self.default_provider,
            job_kind=job_kind,
            deferrable=resolve_deferrable(deferrable),
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            outage_tolerance=outage_tolerance,
            max_backoff=max_backoff,
            max_consecutive_failures=max_consecutive_failures,
        )
        self._init_persist(
            destination=destination,
            filename_template=filename_template,
            max_bytes=max_bytes,
            overwrite=overwrite,
            download_timeout=download_timeout,
            download_deadline=download_deadline,
            allow_private_hosts=allow_private_hosts,
            attempts_per_file=attempts_per_file,
            progress_interval=progress_interval,
        )

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


class GoEnhanceSubmitJobOperator(MediaJobSubmitOperator):
    """Create a GoEnhance job: ``job_kind`` ``faceswap`` (the default) or ``video2video``.

    ``payload`` is GoEnhance's create body (``type`` may be left out). Minimal payloads, from the
    README's "Payloads" section (where their sources are given):

    ``job_kind="faceswap"``::

        {"args": {"reference_img": "https://example.com/target.jpg", "source_img": "https://example.com/face.jpg"}, "type": "mx-image-face-swap"}

    ``job_kind="video2video"``::

        {"args": {"model": 2000, "duration": 5, "reference_video_url": "https://example.com/in.mp4", "seed": -1, "resolution": "540p"}, "type": "mx-v2v"}
    """

    default_provider = "goenhance"


class TensorArtSubmitJobOperator(MediaJobSubmitOperator):
    """Create a TensorArt TAMS job: ``job_kind`` ``job`` (the default), ``template`` or ``workflow``.

    Idempotent: without a ``requestId`` in the payload one is derived from the task instance, so a
    retried task gets its first job back. Minimal payloads, from the README's "Payloads" section
    (where their sources are given):

    ``job_kind="job"``::

        {"stages": [{"type": "INPUT_INITIALIZE", "inputInitialize": {"seed": -1, "count": 1}}, {"type": "DIFFUSION", "diffusion": {"width": 512, "height": 512, "prompts": [{"text": "a lighthouse at dusk"}], "sd_model": "600423083519508503", "steps": 15, "cfg_scale": 7, "clip_skip": 2}}]}

    ``job_kind="template"``::

        {"templateId": "676018193025756628", "fields": {"fieldAttrs": [{"nodeId": "6", "fieldName": "text", "fieldValue": "a lighthouse at dusk"}]}}

    ``job_kind="workflow"``::

        {"params": {"1": {"classType": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "600423083519508503"}}, "2": {"classType": "CLIPTextEncode", "inputs": {"text": "a lighthouse at dusk", "clip": ["1", 1]}}, "3": {"classType": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}}, "4": {"classType": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}}, "5": {"classType": "KSampler", "inputs": {"model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0], "seed": 1, "steps": 15, "cfg": 7, "sampler_name": "euler", "scheduler": "normal", "denoise": 1}}, "6": {"classType": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}}, "7": {"classType": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "out"}}}}
    """

    default_provider = "tensorart"


class VozoSubmitJobOperator(MediaJobSubmitOperator):
    """Create a Vozo job: ``job_kind`` ``lipsync`` (the default), ``translate`` or ``reusable_lipsync``.

    Every input is a public URL (Vozo has no upload API). Minimal payloads, from the README's
    "Payloads" section (where their sources are given):

    ``job_kind="lipsync"``::

        {"reference_file_url": "https://example.com/face.mp4", "reference_file_type": "video", "audio_url": "https://example.com/speech.mp3", "model": "standard_v1"}

    ``job_kind="translate"``::

        {"media_type": "video", "media_url": "https://example.com/talk.mp4", "source_language": "auto", "target_language": "es", "export_type": "all"}

    ``job_kind="reusable_lipsync"``::

        {"model_id": "lsm_8f3a2c", "audio_url": "https://example.com/speech.mp3"}
    """

    default_provider = "vozo"


class TensorPixSubmitJobOperator(MediaJobSubmitOperator):
    """Create a TensorPix enhancement job from a video URL (or an uploaded video's ``input_video``).

    Minimal payload, from the README's "Payloads" section (where its sources are given):

    ``job_kind="enhance"``::

        {"url": "https://example.com/in.mp4", "ml_models": [1], "output_resolution": 1920}
    """

    default_provider = "tensorpix"


__all__ = [
    "GoEnhanceSubmitJobOperator",
    "MediaJobSubmitOperator",
    "TensorArtSubmitJobOperator",
    "TensorPixSubmitJobOperator",
    "VozoSubmitJobOperator",
]
