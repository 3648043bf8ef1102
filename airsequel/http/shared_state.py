"""The first thing every request does: look whether any process of the server changed the control
plane since this process last looked (one SQLite call, or one PostgreSQL round trip on a thread), and bring this process's caches and run-time
settings up to it, so that a change made through one worker holds on the very next request whichever
worker answers it (registry/generation.py, admin/shared_settings.py). The look is made here, called first
by edge.py; reading the settings again, which waits for the control plane, runs on a thread, never on the
event loop."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from airsequel.core.services import Services


async def catch_up(services: Services) -> None:
    """Called by edge.py before anything else of a request. On PostgreSQL the look is a round trip to
    its server (a remote one, in a cluster), so it runs on a thread too; on SQLite it is one local call."""
    if services.control.check_waits_for_a_server:
        behind = await run_in_threadpool(services.settings_behind)
    else:
        behind = services.settings_behind()
    if behind:
        await run_in_threadpool(services.catch_up_settings)
