"""Run-time settings that hold across worker processes.

`LiveSettings` swaps in new values when a server admin changes them, in the process that served
the change. With several worker processes the others must see the change on their very next request:
`SharedLiveSettings` re-reads the stored values whenever the control plane's generation (shared by
every process, see registry/generation.py) moved since it last looked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from airsequel.config import LiveSettings, Settings
from airsequel.core.registry.control_plane import ControlPlane


class SharedLiveSettings(LiveSettings):
    def __init__(self, settings: Settings, control: ControlPlane) -> None:
        super().__init__(settings)
        self._control = control
        self._seen: int | None = None
        self._reload: Callable[[], None] | None = None
        self._reloading = threading.RLock()

    def reload_with(self, reload: Callable[[], None]) -> None:
        """`reload` applies the stored values (ServerSettings.apply_stored); from now on it runs
        whenever the control plane changed."""
        self._seen = self._control.generation
        self._reload = reload

    @property
    def current(self) -> Settings:
        reload = self._reload
        if reload is not None:
            generation = self._control.generation
            if generation != self._seen:
                with self._reloading:
                    if generation != self._seen:
                        self._seen = generation  # first: `reload` reads `current` itself
                        reload()
        return self._current
