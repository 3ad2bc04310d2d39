"""pytest plugin, registered through the ``pytest11`` entry point ``mediajobs_emulator``: installed
with the package, its fixtures are there in every pytest run (the emulator itself needs the
``emulator`` extra; a fixture says what to install when it is missing).

``mediajobs_emulator_session`` is one emulator for the whole session (``speed=1000``, TAMS rate limit
off); ``mediajobs_emulator`` hands the same emulator to a test after resetting it, so every test starts
with no jobs, faults, scripts or stats. ``mediajobs_emulator_tls_session`` / ``mediajobs_emulator_tls``
are the same over HTTPS: ``emulator.url`` is ``https://...``, trust ``emulator.ca_file``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import Emulator

SPEED = 1000.0


def _emulator(**kwargs: Any) -> Emulator:
    # imported when a test asks for an emulator: loading the plugin needs no web stack
    from . import Emulator

    return Emulator(port=0, seed=0, speed=SPEED, tams_qps=0, **kwargs)


@pytest.fixture(scope="session")
def mediajobs_emulator_session() -> Iterator[Emulator]:
    with _emulator() as emulator:
        yield emulator


def _reset_around(emulator: Emulator) -> Iterator[Emulator]:
    """A session's emulator for one test: no job, fault or setting of another test before or after."""
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def mediajobs_emulator(mediajobs_emulator_session: Emulator) -> Iterator[Emulator]:
    yield from _reset_around(mediajobs_emulator_session)


@pytest.fixture(scope="session")
def mediajobs_emulator_tls_session() -> Iterator[Emulator]:
    with _emulator(tls=True) as emulator:
        yield emulator


@pytest.fixture
def mediajobs_emulator_tls(mediajobs_emulator_tls_session: Emulator) -> Iterator[Emulator]:
    yield from _reset_around(mediajobs_emulator_tls_session)
