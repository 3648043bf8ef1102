"""The "double-X" encoding: any SQLite name becomes a legal GraphQL name, reversibly."""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[A-Za-z0-9_]")
_ASCII_CODES = {
    " ": "0",
    "!": "1",
    '"': "2",
    "#": "3",
    "$": "4",
    "%": "5",
    "&": "6",
    "'": "7",
    "(": "8",
    ")": "9",
    "*": "A",
    "+": "B",
    ",": "C",
    "-": "D",
    ".": "E",
    "/": "F",
    ":": "G",
    ";": "H",
    "<": "I",
    "=": "J",
    ">": "K",
    "?": "L",
    "@": "M",
    "[": "N",
    "\\": "O",
    "]": "P",
    "^": "Q",
    "`": "S",
    "{": "T",
    "|": "U",
    "}": "V",
    "~": "W",
}
_HEX_LETTERS = "abcdefghijklmnop"


def _hex_letters(value: int, width: int) -> str:
    digits = f"{value:0{width}x}"
    return "".join(_HEX_LETTERS[int(d, 16)] for d in digits)


def encode_name(name: str) -> str:
    """Encode a SQLite table or column name as a GraphQL name (see docs/graphql.md)."""
    out: list[str] = []
    i = 0
    n = len(name)
    while i < n:
        ch = name[i]
        if name.startswith("XX", i):
            out.append("XXXXXX")
            i += 2
            continue
        if name.startswith("__", i):
            out.append("XXRXXR")
            i += 2
            continue
        if i == 0 and ch.isdigit() and ch.isascii():
            out.append("XXZ" + ch)
        elif _PLAIN.fullmatch(ch):
            out.append(ch)
        elif ch in _ASCII_CODES:
            out.append("XX" + _ASCII_CODES[ch])
        elif ord(ch) <= 0xFFFFF:
            out.append("XX" + _hex_letters(ord(ch), 5))
        else:
            out.append("XXY" + _hex_letters(ord(ch), 6))
        i += 1
    encoded = "".join(out)
    return encoded or "XX0"


def unique_name(wanted: str, taken: set[str]) -> str:
    """`wanted`, or with `_` appended until it is not in `taken`; the result is added to `taken`."""
    name = wanted
    while name in taken:
        name += "_"
    taken.add(name)
    return name


NOT_ENUM_VALUES = frozenset({"true", "false", "null"})  # GraphQL keeps these words from enum values


def enum_value_names(fields: list[str]) -> dict[str, str]:
    """Each field's name as an enum value: itself, except true, false and null (a column may be
    called so), which get a suffix (`true_`, or `true__` if a field is called `true_` too)."""
    taken = set(fields)
    return {name: unique_name(f"{name}_", taken) if name in NOT_ENUM_VALUES else name for name in fields}
