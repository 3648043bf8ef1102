"""A cache of control-plane answers that is valid until the control plane is next written.

Every write to the control plane, by any process of the server, bumps its `generation` (a row of
the control plane, see generation.py); an entry remembers the generation it was read at and is used
only while that is still current, in every worker process. Changes (a revoked token, a new member, a
regenerated id) therefore take effect on the very next request, while unchanged answers cost no
query on the hot path.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from airsequel.core.registry.control_plane import ControlPlane

K = TypeVar("K")
V = TypeVar("V")


class GenerationCache(Generic[K, V]):
    def __init__(self, control: ControlPlane, max_size: int = 10_000) -> None:
        self.control = control
        self.max_size = max_size
        self._entries: OrderedDict[K, tuple[int, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        generation = self.control.generation
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == generation:
                self._entries.move_to_end(key)
                return entry[1]
        value = load()
        with self._lock:
            self._entries[key] = (generation, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)
        return value

    def peek(self, key: K) -> V | None:
        """The cached value if it is current, without loading."""
        with self._lock:
            entry = self._entries.get(key)
            return entry[1] if entry is not None and entry[0] == self.control.generation else None
