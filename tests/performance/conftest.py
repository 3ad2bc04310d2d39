"""Fixtures for the performance-path tests: the emulator (session scope, reset per test) comes from
the emulator plugin (the package's ``pytest11`` entry point)."""

from __future__ import annotations
