"""The threads and the token count behind the SQLite lane (sqlite_lane.py), without anyio's per-call machinery.

anyio's `to_thread.run_sync` and `CapacityLimiter` cost a cancel scope, a task lookup and several
callbacks a call: measured at 12-20% of the event loop's time on a 100-row `POST /sql`. The lane needs
less: a FIFO of jobs that at most `limit` threads take, the answer handed back with one
`call_soon_threadsafe`, and a count of tokens that can grow while a call runs.

- `LaneThreads.submit(job)`: the job runs on an idle thread, on a new one while fewer than `limit`
  exist, else waits for the next free one (as anyio's limiter of `limit` tokens made it wait). A thread
  idle for `IDLE_SECONDS` ends. The job runs in a copy of the submitter's context variables, as anyio's did.
- `Tokens`: `take()` returns at once while one is free and nobody waits, else waits in FIFO order
  until its deadline; `grow()`/`shrink()` change the total (a call that turned slow stops counting
  against the lane). One token of its own is a tenant's entry to the lane.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

IDLE_SECONDS = 10.0  # a thread with nothing to do for this long ends (anyio's threads did the same)


class Job:
    """One call for a lane thread. `done(job)` runs on the event loop once the call has ended, with
    `job.result` or `job.error` set."""

    __slots__ = ("call", "context", "loop", "done", "result", "error")

    def __init__(self, call: Callable[[], Any], loop: asyncio.AbstractEventLoop, done: Callable[[Job], None]) -> None:
        self.call = call
        self.context = contextvars.copy_context()
        self.loop = loop
        self.done = done
        self.result: Any = None
        self.error: BaseException | None = None


class LaneThreads:
    def __init__(self, limit: int, name: str = "sqlite-lane") -> None:
        self.limit = limit
        self.name = name
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # idle threads not yet promised to a queued job

    def submit(self, job: Job) -> None:
        self._jobs.put(job)
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                return
            if self._threads >= self.limit:
                return  # the next thread to finish takes it
            self._threads += 1
        threading.Thread(target=self._work, name=f"{self.name}-{self._threads}", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # more idle threads than queued jobs: this one may go
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # a job was promised to an idle thread: wait for it
            try:
                job.result = job.context.run(job.call)
            except BaseException as error:  # handed to the caller, whatever it is
                job.error = error
            # Idle before the answer is handed back: the loop's next call may come at once, and
            # must find this thread rather than start another.
            with self._lock:
                self._idle += 1
            try:
                job.loop.call_soon_threadsafe(job.done, job)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                pass
            del job


class Tokens:
    """A count of tokens for the event loop's side (not thread-safe: used on the loop only)."""

    __slots__ = ("total", "used", "_waiters")

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_take(self) -> bool:
        if self.used < self.total and not self._waiters:
            self.used += 1
            return True
        return False

    async def take(self, deadline: float | None = None) -> None:
        """A token, waiting in FIFO order; past `deadline` (the loop's clock), TimeoutError."""
        if self.try_take():
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        # A timer handle, not asyncio.timeout: that costs a dozen Python calls for each wait.
        timer = loop.call_at(deadline, self._expire, waiter) if deadline is not None else None
        try:
            await waiter
        except BaseException:
            if not waiter.done() or waiter.cancelled():
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            elif waiter.exception() is None:
                self.give()  # handed a token just as the wait was given up: pass it on
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            self._waiters.remove(waiter)
            waiter.set_exception(TimeoutError())

    def give(self) -> None:
        self.used -= 1
        self._wake()

    def grow(self) -> None:
        self.total += 1
        self._wake()

    def shrink(self) -> None:
        self.total -= 1

    def _wake(self) -> None:
        while self._waiters and self.used < self.total:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.used += 1
                waiter.set_result(None)
