"""Server-rendered pages: the Jinja2 templates in templates/ and the static files in static/."""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

PROJECT_ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates"))


def _filesize(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


templates.env.filters["filesize"] = _filesize


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(PROJECT_ROOT / "static"))
