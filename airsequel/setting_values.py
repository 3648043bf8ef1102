"""Reading and describing the values of the settings table (airsequel/config.py): a flag's, a variable's
or the API's value as the setting's type within its bounds (`parse_value`), a type's name, and the README's
configuration table (`markdown_table`, printed by `python -m airsequel.config`)."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from airsequel.config import GIB, MIB, SETTING_TYPES, SETTINGS, SETTINGS_DEFAULTS, SettingError, SettingSpec


def type_name(name: str) -> str:
    """A setting's type as the README and the API describe it."""
    spec, kind = SETTINGS[name], SETTING_TYPES[name]
    if spec.choices:
        return " \\| ".join(spec.choices)
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "text",
        Path: "path",
        str | None: "text",
        Path | None: "path",
        tuple[str, ...]: "list of text",
    }[kind]


def parse_value(name: str, raw: object, *, origin: str | None = None) -> Any:
    """`raw` (text from a flag or the environment, or JSON from the API) as the setting's type,
    within its bounds and choices; SettingError otherwise."""
    spec, kind = SETTINGS[name], SETTING_TYPES[name]
    label = origin or spec.api_name or name
    optional = kind in (str | None, Path | None)
    if optional and (raw is None or raw == ""):
        return None
    if kind is bool:
        return _boolean(label, raw)
    if isinstance(raw, bool):
        raise SettingError(f"{label} must be {_describe(name)}")
    try:
        value: Any
        if kind is int:
            value = raw if isinstance(raw, int) else int(str(raw), 10)
        elif kind is float:
            value = float(raw) if isinstance(raw, (int, float, str)) else _refuse()
        elif kind == tuple[str, ...]:
            items = raw.split(",") if isinstance(raw, str) else raw
            if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
                _refuse()
            value = tuple(i.strip().lower() for i in items if i.strip())
        elif kind in (Path, Path | None):
            value = Path(raw) if isinstance(raw, (str, Path)) else _refuse()
        else:
            value = raw if isinstance(raw, str) else _refuse()
    except (TypeError, ValueError) as error:
        raise SettingError(f"{label} must be {_describe(name)}, got {raw!r}") from error
    if isinstance(value, float) and value != value:
        raise SettingError(f"{label} must be {_describe(name)}, got {raw!r}")
    if spec.choices and value not in spec.choices:
        raise SettingError(f"{label} must be {_describe(name)}, got {raw!r}")
    if isinstance(value, (int, float)) and not _within(spec, value):
        raise SettingError(f"{label} must be {_describe(name)}, got {raw!r}")
    return value


def _boolean(label: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{label} must be true or false (1/0, yes/no, on/off), got {raw!r}")


def _refuse() -> typing.NoReturn:
    raise TypeError


def _within(spec: SettingSpec, value: float) -> bool:
    return (spec.minimum is None or value >= spec.minimum) and (spec.maximum is None or value <= spec.maximum)


def _describe(name: str) -> str:
    spec = SETTINGS[name]
    if spec.choices:
        return " or ".join(repr(c) for c in spec.choices)
    kind = type_name(name)
    article = "an" if kind[0] in "aeiou" else "a"
    if spec.minimum is not None and spec.maximum is not None:
        return f"{article} {kind} from {spec.minimum:g} to {spec.maximum:g}"
    return f"{article} {kind}"


def markdown_table() -> str:
    """The README's configuration table, from the settings table."""
    lines = [
        "| Setting | Environment variable | Flag | Type | Default | At run time | Meaning |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, spec in SETTINGS.items():
        default = SETTINGS_DEFAULTS[name]
        shown = (
            "(generated)"
            if spec.secret and name == "secret_key"
            else "(empty)"
            if default == ""
            else "off"
            if default is False
            else "(none)"
            if default in (None, ())
            else f"`{_human(default)}`"
            if not isinstance(default, Path)
            else f"`{default}`"
        )
        lines.append(
            f"| `{name}` | `{spec.env}` | {f'`{spec.flag}`' if spec.flag else '—'} | {type_name(name)} | {shown} "
            f"| {f'`{spec.api_name}`' if spec.api_name else '—'} | {spec.help} |"
        )
    return "\n".join(lines) + "\n"


def _human(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= MIB and value % MIB == 0:
        return f"{value // GIB} GiB" if value % GIB == 0 else f"{value // MIB} MiB"
    return str(value)
