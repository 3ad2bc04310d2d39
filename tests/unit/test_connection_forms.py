"""The connection forms outside the browser: the Airflow 3.1 widget path and the Test message."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_mediajobs.connection_forms import empty_extra, forms
from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.hooks import GoEnhanceHook, TensorArtHook

from support.connections import set_connections

FORMS = forms()


def test_airflow_31_builds_the_same_widgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """3.1 calls the hook classmethods with WTForms/FAB mocked exactly like this (HookMetaService)."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService as meta

    mods = {name: MagicMock() for name in ("wtforms", "flask_babel", "flask_appbuilder")}
    mods["flask_appbuilder.fieldwidgets"] = MagicMock()
    for name, module in mods.items():
        monkeypatch.setitem(sys.modules, name, module)
    mods["wtforms"].StringField = meta.MockStringField
    mods["wtforms"].PasswordField = meta.MockPasswordField
    mods["flask_babel"].lazy_gettext = lambda text: text

    widgets = TensorArtHook.get_connection_form_widgets()
    dumped = {name: widget.param.dump() for name, widget in widgets.items()}
    for name, spec in FORMS["tensorart"]["conn-fields"].items():
        assert dumped[name]["schema"]["title"] == spec["label"]
        assert dumped[name]["description"] == spec["description"]
    assert dumped["private_key"]["schema"]["format"] == "password"
    assert "format" not in dumped["app_id"]["schema"]
    behaviour = TensorArtHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == FORMS["tensorart"]["ui-field-behaviour"]["hidden-fields"]
    assert behaviour["placeholders"]["host"].startswith("https://")


HOOK_META = """
import json
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
metas = {m.connection_type: m.model_dump() for m in HookMetaService.hook_meta_data()}
print(json.dumps({t: metas.get(t) for t in %r}))
"""
STANDARD = {"schema": "url_schema", "host": "host", "port": "port", "login": "login", "password": "password"}


def test_the_ui_gets_every_form_from_airflow(tmp_path: Path) -> None:
    """What the React UI's /ui/connections/hook_meta serves, computed by this Airflow itself: from
    the hook classmethods on 3.1 (read only from each hook class's own __dict__), from the
    declarative conn-fields on 3.2+. A fresh process: ProvidersManager caches what it found."""
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", HOOK_META % (sorted(FORMS),)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    metas = json.loads(proc.stdout.strip().splitlines()[-1])
    for conn_type, form in FORMS.items():
        meta = metas[conn_type]
        assert meta and meta["standard_fields"] and meta["extra_fields"], (conn_type, meta)
        behaviour = form["ui-field-behaviour"]
        for field, key in STANDARD.items():
            shown = meta["standard_fields"][key] or {}
            assert bool(shown.get("hidden")) == (field in behaviour["hidden-fields"]), (conn_type, field)
            assert shown.get("title") == behaviour["relabeling"].get(field), (conn_type, field)
            assert shown.get("placeholder") == behaviour["placeholders"].get(field), (conn_type, field)
        assert sorted(meta["extra_fields"]) == sorted(form["conn-fields"]), conn_type
        for name, spec in form["conn-fields"].items():
            extra = meta["extra_fields"][name]
            assert extra["schema"]["title"] == spec["label"] and extra["description"] == spec["description"]
            assert extra["schema"].get("format") == spec["schema"].get("format"), (conn_type, name)


def test_test_button_message_does_not_name_the_transient_conn_id(
    monkeypatch: pytest.MonkeyPatch, requests_mock: Any
) -> None:
    """Airflow tests under a random conn id; the message speaks of "this connection" instead."""
    set_connections(
        monkeypatch,
        {"xy3kq9ab": '{"conn_type": "goenhance", "host": "http://127.0.0.1:9", "password": "sk-secret-key"}'},
    )
    requests_mock.get("http://127.0.0.1:9/api/v1/user/tokens", status_code=401, json={"code": 401})
    ok, message = GoEnhanceHook(conn_id="Xy3kQ9aB").test_connection()
    assert not ok
    assert "Xy3kQ9aB" not in message and "conn_id" not in message, message
    assert "sk-secret-key" not in message
    assert "this connection" in message, message


# ---- stored extras carry every form key (Airflow 3.3's edit form keeps only those it finds) ------
ROOT = Path(__file__).resolve().parents[2]
README_CONN = re.compile(r"export (AIRFLOW_CONN_\w+)='(.*?)'", re.DOTALL)


def test_empty_extra_is_every_field_of_the_form() -> None:
    for conn_type, form in FORMS.items():
        assert empty_extra(conn_type) == dict.fromkeys(form["conn-fields"]), conn_type
    assert list(empty_extra("tensorart")) == ["app_id", "private_key", "rate_limit", "timeout"]


def test_readme_connection_examples_carry_every_form_key() -> None:
    examples = README_CONN.findall((ROOT / "README.md").read_text())
    assert len(examples) >= 4
    types = set()
    for name, text in examples:
        conn = json.loads(text)
        types.add(conn["conn_type"])
        assert set(conn.get("extra", {})) >= set(FORMS[conn["conn_type"]]["conn-fields"]), name
    assert types == set(FORMS)


def test_emulator_connections_carry_every_form_key() -> None:
    with Emulator(port=0, origins=False) as emulator:
        check_emulator_connections(emulator)


def check_emulator_connections(emulator: Emulator) -> None:
    for conn_type, form in FORMS.items():
        for signature in (True, False):
            conn = emulator.connection(conn_type, signature=signature, rate_limit=0)
            assert set(conn["extra"]) == set(form["conn-fields"]), (conn_type, signature)
            assert conn["extra"]["rate_limit"] == 0
    tams = emulator.connection("tensorart")
    assert tams["password"] is None and tams["extra"]["private_key"].startswith("-----BEGIN")
    assert emulator.connection("tensorart", signature=False)["extra"]["app_id"] is None
