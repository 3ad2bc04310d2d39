"""What belongs to one event loop: the shared HTTP clients, the connections' rate limiters and a
TLS context being built. An aiohttp session, a loop timer or a future cannot move to another
loop, and a loop that ends takes its objects with it (a weak key): one store, keyed by kind."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, Any]] = (
    weakref.WeakKeyDictionary()
)


def loop_store() -> dict[Hashable, Any]:
    """The running loop's objects by key (a tuple whose first item names the kind: ``("client", origin)``)."""
    loop = asyncio.get_running_loop()
    store = _stores.get(loop)
    if store is None:
        store = _stores[loop] = {}
    return store


def loop_object(key: Hashable, create: Callable[[], T]) -> T:
    """The running loop's object at ``key``, created on first use."""
    store = loop_store()
    found = store.get(key)
    if found is None:
        found = store[key] = create()
    return found


__all__ = ["loop_object", "loop_store"]
