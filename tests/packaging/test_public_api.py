"""The public API is what the public modules declare in ``__all__`` (as httpx checks its own).

A public module lists every public class and function it defines, and only those: nothing it
merely imports (one home per name; a package's ``__init__`` gathers names from its own package).
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import pytest

PACKAGE = "airflow_provider_mediajobs"
PUBLIC = (
    PACKAGE,
    f"{PACKAGE}.exceptions",
    f"{PACKAGE}.models",
    f"{PACKAGE}.hooks",
    f"{PACKAGE}.sensors",
    f"{PACKAGE}.triggers",
    f"{PACKAGE}.operators",
    f"{PACKAGE}.dialects.base",
    f"{PACKAGE}.dialects.inputs",
    f"{PACKAGE}.dialects.wire",
    f"{PACKAGE}.dialects.registry",
)


def defined_here(module: ModuleType) -> set[str]:
    """The public classes and functions ``module`` itself defines."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    }


@pytest.mark.parametrize("name", PUBLIC)
def test_a_public_module_declares_its_api(name: str) -> None:
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    assert isinstance(declared, list), f"{name} has no __all__"
    assert len(declared) == len(set(declared)), f"{name}.__all__ repeats a name"
    missing = [member for member in declared if not hasattr(module, member)]
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
    assert defined_here(module) <= set(declared), f"{name} leaves out {defined_here(module) - set(declared)}"
    is_package = hasattr(module, "__path__")
    for member in declared:
        value = getattr(module, member)
        home = getattr(value, "__module__", None)
        if not (inspect.isclass(value) or inspect.isfunction(value)) or home is None:
            continue
        if is_package:
            assert home.startswith(PACKAGE), f"{name}.{member} comes from {home}"
        else:
            assert home == name, f"{name}.{member} is re-exported from {home}"
