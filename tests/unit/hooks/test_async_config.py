"""A trigger's connection becomes an ApiConfig once per run: inline on the event loop, except where
the dialect parses key material (a TAMS signing key), which is built in a worker thread."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from airflow_provider_mediajobs.dialects.registry import get_dialect

from support.connections import set_connections
from support.constants import PROVIDERS, SENTINEL, TAMS_HOST
from support.credentials import rsa_pem
from support.wire import make_hook


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions a hook hands to ``asyncio.to_thread``."""
    seen: list[str] = []
    real = asyncio.to_thread

    async def recording(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", recording)
    return seen


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_api_key_connection_is_read_on_the_loop(
    provider: str, provider_connections: Any, threads: list[str]
) -> None:
    config = asyncio.run(make_hook(provider).aget_config())
    assert config.credentials.api_key == SENTINEL
    assert "config_from_connection" not in threads


def test_a_signing_key_is_parsed_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch, threads: list[str]
) -> None:
    pem = rsa_pem()
    extra = {"app_id": "app-1", "private_key": pem}
    set_connections(
        monkeypatch,
        {"tams_signed": {"conn_type": "tensorart", "host": TAMS_HOST, "extra": json.dumps(extra)}},
    )
    config = asyncio.run(make_hook("tensorart", "tams_signed").aget_config())
    assert config.credentials.private_key is not None
    assert threads.count("config_from_connection") == 1


def test_only_tams_says_it_loads_a_key() -> None:
    for provider in PROVIDERS:
        dialect = get_dialect(provider)
        assert dialect.credentials_load_a_key({"private_key": "x"}) is (provider == "tensorart")
        assert dialect.credentials_load_a_key({}) is False
