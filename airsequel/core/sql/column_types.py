"""Which SQLite type a column of text values fits: INTEGER, REAL or TEXT, without losing information.

Integers: an optional minus, no leading zero, at most 18 digits (exact as INTEGER). Reals have a
point or an exponent; a long run of digits alone would lose precision as a REAL. Empty values fit
every type (they become NULL). "00123" and "+5" stay TEXT: converting them would change them.

A batch of a column's values is checked at once: joined with NUL and matched by one regular
expression, so the check runs in C rather than once per value in Python (a value that holds a NUL
itself is no number: its column is TEXT). The plain shapes (digits; digits with one point) are
recognised with string methods first, which are several times faster than the expression; anything
else goes to it.
"""

from __future__ import annotations

import re
from itertools import repeat
from operator import itemgetter

INTEGER, REAL, TEXT = 0, 1, 2
TYPE_NAMES = {INTEGER: "INTEGER", REAL: "REAL", TEXT: "TEXT"}

_INTEGER = r"-?(?:0|[1-9][0-9]{0,17})"
_REAL = r"-?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?[eE][-+]?[0-9]+)"
_INTEGERS = re.compile(rf"(?:{_INTEGER})?(?:\x00(?:{_INTEGER})?)*")
_NUMBERS = re.compile(rf"(?:{_INTEGER}|{_REAL})?(?:\x00(?:{_INTEGER}|{_REAL})?)*")
_MAX_INTEGER_DIGITS = 18


def narrow_types(batch: list[list[str]], undecided: list[int], types: list[int], seen: list[bool]) -> list[int]:
    """Narrow the types of the still-undecided columns with a batch of rows; return those still undecided.

    `types` starts as INTEGER for every column and only widens (INTEGER, then REAL, then TEXT);
    `seen` records which columns have held a non-empty value.
    """
    still: list[int] = []
    for index in undecided:
        values = list(map(itemgetter(index), batch))
        joined = "\x00".join(values)
        if not seen[index] and len(joined) >= len(values):  # longer than the separators alone
            seen[index] = True
        if joined.count("\x00") != len(values) - 1:
            types[index] = TEXT
            continue
        if types[index] == INTEGER and not all_integers(values, joined):
            types[index] = REAL
        if types[index] == REAL and not all_numbers(values, joined):
            types[index] = TEXT
            continue
        still.append(index)
    return still


def all_integers(values: list[str], joined: str | None = None) -> bool:
    """Whether every value is empty or an integer that INTEGER stores exactly (and prints back the same)."""
    if joined is None:
        joined = "\x00".join(values)
    digits = joined.replace("\x00", "")
    if digits.isascii() and digits.isdigit() and _no_leading_zeros(values, joined) and _short(values):
        return True
    return _INTEGERS.fullmatch(joined) is not None


def all_numbers(values: list[str], joined: str | None = None) -> bool:
    """Whether every value is empty, an integer as above, or a decimal or exponent number."""
    if joined is None:
        joined = "\x00".join(values)
    digits = joined.replace("\x00", "").replace(".", "")
    if (
        digits.isascii()
        and digits.isdigit()
        and max(map(str.count, values, repeat("."))) <= 1
        and "." not in values
        and _no_leading_zeros(values, joined)
        and _short(values)
    ):
        return True
    return _NUMBERS.fullmatch(joined) is not None


def _no_leading_zeros(values: list[str], joined: str) -> bool:
    """Every value that starts with 0 is "0" itself or "0." and more (values of digits and points only)."""
    separated = "\x00" + joined
    return separated.count("\x000") == separated.count("\x000.") + values.count("0")


def _short(values: list[str]) -> bool:
    """No value is longer than an exact integer may be (longer decimals go to the expression)."""
    return max(map(len, values)) <= _MAX_INTEGER_DIGITS
