"""Issue 27: the sdist is a testable project. Build it as an index would (``python -m build
--sdist``, an isolated build), unpack it, check it carries what ``make test`` and ``make demo``
need, and run a quick part of the suite from the unpacked tree (its own package, README and tests)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# what the unpacked sdist must hold for make test / make demo / the docs to work from it
REQUIRED = (
    "Makefile",
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    "pyproject.toml",
    "constraints/constraints-3.11.txt",
    "constraints/constraints-airflow-3.1-3.11.txt",
    "scripts/demo.py",
    "scripts/demo_ui.py",
    "example_dags/example_pipeline.py",
    "docs/package-description.md",
    "docs/emulator.md",
    "docs/screenshots/media-view-run.png",
    "tests/conftest.py",
    "tests/support/readme_text.py",
    "tests/seeds/README.md",
    "tests/packaging/test_sdist.py",
    "airflow_provider_mediajobs/py.typed",
    "airflow_provider_mediajobs/emulator/clip.mp4",
)
QUICK = ("tests/integration/test_readme_payloads.py", "tests/packaging/test_dependencies.py")


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (archive,) = dist.glob("airflow_provider_mediajobs-*.tar.gz")
    target = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    (tree,) = target.iterdir()
    return tree


def test_sdist_carries_tests_docs_examples_constraints_and_the_makefile(unpacked: Path) -> None:
    missing = [name for name in REQUIRED if not (unpacked / name).is_file()]
    assert not missing, missing
    assert not list(unpacked.rglob("__pycache__"))


def test_quick_suite_runs_from_the_unpacked_sdist(unpacked: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-c", "import airflow_provider_mediajobs as p; print(p.__file__)"],
        cwd=unpacked,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(unpacked)  # the sdist's own package, not the checkout's
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *QUICK],
        cwd=unpacked,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
