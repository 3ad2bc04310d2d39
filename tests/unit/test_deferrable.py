"""``deferrable`` follows ``[operators] default_deferrable`` when the admin set it, else True."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from configparser import RawConfigParser
from pathlib import Path

import pytest

from airflow_provider_mediajobs import deferrable
from airflow_provider_mediajobs.deferrable import ENV_VAR, default_deferrable
from airflow_provider_mediajobs.operators.submit import TensorPixSubmitJobOperator
from airflow_provider_mediajobs.sensors.media_job import MediaJobSensor, TensorArtJobSensor

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def cfg_file() -> Iterator[Callable[[str], None]]:
    """Put options into the parser's file data, as if read from airflow.cfg; removed afterwards."""
    conf = deferrable._conf()
    added: list[tuple[str, str]] = []
    new_sections: list[str] = []

    def write(text: str) -> None:
        parsed = RawConfigParser()
        parsed.read_string(textwrap.dedent(text))
        for section in parsed.sections():
            if not RawConfigParser.has_section(conf, section):
                RawConfigParser.add_section(conf, section)
                new_sections.append(section)
            for key, value in parsed.items(section, raw=True):
                assert not RawConfigParser.has_option(conf, section, key), "test home has it already"
                RawConfigParser.set(conf, section, key, value)
                added.append((section, key))

    yield write
    for section, key in added:
        RawConfigParser.remove_option(conf, section, key)
    for section in new_sections:
        RawConfigParser.remove_section(conf, section)


def _sensor(**kwargs: object) -> MediaJobSensor:
    return TensorArtJobSensor(task_id="wait", job_id="1", **kwargs)  # type: ignore[arg-type]


def _submit(**kwargs: object) -> TensorPixSubmitJobOperator:
    return TensorPixSubmitJobOperator(task_id="submit", payload={"url": "https://x/v.mp4"}, **kwargs)  # type: ignore[arg-type]


def test_unset_defers_although_airflow_default_is_false() -> None:
    assert deferrable._conf().getboolean("operators", "default_deferrable") is False  # Airflow's default
    assert default_deferrable() is True
    assert _sensor().deferrable is True
    assert _submit().deferrable is True


@pytest.mark.parametrize(
    ("value", "expected"), [("false", False), ("False", False), ("true", True), ("1", True)]
)
def test_env_var_is_honoured(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    assert default_deferrable() is expected
    assert _sensor().deferrable is expected
    assert _submit().deferrable is expected


def test_cmd_variant_is_ignored_as_airflow_ignores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR + "_CMD", "echo False")
    assert deferrable._conf().getboolean("operators", "default_deferrable", fallback=True) is False
    assert default_deferrable() is True


@pytest.mark.parametrize(("value", "expected"), [("False", False), ("true", True)])
def test_value_in_airflow_cfg_is_honoured(
    cfg_file: Callable[[str], None], value: str, expected: bool
) -> None:
    cfg_file(f"[operators]\ndefault_deferrable = {value}\n")
    assert default_deferrable() is expected
    assert _sensor().deferrable is expected


def test_explicit_argument_always_wins(
    monkeypatch: pytest.MonkeyPatch, cfg_file: Callable[[str], None]
) -> None:
    assert _sensor(deferrable=False).deferrable is False
    assert _submit(deferrable=False).deferrable is False
    monkeypatch.setenv(ENV_VAR, "false")
    assert _sensor(deferrable=True).deferrable is True
    assert _submit(deferrable=True).deferrable is True
    monkeypatch.delenv(ENV_VAR)
    cfg_file("[operators]\ndefault_deferrable = False\n")
    assert _sensor(deferrable=True).deferrable is True


def test_default_args_false_is_an_explicit_argument() -> None:
    from airflow.sdk import DAG

    with DAG("d", schedule=None, default_args={"deferrable": False}):
        assert _sensor().deferrable is False


_PROBE = "from airflow_provider_mediajobs.deferrable import default_deferrable; print(default_deferrable())"


def _run(home: Path, code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    environ.update(AIRFLOW_HOME=str(home), **env)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120, check=True
    )
    return (done.stdout.strip().splitlines() or [""])[-1]


def test_stock_install_with_generated_airflow_cfg_still_defers(tmp_path: Path) -> None:
    """Airflow's first run writes airflow.cfg with every default (``default_deferrable = false``)."""
    _run(
        tmp_path, "from airflow.configuration import write_default_airflow_configuration_if_needed as w; w()"
    )
    cfg = (tmp_path / "airflow.cfg").read_text()
    assert "\ndefault_deferrable = false\n" in cfg
    assert _run(tmp_path, _PROBE) == "True"
    assert _run(tmp_path, _PROBE, **{ENV_VAR: "False"}) == "False"
    (tmp_path / "airflow.cfg").write_text(
        cfg.replace("\ndefault_deferrable = false\n", "\ndefault_deferrable = True\n")
    )
    assert _run(tmp_path, _PROBE) == "True"
    # an airflow.cfg the admin wrote (a Helm chart's, a few options) is honoured with either value
    (tmp_path / "airflow.cfg").write_text(
        "[core]\nload_examples = False\n[operators]\ndefault_deferrable = false\n"
    )
    assert _run(tmp_path, _PROBE) == "False"
