"""The SQLite lane's own hand-off to its threads (lane_threads.py): what anyio's to_thread gave it, kept.

Real threads and real blocking calls: a call's token, tenant entry and share are held until its thread
has ended, whether its caller still waits or not; quick calls reuse one thread; a call over the time
limit answers on time; context variables reach the thread; errors reach the caller."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from airsequel.core.errors import TimedOut, TooManyRequests
from airsequel.http.sqlite_lane import SqliteLane

REQUEST = contextvars.ContextVar("request", default="none")


def test_quick_calls_reuse_one_thread_and_carry_context_and_errors() -> None:
    async def main() -> tuple[set[str], list[str], str]:
        lane = SqliteLane(base=1)
        names: set[str] = set()
        seen: list[str] = []

        def call(n: int) -> int:
            names.add(threading.current_thread().name)
            seen.append(REQUEST.get())
            return n * 2

        for n in range(200):
            REQUEST.set(f"r{n}")
            assert await lane.run(call, n, tenant="user:1", share=4, time_limit=5) == n * 2

        def fails() -> None:
            raise ValueError("from the thread")

        with pytest.raises(ValueError) as raised:
            await lane.run(fails, tenant="user:1", share=4, time_limit=5)
        return names, seen, str(raised.value)

    names, seen, message = asyncio.run(main())
    assert len(names) == 1, names  # one thread for calls that come one after another, not one each
    assert threading.current_thread().name not in names
    assert seen == [f"r{n}" for n in range(200)]
    assert message == "from the thread"


def test_a_call_past_the_time_limit_answers_on_time_and_holds_its_share_until_its_thread_ends() -> None:
    release = threading.Event()

    async def main() -> None:
        lane = SqliteLane(base=1)
        started = time.monotonic()
        with pytest.raises(TimedOut) as raised:
            await lane.run(release.wait, 10, tenant="user:1", share=1, time_limit=0.2)
        took = time.monotonic() - started
        assert 1.1 <= took < 2.0, took  # the limit and the grace second, not the thread's 10 s
        assert "time limit of 0.2 s" in str(raised.value)
        # The thread still runs: the tenant's one slot is still taken, so its next call waits for it
        # (and is refused after the queue wait), while another tenant is served at once on a new thread.
        assert lane._shares["user:1"].holders == 1
        assert await lane.run(lambda: "other", tenant="user:2", share=1, time_limit=5) == "other"
        release.set()
        for _ in range(100):
            if "user:1" not in lane._shares:
                break
            await asyncio.sleep(0.01)
        assert "user:1" not in lane._shares  # given back once the thread ended
        assert lane._tokens.used == 0 and lane._tokens.total == 1
        assert await lane.run(lambda: "again", tenant="user:1", share=1, time_limit=5) == "again"

    asyncio.run(main())


def test_a_slow_call_stops_counting_against_the_lane_and_a_cancelled_caller_gives_nothing_back_early() -> None:
    release = threading.Event()

    async def main() -> None:
        lane = SqliteLane(base=1, slow_after=0.05)
        slow = asyncio.ensure_future(lane.run(release.wait, 10, tenant="user:1", share=2))
        await asyncio.sleep(0.2)
        assert lane._tokens.total == 2  # grown: the slow call has a thread of its own
        started = time.monotonic()
        assert await lane.run(lambda: 1, tenant="user:2", share=2, time_limit=5) == 1
        assert time.monotonic() - started < 0.5
        slow.cancel()  # the caller goes away: the thread still runs, and still counts
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert lane._shares["user:1"].holders == 1 and lane._tokens.used == 1
        release.set()
        for _ in range(100):
            if lane._tokens.used == 0:
                break
            await asyncio.sleep(0.01)
        assert lane._tokens.used == 0 and lane._tokens.total == 1 and not lane._shares

    asyncio.run(main())


def test_a_tenant_over_its_share_and_queue_gets_429_and_nothing_stays_held() -> None:
    release = threading.Event()

    async def main() -> None:
        lane = SqliteLane(base=1)
        running = [asyncio.ensure_future(lane.run(release.wait, 10, tenant="user:1", share=1)) for _ in range(17)]
        await asyncio.sleep(0.1)
        with pytest.raises(TooManyRequests):
            await lane.run(lambda: None, tenant="user:1", share=1, time_limit=5)
        release.set()
        assert await asyncio.gather(*running) == [True] * 17
        assert not lane._shares and lane._tokens.used == 0

    asyncio.run(main())


def test_a_call_whose_time_limit_passes_while_it_queues_never_runs() -> None:
    release = threading.Event()
    ran: list[str] = []

    async def main() -> None:
        lane = SqliteLane(base=1, slow_after=60)  # the first call never turns slow: the second queues
        first = asyncio.ensure_future(lane.run(release.wait, 10))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut):
            await lane.run(lambda: ran.append("late"), tenant="user:2", share=1, time_limit=0.1)
        assert not lane._shares  # the queued call gave its share back itself
        release.set()
        await first
        await asyncio.sleep(0.05)
        assert lane._tokens.used == 0

    asyncio.run(main())
    assert ran == []
