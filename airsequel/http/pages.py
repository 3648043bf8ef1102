"""Server-rendered pages: the Jinja2 templates in templates/ and the static files in static/."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def asset_directory(name: str) -> Path:
    """`templates` or `static`: inside the installed package (the wheel puts them there, see
    setup.py), else at the top of the checkout this package runs from (an editable install)."""
    for candidate in (PACKAGE_ROOT / name, PACKAGE_ROOT.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"The {name}/ directory is missing from the installation at {PACKAGE_ROOT}")


templates = Jinja2Templates(directory=str(asset_directory("templates")))


def _filesize(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"


def _counted(number: object, singular: str, plural: str | None = None) -> str:
    """`{{ n|counted("row") }}`: "1 row", "0 rows", "12,345 rows" (a number with its noun, in the
    noun's right form and with thousands separators). Anything not a number is shown as it is."""
    if not isinstance(number, int) or isinstance(number, bool):
        return f"{number} {plural or singular + 's'}"
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def _thousands(number: object) -> str:
    """`{{ n|thousands }}`: 12345 as "12,345"; anything not a number as it is."""
    return f"{number:,}" if isinstance(number, int) and not isinstance(number, bool) else str(number)


def _path_part(name: object) -> str:
    """`{{ table.name|pathpart }}`: a name as one segment of a URL path, "/" included (urlencode
    leaves "/" as it is, so a table named "a/../b" would open the table "b")."""
    return quote(str(name), safe="")


templates.env.filters["filesize"] = _filesize
templates.env.filters["pathpart"] = _path_part
templates.env.filters["counted"] = _counted
templates.env.filters["thousands"] = _thousands


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(asset_directory("static")))
