"""Offline emulator of the GoEnhance, TensorArt TAMS, Vozo and TensorPix job APIs (see docs/emulator.md).

It shares no code with the client side of this package: it is written from the providers' documents.
Its web stack is the ``emulator`` extra (``pip install 'airflow-provider-mediajobs[emulator]'``);
importing :class:`Emulator` without it raises an ImportError that says so.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Emulator

#: distribution -> the modules it provides (any one will do)
DEPENDENCIES = {
    "starlette": ("starlette",),
    "uvicorn": ("uvicorn",),
    "python-multipart": ("python_multipart", "multipart"),
}


def missing_dependencies() -> list[str]:
    """The distributions of the ``emulator`` extra that are not installed."""
    return [dist for dist, modules in DEPENDENCIES.items() if not any(find_spec(m) for m in modules)]


def require_dependencies() -> None:
    """An ImportError naming what to install when the emulator's web stack is missing."""
    missing = missing_dependencies()
    if missing:
        raise ImportError(
            f"The mediajobs emulator needs {', '.join(missing)}, which are not installed. Install the "
            "'emulator' extra: pip install 'airflow-provider-mediajobs[emulator]' "
            "(from a source checkout: pip install '.[emulator]')."
        )


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        require_dependencies()
        from .server import Emulator

        return Emulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Emulator", "missing_dependencies", "require_dependencies"]
