"""Provider status vocabularies -> :class:`JobState`, logging each unknown value once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Mapping

from airflow_provider_mediajobs.models import JobState

log = logging.getLogger(__name__)

_seen_unknown: set[tuple[str, Hashable]] = set()
_lock = threading.Lock()


class StateMap:
    """Map a provider's raw status to a normalized state.

    Unknown values map to ``unknown_state`` (non-terminal, so a wait keeps polling until its
    deadline) and are logged once per process and value, never raised: providers add states.
    """

    def __init__(
        self,
        provider: str,
        mapping: Mapping[Hashable, JobState],
        unknown_state: JobState = JobState.QUEUED,
    ) -> None:
        self.provider = provider
        self.mapping = {self._key(k): v for k, v in mapping.items()}
        self.unknown_state = unknown_state

    @staticmethod
    def _key(value: Hashable) -> Hashable:
        return value.strip().lower() if isinstance(value, str) else value

    def read(self, value: object) -> JobState:
        # bool is an int in Python (True == 1); a provider's true is not its status 1.
        key = (
            self._key(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else repr(value)
        )
        state = self.mapping.get(key)
        if state is not None:
            return state
        marker = (self.provider, key if isinstance(key, (str, int)) else repr(key))
        with _lock:
            first = marker not in _seen_unknown
            if len(_seen_unknown) < 1024:  # bounded: a misbehaving API cannot grow it forever
                _seen_unknown.add(marker)
        if first:
            log.warning(
                "%s reported an unknown job status %r; treating it as %s (not finished) and polling on.",
                self.provider,
                value,
                self.unknown_state.value,
            )
        return self.unknown_state
