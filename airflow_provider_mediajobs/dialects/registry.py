"""The one list of media-job providers, and the facts Airflow needs about each without importing it.

Standard library only: Airflow reads provider info and the connection forms while it is still
importing itself, and a DAG file that uses a sensor needs a provider's default connection id;
neither may import a dialect (its errors derive from Airflow's). Provider info, the connection
forms, default connection ids, dialect and hook lookup all derive from :data:`BUILTIN`.

Adding a provider: one module with its :class:`~.base.Dialect` subclass (the API behaviour) and
one :class:`ProviderSpec` line here (a third-party package calls :func:`register` instead); to
emulate it too, one emulator module named by :attr:`ProviderSpec.emulator`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from airflow_provider_mediajobs.dialects.base import Dialect
    from airflow_provider_mediajobs.hooks.base import MediaJobHook

T = TypeVar("T")


@dataclass(frozen=True)
class ProviderSpec:
    """What one provider declares besides its API behaviour (the :class:`~.base.Dialect`)."""

    name: str
    """Registry key: the Airflow connection type and every job's ``provider``."""
    display_name: str
    """Name people see: the connection type list, errors, logs."""
    dialect: str
    """``module:Class`` of its :class:`~.base.Dialect` subclass, imported on first use."""
    hook: str
    """``module.Class`` of its hook (Airflow imports it by this path for the Test button)."""
    docs_url: str
    """The provider's API documentation (Airflow's integration list links it)."""
    default_base_url: str | None = None
    """Used when the connection's host is empty; None when every account has its own endpoint."""
    base_url_hint: str = ""
    """Where to find the endpoint when there is no default (shown in the error)."""
    host_label: str = "Base URL"
    """Label of the connection form's host field."""
    host_placeholder: str = ""
    """Placeholder of the host field."""
    key_label: str = "API key"
    """Label of the password field; errors and hints call the key by this name."""
    key_placeholder: str = ""
    """Placeholder of the password field."""
    fields: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Its own extra form fields ``{key: {label, description, schema}}``, before the ones every
    form has (:data:`~airflow_provider_mediajobs.connection_forms.COMMON_FIELDS`); the dialect's
    ``build_credentials`` gets their values."""
    default_rate_limit: float | None = None
    """Requests/second per connection when the connection sets none; None = no limit."""
    default_poll_interval: float = 10.0
    """Shortest delay between two status reads, in seconds."""
    default_max_poll_interval: float = 60.0
    """Longest delay between two status reads, in seconds."""
    job_kinds: tuple[str, ...] = ("default",)
    """Its job families (create/status endpoints); the first is the default."""
    supports_cancel: bool = False
    """Whether it has an API to cancel a job."""
    idempotent_create: bool = False
    """Whether a create repeated with the same request id returns the same job (TAMS ``requestId``),
    so a create may be retried and a retried task keys its create on the task instance."""
    emulator: str | None = None
    """``module:Class`` of its emulated API (an :class:`airflow_provider_mediajobs.emulator.providers.
    base.Provider` subclass), imported only by the emulator; None: the emulator does not serve it."""

    @property
    def conn_type(self) -> str:
        """The Airflow connection type (its :attr:`name`)."""
        return self.name

    @property
    def class_prefix(self) -> str:
        """What its convenience classes are named after: its hook's name without ``Hook``
        (``GoEnhanceHook``: ``GoEnhanceJobSensor``, ``GoEnhanceSubmitJobOperator``)."""
        return self.hook.rsplit(".", 1)[-1].removesuffix(HOOK_SUFFIX)

    @property
    def operator_names(self) -> tuple[str, str]:
        """The names of its submit operator and sensor (the Media view lists their tasks)."""
        return f"{self.class_prefix}{SUBMIT_SUFFIX}", f"{self.class_prefix}{SENSOR_SUFFIX}"

    @property
    def default_conn_id(self) -> str:
        """The connection id used when none is given."""
        return f"{self.name}_default"


#: What a provider's convenience classes are called after its :attr:`ProviderSpec.class_prefix`.
HOOK_SUFFIX, SENSOR_SUFFIX, SUBMIT_SUFFIX = "Hook", "JobSensor", "SubmitJobOperator"


def _builtin(name: str, prefix: str, **facts: Any) -> ProviderSpec:
    """A provider of this package: its dialect, hook and emulator live where their names say
    (``dialects/<name>.py``: ``<prefix>Dialect``, ``hooks.<prefix>Hook``, ``emulator/providers/<name>.py``)."""
    return ProviderSpec(
        name=name,
        dialect=f"airflow_provider_mediajobs.dialects.{name}:{prefix}Dialect",
        hook=f"airflow_provider_mediajobs.hooks.{prefix}{HOOK_SUFFIX}",
        emulator=f"airflow_provider_mediajobs.emulator.providers.{name}:{prefix}",
        **facts,
    )


BUILTIN: tuple[ProviderSpec, ...] = (
    _builtin(
        "goenhance",
        "GoEnhance",
        display_name="GoEnhance",
        docs_url="https://docs.goenhance.ai/",
        default_base_url="https://api.goenhance.ai",
        host_placeholder="https://api.goenhance.ai (default)",
        key_placeholder="sk-...",
        default_poll_interval=5.0,  # the provider's best-practices page
        job_kinds=("faceswap", "video2video"),
    ),
    _builtin(
        "tensorart",
        "TensorArt",
        display_name="TensorArt TAMS",
        docs_url="https://tams-docs.tensor.art/",
        base_url_hint="e.g. https://ap-east-1.tensorart.cloud, shown on the TAMS console next to the app id",
        host_label="Application endpoint",
        host_placeholder="https://ap-east-1.tensorart.cloud (from the TAMS console)",
        key_label="API key (Bearer mode)",
        key_placeholder="leave empty when signing with an app id + private key",
        fields={
            "app_id": {
                "label": "App ID",
                "description": "The application's id from the TAMS console (signature mode).",
                "schema": {"type": ["string", "null"], "maxLength": 256},
            },
            "private_key": {
                "label": "Private key (PEM)",
                "description": "RSA private key whose public key is uploaded to TAMS; PKCS#1 or PKCS#8, "
                "unencrypted. When set, every request is signed (TAMS-SHA256-RSA) instead of using the "
                "API key.",
                "schema": {"type": ["string", "null"], "format": "password"},
            },
        },
        default_rate_limit=5.0,  # documented: 5 QPS per interface
        default_poll_interval=5.0,
        job_kinds=("job", "template", "workflow"),
        supports_cancel=True,
        idempotent_create=True,
    ),
    _builtin(
        "vozo",
        "Vozo",
        display_name="Vozo",
        docs_url="https://www.vozo.ai/docs/",
        default_base_url="https://api.vozo.ai",
        host_placeholder="https://api.vozo.ai (default)",
        key_placeholder="Vozo API key",
        default_poll_interval=15.0,  # jobs queue 1-120 min and run ~10-20 min
        default_max_poll_interval=120.0,
        job_kinds=("lipsync", "translate", "reusable_lipsync"),
    ),
    _builtin(
        "tensorpix",
        "TensorPix",
        display_name="TensorPix",
        docs_url="https://docs.tensorpix.ai/",
        default_base_url="https://backend.tensorpix.ai",
        host_placeholder="https://backend.tensorpix.ai (default)",
        key_placeholder="key from Settings > For Developers",
        job_kinds=("enhance",),
        supports_cancel=True,
    ),
)

_SPECS: dict[str, ProviderSpec] = {spec.name: spec for spec in BUILTIN}
_DIALECTS: dict[str, Dialect] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def register(spec: ProviderSpec) -> ProviderSpec:
    """Add a provider; its name must be new and usable as an Airflow connection type."""
    if not _NAME.match(spec.name):
        raise ValueError(f"Provider name {spec.name!r} must match {_NAME.pattern}.")
    if spec.name in _SPECS:
        raise ValueError(f"A media-job provider named {spec.name!r} is already registered.")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a provider added with :func:`register` (tests); the built-in ones stay."""
    if any(spec.name == name for spec in BUILTIN):
        raise ValueError(f"{name!r} is a built-in provider.")
    _SPECS.pop(name, None)
    _DIALECTS.pop(name, None)


def specs() -> tuple[ProviderSpec, ...]:
    """Every registered provider, built-in ones first."""
    return tuple(_SPECS.values())


def conn_types_text() -> str:
    """The media-job connection types, for messages: ``goenhance, tensorart, ...``."""
    return ", ".join(_SPECS)


def find_spec(name: str | None) -> ProviderSpec | None:
    """The provider called ``name`` (its connection type), or None."""
    return _SPECS.get(name) if isinstance(name, str) else None


def get_spec(name: str | None, conn_id: str | None = None) -> ProviderSpec:
    """The provider called ``name``; a config error naming the known ones otherwise."""
    spec = find_spec(name)
    if spec is None:
        raise _config_error(
            f"Connection {conn_id!r} is of type {name!r}, which is not a media-job connection type "
            f"(one of {conn_types_text()})."
            if conn_id
            else f"Unknown media-job provider {name!r}; expected one of {conn_types_text()}.",
            conn_id,
        )
    return spec


def get_dialect(name: str) -> Dialect:
    """The provider's dialect (its module is imported on first use, one instance per provider)."""
    dialect = _DIALECTS.get(name)
    if dialect is None:
        spec = get_spec(name)
        module, _, attr = spec.dialect.partition(":")
        dialect = getattr(importlib.import_module(module), attr)(spec)
        _DIALECTS[name] = dialect
    return dialect


def all_dialects() -> dict[str, Dialect]:
    """Every registered provider's dialect by name (imports them all)."""
    return {name: get_dialect(name) for name in _SPECS}


def hook_class(name: str) -> type[MediaJobHook]:
    """The provider's hook class, imported by its dotted path as Airflow does."""
    module, _, attr = get_spec(name).hook.rpartition(".")
    cls: type[MediaJobHook] = getattr(importlib.import_module(module), attr)
    return cls


def convenience_classes(
    base: type[T],
    suffix: str,
    module: str,
    doc: Callable[[ProviderSpec], str],
    of: Iterable[ProviderSpec] = (),
) -> dict[str, type[T]]:
    """One subclass of ``base`` per built-in provider (or per spec in ``of``), named
    ``<class_prefix><suffix>`` and set to its provider, for ``module`` to expose: a provider's
    hook, sensor and submit operator come from its registry line, not from code of their own.
    Their docstrings are written when first read (``doc`` may read the provider's dialect, which
    a DAG file's import must not load)."""
    classes: dict[str, type[T]] = {}
    for spec in tuple(of) or BUILTIN:
        name = f"{spec.class_prefix}{suffix}"
        attrs = {
            "default_provider": spec.name,
            "__module__": module,
            "__qualname__": name,
            "__doc__": _Docstring(doc, spec),
        }
        classes[name] = type(name, (base,), attrs)
    return classes


class _Docstring:
    """A class's ``__doc__`` written on first read (``type.__doc__`` calls a descriptor's ``__get__``)."""

    def __init__(self, write: Callable[[ProviderSpec], str], spec: ProviderSpec) -> None:
        self._write, self._spec = write, spec
        self._text: str | None = None

    def __get__(self, instance: object, owner: type | None = None) -> str:
        if self._text is None:
            self._text = self._write(self._spec)
        return self._text


def missing_connection_error(conn_id: str, provider: str | None = None) -> Exception:
    """The one wording for a connection id that does not exist."""
    spec = find_spec(provider)
    what = (
        f"a {spec.display_name} connection (type {spec.conn_type!r})"
        if spec
        else f"a media-job connection (type {conn_types_text()})"
    )
    text = f"Airflow connection {conn_id!r} does not exist. Create {what} with that id."
    return _config_error(text, conn_id, provider if spec else None)


def provider_of_connection(conn_id: str) -> str:
    """The provider an Airflow connection is for (its type): the one lookup, with the one wording
    for a connection that does not exist or is not of a media-job type."""
    # Airflow imported here, when a task runs: this module is read while Airflow imports itself.
    from airflow.sdk import BaseHook

    from airflow_provider_mediajobs.exceptions import is_missing_connection

    try:
        conn_type = BaseHook.get_connection(conn_id).conn_type
    except Exception as err:
        if is_missing_connection(err):
            raise missing_connection_error(conn_id) from None
        raise
    return get_spec(conn_type, conn_id).name


def _config_error(text: str, conn_id: str | None, provider: str | None = None) -> Any:
    # Imported here, when an error is raised: the exceptions derive from Airflow's, and this module
    # is read while Airflow itself is still being imported (provider discovery).
    from airflow_provider_mediajobs.exceptions import MediaJobConfigError

    return MediaJobConfigError(text, provider=provider, conn_id=conn_id)


__all__ = [
    "BUILTIN",
    "HOOK_SUFFIX",
    "SENSOR_SUFFIX",
    "SUBMIT_SUFFIX",
    "ProviderSpec",
    "all_dialects",
    "conn_types_text",
    "convenience_classes",
    "find_spec",
    "get_dialect",
    "get_spec",
    "hook_class",
    "missing_connection_error",
    "provider_of_connection",
    "register",
    "specs",
    "unregister",
]
