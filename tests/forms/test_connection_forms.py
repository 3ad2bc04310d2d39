"""The connection forms outside the browser: the Airflow 3.1 widget path and the Test message."""

from __future__ import annotations

import sys
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_mediajobs.connection_forms import FORMS
from airflow_provider_mediajobs.hooks.goenhance import GoEnhanceHook
from airflow_provider_mediajobs.hooks.tensorart import TensorArtHook


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


def test_test_button_message_does_not_name_the_transient_conn_id(
    monkeypatch: pytest.MonkeyPatch, requests_mock: Any
) -> None:
    """Airflow tests under a random conn id; the message speaks of "this connection" instead."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_XY3KQ9AB",
        '{"conn_type": "goenhance", "host": "http://127.0.0.1:9", "password": "sk-secret-key"}',
    )
    requests_mock.get("http://127.0.0.1:9/api/v1/user/tokens", status_code=401, json={"code": 401})
    ok, message = GoEnhanceHook(conn_id="Xy3kQ9aB").test_connection()
    assert not ok
    assert "Xy3kQ9aB" not in message and "conn_id" not in message, message
    assert "sk-secret-key" not in message
    assert "this connection" in message, message
