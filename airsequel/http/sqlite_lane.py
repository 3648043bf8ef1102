"""Where SQLite work runs: a few threads, plus one more for each query that turns out slow.

CPython's sqlite3 module releases the GIL around every step of a statement and takes it back for
every row; with many threads doing that at once they queue for the GIL and throughput collapses
(measured: 16 concurrent clients got 535 req/s through 40 threads, 992 through one). So SQLite calls
from the hot routes go through a lane of `base` threads. A call still running after `slow_after`
seconds stops counting against the lane (the lane grows by one until it ends), so a runaway query
never holds up the quick ones: those keep their threads.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class SqliteLane:
    def __init__(self, base: int = 1, slow_after: float = 0.05) -> None:
        self.base = base
        self.slow_after = slow_after
        self._limiter: anyio.CapacityLimiter | None = None

    def _lane(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.base)
        return self._limiter

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        lane = self._lane()
        async with lane:
            grown = False

            def grow() -> None:
                nonlocal grown
                grown = True
                lane.total_tokens += 1

            timer = asyncio.get_running_loop().call_later(self.slow_after, grow)
            try:
                return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
            finally:
                timer.cancel()
                if grown:
                    lane.total_tokens -= 1
