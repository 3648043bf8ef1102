"""Where SQLite work runs: a few threads, one more for each query that turns out slow, a share per tenant.

CPython's sqlite3 module releases the GIL around every step of a statement and takes it back for
every row; with many threads doing that at once they queue for the GIL and throughput collapses
(measured: 16 concurrent clients got 535 req/s through 40 threads, 992 through one). So SQLite calls
from the hot routes go through a lane of `base` threads. A call still running after `slow_after`
seconds stops counting against the lane (the lane grows by one until it ends), so a runaway query
never holds up the quick ones: those keep their threads.

Two more rules keep one tenant from delaying another:
- a tenant (a user, or an anonymous client address) has at most `share` calls in the lane at once,
  and a call counts until its thread is free (not merely until its caller stopped waiting). More
  calls wait in the tenant's own queue, which takes no thread from anyone: at most `share` ×
  `QUEUE_FACTOR` of them, for at most `QUEUE_WAIT_SECONDS`; beyond either the answer is 429 with
  Retry-After. A tenant's quick queries hardly ever wait (the lane has one thread by default);
  its slow ones wait for each other, never for another tenant's;
- the caller waits no longer than `time_limit` seconds and `WAIT_GRACE_SECONDS` (for the watchdog's
  interrupt to land). SQLite cannot stop inside one VM step (one
  call of `randomblob(60000000)` runs to its end), so a statement may outlive its deadline by that
  step; its caller gets the time-limit error on time regardless, and the thread finishes on its own.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from airsequel.core.errors import TimedOut, TooManyRequests

T = TypeVar("T")
MAX_THREADS = 256  # threads the lane may use at most, all tenants together
QUEUE_FACTOR = 16  # calls a tenant may have waiting, per call it may have running
QUEUE_WAIT_SECONDS = 2.0  # how long a call waits for its tenant's share before 429
WAIT_GRACE_SECONDS = 1.0  # past the time limit, before the caller stops waiting


@dataclass(eq=False)
class _Share:
    slots: asyncio.Semaphore
    size: int
    holders: int = 0  # running and waiting
    entry: asyncio.Lock = field(default_factory=asyncio.Lock)  # see SqliteLane._in_lane


class SqliteLane:
    def __init__(self, base: int = 1, slow_after: float = 0.05, max_threads: int = MAX_THREADS) -> None:
        self.base = base
        self.slow_after = slow_after
        self.max_threads = max_threads
        self._limiter: anyio.CapacityLimiter | None = None
        self._threads: anyio.CapacityLimiter | None = None
        self._shares: dict[str, _Share] = {}
        self._background: set[asyncio.Future[Any]] = set()

    def _lane(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.base)
            self._threads = anyio.CapacityLimiter(self.max_threads)
        return self._limiter

    async def run(
        self,
        function: Callable[..., T],
        *args: Any,
        tenant: str | None = None,
        share: int | None = None,
        time_limit: float | None = None,
        **kwargs: Any,
    ) -> T:
        held = await self._admit(tenant, share) if tenant is not None and share is not None else None
        call = functools.partial(function, *args, **kwargs)
        work = asyncio.ensure_future(self._in_lane(call, held))
        if time_limit is None:
            return await work
        try:
            return await asyncio.wait_for(asyncio.shield(work), time_limit + WAIT_GRACE_SECONDS)
        except TimeoutError:
            # The thread is still in one SQLite step; it ends by itself and its answer is dropped.
            self._background.add(work)
            work.add_done_callback(self._forget)
            raise TimedOut(
                f"The query exceeded the time limit of {time_limit:g} s and was aborted"
                " (its last step, a single heavy operation, is still being stopped)"
            ) from None

    async def run_shared(self, function: Callable[..., T], *args: Any, tenant: str, share: int, **kwargs: Any) -> T:
        """Other blocking work of a route (table pages, exports, uploads) on anyio's worker threads,
        within the same share of `tenant` as its SQL."""
        held = await self._admit(tenant, share)
        try:
            return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
        finally:
            self._leave(*held, held_slot=True)

    def _forget(self, work: asyncio.Future[Any]) -> None:
        self._background.discard(work)
        if not work.cancelled():
            work.exception()  # retrieved: an abandoned call's error is expected, not news

    async def _admit(self, tenant: str, size: int) -> tuple[str, _Share]:
        share = self._shares.get(tenant)
        if share is None:
            share = self._shares[tenant] = _Share(asyncio.Semaphore(size), size)
        if share.holders >= share.size * (1 + QUEUE_FACTOR):
            raise self._over_share(share)
        share.holders += 1
        try:
            await asyncio.wait_for(share.slots.acquire(), QUEUE_WAIT_SECONDS)
        except TimeoutError:
            self._leave(tenant, share, held_slot=False)
            raise self._over_share(share) from None
        except BaseException:
            self._leave(tenant, share, held_slot=False)
            raise
        return tenant, share

    @staticmethod
    def _over_share(share: _Share) -> TooManyRequests:
        return TooManyRequests(
            f"Too many queries at once from this caller: {share.size} may run at a time, and more are waiting;"
            " retry when one has finished",
            retry_after=1,
        )

    def _leave(self, tenant: str, share: _Share, *, held_slot: bool) -> None:
        if held_slot:
            share.slots.release()
        share.holders -= 1
        if share.holders == 0 and self._shares.get(tenant) is share:
            del self._shares[tenant]

    async def _in_lane(self, call: Callable[[], T], held: tuple[str, _Share] | None) -> T:
        lane = self._lane()
        # A tenant has at most one call queued for, or quick in, the lane's shared threads: its
        # next call enters once this one ends or turns slow (and has a thread of its own). So
        # another tenant's quick query waits behind at most one call per tenant, never behind a
        # whole share of one tenant's slow ones.
        entry = held[1].entry if held is not None else None
        entered = False
        try:
            if entry is not None:
                await entry.acquire()
                entered = True
            async with lane:
                grown = False

                def grow() -> None:
                    nonlocal grown, entered
                    grown = True
                    lane.total_tokens += 1
                    if entered and entry is not None:
                        entered = False
                        entry.release()

                timer = asyncio.get_running_loop().call_later(self.slow_after, grow)
                try:
                    return await anyio.to_thread.run_sync(call, limiter=self._threads)
                finally:
                    timer.cancel()
                    if grown:
                        lane.total_tokens -= 1
        finally:
            if entered and entry is not None:
                entry.release()
            if held is not None:
                self._leave(*held, held_slot=True)
