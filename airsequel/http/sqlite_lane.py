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

The hand-off to the lane's threads is lane_threads.py's (a job queue and one `call_soon_threadsafe`),
not anyio's `to_thread.run_sync`, whose cancel scope and limiter cost more than the rest of a quick
read's event-loop work. A call's lane token, tenant entry and share are given back when its thread
has ended (the job's end does that on the loop), whether or not its caller still waits; a call that
never reached a thread (its caller gave up, or the time limit passed while it queued) gives them back
itself.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread

from airsequel.core.errors import TimedOut, TooManyRequests
from airsequel.http.lane_threads import Job, LaneThreads, Tokens

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
    entry: Tokens = field(default_factory=lambda: Tokens(1))  # see SqliteLane._enter


def _timed_out(time_limit: float) -> TimedOut:
    return TimedOut(
        f"The query exceeded the time limit of {time_limit:g} s and was aborted"
        " (its last step, a single heavy operation, is still being stopped)"
    )


class SqliteLane:
    def __init__(self, base: int = 1, slow_after: float = 0.05, max_threads: int = MAX_THREADS) -> None:
        self.base = base
        self.slow_after = slow_after
        self.max_threads = max_threads
        self._tokens = Tokens(base)
        self._threads = LaneThreads(max_threads)
        self._shares: dict[str, _Share] = {}

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
        loop = asyncio.get_running_loop()
        deadline = None if time_limit is None else loop.time() + time_limit + WAIT_GRACE_SECONDS
        entered = await self._enter(held, deadline, time_limit)
        waiter: asyncio.Future[T] = loop.create_future()
        call = _Call(self, held, entered, waiter)
        call.timer = loop.call_later(self.slow_after, call.turn_slow)
        self._threads.submit(Job(functools.partial(function, *args, **kwargs), loop, call.finished))
        if deadline is None or time_limit is None:
            return await waiter
        # Past the deadline the caller stops waiting: the thread is still in one SQLite step; it
        # ends by itself (giving its token and share back then) and its answer is dropped.
        expiry = loop.call_at(deadline, call.expire, time_limit)
        try:
            return await waiter
        finally:
            expiry.cancel()

    async def _enter(self, held: tuple[str, _Share] | None, deadline: float | None, time_limit: float | None) -> bool:
        """Wait for the tenant's entry (see below) and a lane token; True when the entry is held. On
        any failure (the time limit passed while queued, the caller went away) nothing stays held."""
        # A tenant has at most one call queued for, or quick in, the lane's shared threads: its
        # next call enters once this one ends or turns slow (and has a thread of its own). So
        # another tenant's quick query waits behind at most one call per tenant, never behind a
        # whole share of one tenant's slow ones.
        entry = held[1].entry if held is not None else None
        entered = False
        try:
            if entry is not None:
                await entry.take(deadline)
                entered = True
            if not self._tokens.try_take():
                await self._tokens.take(deadline)
        except TimeoutError:
            self._give_back(held, entered)
            raise _timed_out(time_limit or 0) from None
        except BaseException:
            self._give_back(held, entered)
            raise
        return entered

    def _give_back(self, held: tuple[str, _Share] | None, entered: bool) -> None:
        if held is not None:
            if entered:
                held[1].entry.give()
            self._leave(*held, held_slot=True)

    async def run_shared(self, function: Callable[..., T], *args: Any, tenant: str, share: int, **kwargs: Any) -> T:
        """Other blocking work of a route (table pages, exports, uploads) on anyio's worker threads,
        within the same share of `tenant` as its SQL."""
        held = await self._admit(tenant, share)
        try:
            return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
        finally:
            self._leave(*held, held_slot=True)

    async def _admit(self, tenant: str, size: int) -> tuple[str, _Share]:
        share = self._shares.get(tenant)
        if share is None:
            share = self._shares[tenant] = _Share(asyncio.Semaphore(size), size)
        if share.holders >= share.size * (1 + QUEUE_FACTOR):
            raise self._over_share(share)
        share.holders += 1
        if not share.slots.locked():
            await share.slots.acquire()  # a slot is free: returns at once, without wait_for's task
            return tenant, share
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


class _Call:
    """One call on a lane thread, from the event loop's side: what it holds until its thread ends."""

    __slots__ = ("lane", "held", "entered", "waiter", "timer", "grown")

    def __init__(self, lane: SqliteLane, held: tuple[str, _Share] | None, entered: bool, waiter: asyncio.Future[Any]):
        self.lane = lane
        self.held = held
        self.entered = entered
        self.waiter = waiter
        self.timer: asyncio.TimerHandle | None = None
        self.grown = False

    def turn_slow(self) -> None:
        """Still running after slow_after: the call stops counting against the lane (which grows by
        one until it ends) and lets its tenant's next call enter."""
        self.grown = True
        self.lane._tokens.grow()
        self._release_entry()

    def _release_entry(self) -> None:
        if self.entered and self.held is not None:
            self.entered = False
            self.held[1].entry.give()

    def expire(self, time_limit: float) -> None:
        if not self.waiter.done():
            self.waiter.set_exception(_timed_out(time_limit))

    def finished(self, job: Job) -> None:
        """On the loop, once the thread has ended: give everything back, then answer if still awaited."""
        if self.timer is not None:
            self.timer.cancel()
        tokens = self.lane._tokens
        if self.grown:
            tokens.shrink()
        tokens.give()
        self._release_entry()
        if self.held is not None:
            self.lane._leave(*self.held, held_slot=True)
        if self.waiter.done():
            return  # the caller stopped waiting (time limit, or it went away): the answer is dropped
        if job.error is not None:
            self.waiter.set_exception(job.error)
        else:
            self.waiter.set_result(job.result)
