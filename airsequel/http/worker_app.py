"""The application of one worker process of `airsequel serve --workers N`.

The parent process parses flags and environment once, takes the data directory's lock, does the
start-up work and then lets uvicorn's process manager start N workers, each of which imports this
module and calls `create_worker_app` (an app factory). Everything a worker needs comes from the
parent through one environment variable, `WORKER_ENV`: the settings as the parent resolved them
(flags included, with where each value came from, so that a setting fixed by a flag stays fixed in
every worker), the marker of the server group (DataDirectoryLock.group_marker) and the digest of
the one setup link the parent printed.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette

from airsequel.config import SETTINGS, Settings
from airsequel.setting_values import parse_value

STARTUP_FAILURE = 3  # uvicorn.config.STARTUP_FAILURE

WORKER_ENV = "AIRSEQUEL_WORKER_START"


def worker_environment(settings: Settings, group_marker: str, setup_digest: str | None) -> str:
    """The value of `WORKER_ENV` for the workers of a server started with `settings`."""
    values: dict[str, Any] = {}
    for name in SETTINGS:
        if name == "secret_key":
            continue  # from the environment or the data directory, as the parent read it: not copied around
        value = getattr(settings, name)
        values[name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
    return orjson.dumps(
        {
            "settings": values,
            "sources": dict(settings.sources),
            "group": group_marker,
            "setupDigest": setup_digest,
        }
    ).decode()


def settings_from_environment(text: str) -> tuple[Settings, str, str | None]:
    """(settings, group marker, setup digest) from `WORKER_ENV`'s value."""
    start = orjson.loads(text)
    values = {name: parse_value(name, raw) for name, raw in start["settings"].items() if raw is not None}
    secret = os.environ.get(SETTINGS["secret_key"].env, "")
    if secret:
        values["secret_key"] = secret
    settings = Settings(**values, sources=dict(start["sources"]))
    return settings, start["group"], start["setupDigest"]


def create_worker_app() -> Starlette:
    """uvicorn's factory in each worker process."""
    from airsequel.http.app import create_app

    text = os.environ.get(WORKER_ENV)
    if not text:
        raise SystemExit(
            f"error: {WORKER_ENV} is not set: worker processes are started by `airsequel serve --workers N`"
        )
    settings, group, setup_digest = settings_from_environment(text)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
    )
    try:
        return create_app(settings, worker=(group, setup_digest))
    except Exception as error:  # noqa: BLE001 - any failure to start is the parent's reason to stop
        logging.getLogger("airsequel").error("worker %s cannot start: %s", os.getpid(), error)
        # uvicorn's status for "failed before serving": its process manager then stops instead of
        # starting the same failure again and again.
        sys.exit(STARTUP_FAILURE)
