"""Run-time settings that hold across worker processes.

`LiveSettings` swaps in new values when a server admin changes them, in the process that served
the change. With several worker processes the others must see the change on their very next request:
`SharedLiveSettings.refresh()` re-reads the stored values when the control plane's generation (shared
by every process, see registry/generation.py) moved since it last looked. The HTTP layer calls it once
at the start of every request, after checking the generation (a settings read is far more frequent
than a request); work outside requests (export jobs) sees a change within `BACKGROUND_CHECK_SECONDS`,
since `current` refreshes when the last look is older than that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from airsequel.config import LiveSettings, Settings
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.registry.generation import BACKGROUND_CHECK_SECONDS
from airsequel.core.registry.postgres_engine import ControlPlaneUnreachable


class SharedLiveSettings(LiveSettings):
    def __init__(self, settings: Settings, control: ControlPlane) -> None:
        super().__init__(settings)
        self._control = control
        self._seen: int | None = None
        self._checked_at = 0.0
        self._reload: Callable[[], None] | None = None
        self._reloading = threading.RLock()

    def reload_with(self, reload: Callable[[], None]) -> None:
        """`reload` applies the stored values (ServerSettings.apply_stored); from now on it runs
        whenever the control plane changed."""
        self._seen = self._control.generation
        self._checked_at = time.monotonic()
        self._reload = reload

    def behind(self) -> bool:
        """Whether the control plane's generation moved since the stored values were last applied (a look,
        as `refresh` makes one)."""
        self._checked_at = time.monotonic()
        return self._reload is not None and self._control.generation != self._seen

    def refresh(self) -> None:
        """Apply what another process stored since the last look (one generation check)."""
        reload = self._reload
        if reload is None:
            return
        self._checked_at = time.monotonic()
        generation = self._control.generation
        if generation != self._seen:
            with self._reloading:
                if generation != self._seen:
                    seen, self._seen = self._seen, generation  # first: `reload` reads `current` itself
                    try:
                        reload()
                    except BaseException:
                        self._seen = seen  # read again at the next look
                        raise

    @property
    def current(self) -> Settings:
        if time.monotonic() - self._checked_at > BACKGROUND_CHECK_SECONDS:
            try:
                self.refresh()
            except ControlPlaneUnreachable:
                pass  # the values last read hold until the control plane answers again
        return self._current
