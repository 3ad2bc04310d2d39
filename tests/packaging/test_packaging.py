"""Packaging: the entry point Airflow discovers, and the real ``airflow`` CLI finding the provider
and its four connection types (one subprocess runs the CLI's ``main`` for every command: each
``airflow`` process costs seconds of imports)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from importlib import import_module, metadata
from typing import Any

import pytest

from airflow_provider_mediajobs._compat import AIRFLOW_VERSION
from airflow_provider_mediajobs.dialects.registry import get_spec
from airflow_provider_mediajobs.emulator import Emulator

from support.connections import connection_env, environ_without_airflow
from support.constants import PROVIDERS, SENTINEL

MARK = "@@mediajobs-cli@@ "
PACKAGE = "airflow-provider-mediajobs"


def provider_info() -> dict[str, Any]:
    eps = [
        ep
        for ep in metadata.entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_mediajobs.")
    ]
    assert len(eps) == 1, eps
    assert eps[0].dist is not None and eps[0].dist.name == PACKAGE
    return eps[0].load()()


def test_entry_point_declares_the_four_connection_types_with_importable_hooks() -> None:
    info = provider_info()
    assert info["package-name"] == PACKAGE
    assert info["versions"][0] == metadata.version(PACKAGE)
    types = {t["connection-type"]: t for t in info["connection-types"]}
    assert sorted(types) == sorted(PROVIDERS)
    for conn_type, spec in types.items():
        module, _, name = spec["hook-class-name"].rpartition(".")
        hook = getattr(import_module(module), name)
        assert hook.conn_type == conn_type and hook.provider == conn_type
        assert hook.hook_name == spec["hook-name"]
        assert hook.default_conn_name == f"{conn_type}_default"
        assert hook.conn_name_attr == "conn_id"
        # the form Airflow 3.2+ renders without importing the hook
        assert spec["ui-field-behaviour"]["relabeling"]["password"].startswith("API key")
        assert {"rate_limit", "timeout"} <= set(spec["conn-fields"])
    assert types["tensorart"]["conn-fields"]["private_key"]["schema"]["format"] == "password"


def test_provider_info_passes_airflows_own_schema() -> None:
    from airflow.providers_manager import _create_provider_info_schema_validator

    _create_provider_info_schema_validator().validate(provider_info())


def test_the_airflow_script_is_the_cli_main_the_driver_below_calls() -> None:
    scripts = [ep for ep in metadata.entry_points(group="console_scripts") if ep.name == "airflow"]
    assert [ep.value for ep in scripts] == ["airflow.__main__:main"]


# ---- the real CLI --------------------------------------------------------------------------------
DRIVER = """
import sys
from airflow.__main__ import main
for argv in sys.argv[1:]:
    sys.argv = ["airflow", *argv.split()]
    print(f"@@mediajobs-cli@@ {argv}", flush=True)
    try:
        main()
        print("@@mediajobs-cli@@ exit 0", flush=True)
    except SystemExit as err:
        print(f"@@mediajobs-cli@@ exit {err.code}", flush=True)
"""


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``airflow providers list``, ``providers hooks`` and one ``connections test`` per connection
    type (against an emulator) through ``airflow.__main__.main`` — what the ``airflow`` script
    runs — in one fresh process with its own AIRFLOW_HOME. Returns each command's output."""
    home = tmp_path_factory.mktemp("airflow-home")
    with Emulator(port=0, seed=3, speed=1000, tams_qps=0) as emu:
        env = environ_without_airflow()
        env |= {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        }
        commands = ["providers hooks -o json"]
        for provider in PROVIDERS:
            creds = emu.credentials(provider)
            conn: dict[str, Any] = {"conn_type": provider, "host": emu.base_url(provider)}
            if provider == "tensorart":
                conn["extra"] = {"app_id": creds["app_id"], "private_key": creds["private_key"]}
            else:
                conn["password"] = creds["api_key"]
            env.update(connection_env({f"mj_{provider}": conn}))
            commands.append(f"connections test mj_{provider}")
        wrong = {"conn_type": "tensorpix", "host": emu.base_url("tensorpix"), "password": SENTINEL}
        env.update(connection_env({"mj_wrong": wrong}))
        commands.append("connections test mj_wrong")

        commands.insert(0, "providers list -o json")
        driver = subprocess.run(
            [sys.executable, "-c", DRIVER, *commands],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert driver.returncode == 0, driver.stderr[-2000:]
    outputs: dict[str, str] = {}
    last = ""
    for chunk in driver.stdout.split(MARK)[1:]:
        command, _, rest = chunk.partition("\n")
        if command.startswith("exit "):
            outputs[last] += f"EXIT {command[5:]}"
        else:
            last = command
            outputs[last] = rest
    outputs["stderr"] = driver.stderr
    yield outputs


def _json(text: str) -> Any:
    return json.loads(text[text.index("[") : text.rindex("]") + 1])


def test_airflow_providers_list_shows_the_provider(cli: dict[str, str]) -> None:
    listed = {p["package_name"]: p for p in _json(cli["providers list -o json"])}
    assert PACKAGE in listed
    assert listed[PACKAGE]["version"] == metadata.version(PACKAGE)


def test_airflow_knows_the_four_connection_types(cli: dict[str, str]) -> None:
    hooks = {h["connection_type"]: h for h in _json(cli["providers hooks -o json"])}
    for provider in PROVIDERS:
        assert hooks[provider]["package_name"] == PACKAGE
        spec = get_spec(provider)  # a hook made from its registry line, exported by the hooks package
        assert (
            hooks[provider]["class"]
            == spec.hook
            == f"airflow_provider_mediajobs.hooks.{spec.class_prefix}Hook"
        )
        assert hooks[provider]["conn_id_attribute_name"] == "conn_id"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_airflow_connections_test_uses_the_hook(cli: dict[str, str], provider: str) -> None:
    output = cli[f"connections test mj_{provider}"]
    assert "Connection success!" in output and output.endswith("EXIT 0"), output


def test_airflow_connections_test_reports_a_wrong_key_without_it(cli: dict[str, str]) -> None:
    output = cli["connections test mj_wrong"]
    # Airflow 3.2+ exits 1 on a failed test; 3.1's command printed the failure and exited 0.
    expected_exit = "EXIT 1" if AIRFLOW_VERSION >= (3, 2) else "EXIT 0"
    assert "Connection failed!" in output and "HTTP 401" in output and output.endswith(expected_exit), output
    assert SENTINEL not in output and SENTINEL not in cli["stderr"]
