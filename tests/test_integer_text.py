"""Whole numbers read from text: exactly the ASCII integers SQLite can bind, nothing else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from airsequel.core.integer_text import SQLITE_MAX_INTEGER, SQLITE_MIN_INTEGER, parse_count, parse_integer


@given(st.integers(min_value=SQLITE_MIN_INTEGER, max_value=SQLITE_MAX_INTEGER))
def test_every_sqlite_integer_reads_back(number):
    assert parse_integer(str(number)) == number
    assert parse_count(str(number)) == (number if number >= 0 else None)


@given(st.text(max_size=30))
def test_any_text_is_a_number_or_none_and_never_raises(text):
    value = parse_integer(text)
    if value is not None:
        assert SQLITE_MIN_INTEGER <= value <= SQLITE_MAX_INTEGER
        assert text.isascii() and int(text) == value
        assert text.lstrip("-").isdigit() and text.count("-") <= 1


def test_look_alikes_and_out_of_range_are_refused():
    for text in ["²", "①", "٣", "--5", "-", "", "+5", " 5", "5 ", "1e3", "0x10", str(2**63), str(-(2**63) - 1), None]:
        assert parse_integer(text) is None, text
    assert parse_integer("-0007") == -7 and parse_count("-1") is None and parse_count("007") == 7
