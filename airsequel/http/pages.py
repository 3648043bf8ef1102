"""Server-rendered pages: the Jinja2 templates in templates/ and the static files in static/."""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

PROJECT_ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates"))


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(PROJECT_ROOT / "static"))
