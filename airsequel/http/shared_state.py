"""The first thing every request does: look whether any process of the server changed the control
plane since this process last looked (one SQLite call), and bring this process's caches and run-time
settings up to it, so that a change made through one worker holds on the very next request whichever
worker answers it (registry/generation.py, admin/shared_settings.py). The look is made here; reading the
settings again, which waits for the control plane, runs on a thread, never on the event loop."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from airsequel.core.services import Services


class SharedStateMiddleware:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.services.settings_behind():
            await run_in_threadpool(self.services.catch_up_settings)
        await self.app(scope, receive, send)
