"""Issue 27: the package declares what it imports, and the emulator's web stack is an extra.

Every third-party module imported anywhere in ``airflow_provider_mediajobs`` must come from a
distribution listed in ``pyproject.toml``: the core dependencies, or for ``emulator/`` the
``emulator`` extra. The pytest fixtures are a ``pytest11`` plugin, and nothing but pytest imports
them; without the extra, the emulator command says what to install.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import airflow_provider_mediajobs
from airflow_provider_mediajobs import emulator as emulator_package

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(airflow_provider_mediajobs.__file__).parent
# Imported only inside MediaJobHook.get_connection_form_widgets, which Airflow calls only where its
# own form stack (flask-appbuilder, flask-babel, wtforms) is installed.
AIRFLOWS_FORM_STACK = {"flask_appbuilder", "flask_babel", "wtforms"}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"airflow_provider_mediajobs", "__future__"}


def test_every_imported_distribution_is_declared() -> None:
    project = _project()
    core = _names(project["dependencies"])
    extra = _names(project["optional-dependencies"]["emulator"])
    lineage_extra = _names(project["optional-dependencies"]["openlineage"])
    owners = metadata.packages_distributions()
    undeclared = []
    for path in sorted(PACKAGE.rglob("*.py")):
        emulator_module = "emulator" in path.relative_to(PACKAGE).parts
        lineage_module = "lineage" in path.relative_to(PACKAGE).parts  # imports only with the extra
        for module in _imports(path) - AIRFLOWS_FORM_STACK:
            if module == "pytest" and path.name == "testing.py":
                continue  # the pytest plugin: only pytest loads it
            # a module not installed here (async_timeout below 3.11) is named like its distribution
            dists = {canonicalize_name(d) for d in owners.get(module, [module])}
            allowed = core | (extra if emulator_module else set())
            allowed |= lineage_extra if lineage_module else set()
            # airflow's modules come from several apache-airflow-* distributions
            ok = "apache-airflow" in core if module == "airflow" else bool(dists & allowed)
            if not ok:
                undeclared.append(f"{path.relative_to(ROOT)}: {module} ({', '.join(sorted(dists)) or '?'})")
    assert not undeclared, "imported but not declared in pyproject.toml:\n" + "\n".join(undeclared)


def test_emulator_extra_covers_what_the_emulator_checks_for() -> None:
    extra = {Requirement(r).name for r in _project()["optional-dependencies"]["emulator"]}
    assert extra == set(emulator_package.DEPENDENCIES)


def test_emulator_extra_ranges_hold_both_tested_sets() -> None:
    extra = [Requirement(r) for r in _project()["optional-dependencies"]["emulator"]]
    for constraints in sorted((ROOT / "constraints").glob("*.txt")):
        pins = dict(
            line.split("==", 1)
            for line in constraints.read_text().splitlines()
            if "==" in line and not line.startswith("#")
        )
        pins = {canonicalize_name(name): version for name, version in pins.items()}
        for req in extra:
            assert req.specifier.contains(pins[canonicalize_name(req.name)], prereleases=True), (
                constraints.name,
                str(req),
            )


def test_fixtures_are_a_pytest11_plugin_and_import_no_web_stack() -> None:
    eps = [ep for ep in metadata.entry_points(group="pytest11") if ep.name == "mediajobs_emulator"]
    assert [ep.value for ep in eps] == ["airflow_provider_mediajobs.emulator.testing"]
    code = (
        "import sys, airflow_provider_mediajobs.emulator.testing as t; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'airflow_provider_mediajobs.emulator.server') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    # and nothing else in the package imports pytest
    for path in PACKAGE.rglob("*.py"):
        if path.name != "testing.py":
            assert "pytest" not in _imports(path), path


def test_emulator_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_mediajobs.emulator import __main__ as cli

    real = emulator_package.find_spec
    monkeypatch.setattr(emulator_package, "find_spec", lambda name: None if name == "uvicorn" else real(name))
    assert cli.main(["--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "needs uvicorn" in err and "pip install 'airflow-provider-mediajobs[emulator]'" in err
    with pytest.raises(ImportError, match=r"\[emulator\]"):
        emulator_package.Emulator  # noqa: B018


def test_package_description_stands_alone() -> None:
    project = _project()
    readme = ROOT / project["readme"]
    text = readme.read_text()
    # every link absolute: an index page has no repository to resolve a relative one against
    links = re.findall(r"\]\(([^)]+)\)", text) + re.findall(r"<img[^>]+src=\"([^\"]+)\"", text)
    assert links and all(link.startswith("https://") for link in links), links
    assert "pip install" in text
    assert project["urls"] and all(url.startswith("https://") for url in project["urls"].values())
