"""One exception family for everything that can go wrong talking to a media-job API.

Every error names the provider, the Airflow connection id and the job id it concerns, and says
what to do about it. No message ever contains the API key or a request-signing private key: texts that come
from a provider are passed through :func:`redact` with the connection's secrets before they are
put into an exception.

What a retry cannot fix fails the task without spending its retries: :class:`MediaJobConfigError`,
:class:`MediaJobAuthError`, :class:`MediaJobNotFoundError` and
:class:`MediaJobPermanentFailureError` also derive from Airflow's ``AirflowFailException``.
Everything else (transient trouble, bad answers, other refusals, job failures of unknown kind)
keeps Airflow's retries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from airflow.exceptions import AirflowException

from airflow_provider_mediajobs._compat import AirflowFailException

if TYPE_CHECKING:
    from airflow_provider_mediajobs.models import MediaJob

_REDACTED = "***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each (non-trivial) secret in ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    return text


class MediaJobError(AirflowException):
    """Base class. ``str(err)`` is a complete, user-facing sentence with context and a hint."""

    default_hint = ""

    def __init__(
        self,
        detail: str,
        *,
        provider: str | None = None,
        conn_id: str | None = None,
        job_id: str | None = None,
        hint: str | None = None,
        status_code: int | None = None,
    ) -> None:
        self.detail = detail
        self.provider = provider
        self.conn_id = conn_id
        self.job_id = job_id
        self.hint = self.default_hint if hint is None else hint
        self.http_status = status_code
        super().__init__(self._render())

    @property
    def summary(self) -> str:
        """The message without the ``[provider conn_id job_id]`` prefix."""
        return self._render(with_context=False)

    def _render(self, with_context: bool = True) -> str:
        context = []
        if self.provider:
            context.append(self.provider)
        if self.conn_id:
            context.append(f"conn_id={self.conn_id!r}")
        if self.job_id:
            # an invalid id can be anything (a whole rendered template): never echo more than a line
            shown = self.job_id if len(self.job_id) <= 80 else self.job_id[:77] + "..."
            context.append(f"job_id={shown!r}")
        prefix = f"[{' '.join(context)}] " if context and with_context else ""
        if prefix and self.detail.startswith(prefix):  # re-raised from an event that already says it
            prefix = ""
        hint = self.hint.format(conn_id=self.conn_id or "<conn_id>") if self.hint else ""
        detail = self.detail.rstrip()
        if hint and detail and detail[-1] not in ".!?":
            detail += "."
        return f"{prefix}{detail}" + (f" {hint}" if hint else "")

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Exceptions cross process boundaries (pickle); keep the keyword context.
        return (_rebuild, (type(self), self.detail, self.__dict__.copy()))


def _rebuild(cls: type[MediaJobError], detail: str, state: dict[str, object]) -> MediaJobError:
    err = cls.__new__(cls)
    AirflowException.__init__(err, detail)
    err.__dict__.update(state)
    return err


class MediaJobConfigError(MediaJobError, AirflowFailException, ValueError):
    """Bad input caught before any request: unsafe job id, wrong or missing connection, bad key.

    A retry runs with the same input, so it fails the task at once.
    """


class InvalidJobIdError(MediaJobConfigError):
    default_hint = "Pass the id exactly as the provider returned it when the job was created."


class MediaJobAuthError(MediaJobError, AirflowFailException):
    """HTTP 401/403 or a signature the provider rejected: fails the task without retries."""

    # Each dialect passes its own hint (where its key lives, how it is sent); this is the fallback.
    default_hint = (
        "Check the API key in the password field of connection '{conn_id}' and that the account's "
        "plan includes API access."
    )


class MediaJobNotFoundError(MediaJobError, AirflowFailException):
    """The provider does not know the job id (404 on its status): fails the task without retries."""

    default_hint = (
        "Check the job id, and that connection '{conn_id}' points at the account and endpoint "
        "(host) that created the job."
    )


class MediaJobApiError(MediaJobError):
    """The provider refused the request for a reason that retrying will not fix (4xx, business codes)."""

    default_hint = "Fix the request or the account (credits, plan, quota) and run the task again."


class MediaJobTransientError(MediaJobError):
    """5xx, timeouts and connection errors: worth retrying with backoff."""

    default_hint = "This is usually temporary; it was retried with backoff. Check the provider's status."


class MediaJobRateLimitedError(MediaJobTransientError):
    """HTTP 429. ``retry_after`` holds the provider's ``Retry-After`` in seconds when it sent one."""

    default_hint = (
        "The provider is throttling this key: lower the number of concurrent waits or the "
        "'rate_limit' of connection '{conn_id}'."
    )

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]


class MediaJobBadResponseError(MediaJobError):
    """The provider answered with something that is not the documented shape (HTML, truncated, ...)."""

    default_hint = (
        "Check that the host of connection '{conn_id}' is the provider's API base URL; if it is, "
        "the provider may be degraded (this is retried like a transient error while waiting)."
    )


class MediaJobFailedError(MediaJobError):
    """The job ended in the provider's failed state. ``job`` is the final :class:`MediaJob`."""

    default_hint = "See the provider's reason above; the job's outputs are not available."

    def __init__(self, detail: str, *, job: MediaJob | None = None, **kwargs: object) -> None:
        self.job = job
        if job is not None and job.cost is not None and "; cost " not in detail:
            # a failed job may still be paid for: say what it cost
            detail = f"{detail.rstrip().rstrip('.')}; cost {job.cost_text}"
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]


class MediaJobPermanentFailureError(MediaJobFailedError, AirflowFailException):
    """A job failure the provider marks final (its dialect sets ``MediaJob.permanent``): fails without retries."""

    default_hint = "The provider marks this failure as permanent; fix the input before submitting again."


def failed_job_error(detail: str, *, job: MediaJob | None = None, **kwargs: object) -> MediaJobFailedError:
    """The error of a failed job: permanent when the provider says so (``job.permanent``)."""
    cls = MediaJobPermanentFailureError if job is not None and job.permanent else MediaJobFailedError
    return cls(detail, job=job, **kwargs)


class MediaJobCanceledError(MediaJobFailedError):
    default_hint = "The job was canceled (by a user, the provider, or this task); submit it again if needed."


class MediaJobTimeoutError(MediaJobError):
    default_hint = "Raise the task's timeout if such jobs legitimately take longer."


def is_missing_connection(err: BaseException) -> bool:
    """Whether Airflow's connection lookup raised ``err`` because the connection does not exist.

    Airflow 3.2+ raises ``AirflowNotFoundException`` ("The conn_id `x` isn't defined"); 3.1, outside
    a task or triggerer (a script, a unit test), fails to import the supervisor it would ask next
    once environment variables and secrets backends did not have it.
    """
    if "isn't defined" in str(err) or type(err).__name__ in ("AirflowNotFoundException", "NotFound"):
        return True
    return isinstance(err, ImportError) and "SUPERVISOR_COMMS" in str(err)


# ---- persisting outputs (operators.outputs, engine.download) ----
class OutputExpiredError(MediaJobApiError):
    """The signed URL no longer works (403/410): read the job again for a fresh one."""

    default_hint = (
        "The job was read again for a freshly signed URL, which did not work either; run the task "
        "again soon after the job finishes, before its output URLs expire."
    )


class OutputTooLargeError(MediaJobError):
    """An output is larger than ``max_bytes``; nothing was written."""

    default_hint = "Raise max_bytes if outputs this large are expected."


class OutputTooSlowError(MediaJobError):
    """One download took longer than its whole-download deadline; nothing was written."""

    default_hint = "Raise download_deadline if outputs this large or links this slow are expected."


class OutputExistsError(MediaJobConfigError):
    """The target exists with different content and ``overwrite`` is off."""

    default_hint = "Set overwrite=True, or use another destination or filename_template."


class UnsafeOutputUrlError(MediaJobBadResponseError):
    """The provider returned an output URL this package refuses to fetch."""

    default_hint = (
        "Nothing was downloaded. Output URLs must be plain http(s) links without credentials; "
        "report the job to the provider."
    )


class PrivateOutputHostError(UnsafeOutputUrlError):
    """An output URL's host is (or resolves to) a loopback, private, link-local, reserved,
    multicast or unspecified address: downloads never reach those unless explicitly allowed."""

    default_hint = (
        "Nothing was downloaded. If this host is yours (an emulator, an in-house object store), "
        "set allow_private_hosts: true in the connection's extra, or allow_private_hosts=True on "
        "the outputs operator; otherwise report the job to the provider."
    )


__all__ = [
    "InvalidJobIdError",
    "MediaJobApiError",
    "MediaJobAuthError",
    "MediaJobBadResponseError",
    "MediaJobCanceledError",
    "MediaJobConfigError",
    "MediaJobError",
    "MediaJobFailedError",
    "MediaJobNotFoundError",
    "MediaJobPermanentFailureError",
    "MediaJobRateLimitedError",
    "MediaJobTimeoutError",
    "MediaJobTransientError",
    "OutputExistsError",
    "OutputExpiredError",
    "OutputTooLargeError",
    "OutputTooSlowError",
    "PrivateOutputHostError",
    "UnsafeOutputUrlError",
    "failed_job_error",
    "redact",
]
