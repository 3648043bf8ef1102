"""CSV import on real files: types, shapes, errors, and constant memory for a million rows."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airsequel.core.errors import Unprocessable
from airsequel.core.imports import csv_reading
from airsequel.core.imports.csv_import import import_csv, table_name_for
from airsequel.core.sql.column_types import _INTEGERS, _NUMBERS, all_integers, all_numbers


def load(tmp_path, text: str | bytes):
    source = tmp_path / "in.csv"
    source.write_bytes(text.encode() if isinstance(text, str) else text)
    conn = sqlite3.connect(":memory:")
    count = import_csv(conn, source, "t")
    return conn, count


def test_types_are_inferred_per_column(tmp_path):
    conn, count = load(tmp_path, "i,r,t,blank,mixed\n1,2.5,x,,1\n-7,1e3,y,,a\n")
    assert count == 2
    types = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(t)")}
    assert types == {"i": "INTEGER", "r": "REAL", "t": "TEXT", "blank": "TEXT", "mixed": "TEXT"}
    assert conn.execute("SELECT typeof(i), typeof(r), r FROM t WHERE i = -7").fetchone() == ("integer", "real", 1000.0)


def test_values_that_would_lose_information_stay_text(tmp_path):
    conn, _ = load(tmp_path, "zip,big,plus\n00123,123456789012345678901234,+5\n")
    assert conn.execute("SELECT zip, big, plus FROM t").fetchone() == ("00123", "123456789012345678901234", "+5")


@pytest.mark.parametrize("batch_rows", [3, csv_reading.BATCH_ROWS])
def test_a_type_that_changes_after_the_first_batch_rewrites_every_row_exactly(tmp_path, monkeypatch, batch_rows):
    """Rows written with the first batch's guess are written again: nothing keeps the guessed conversion."""
    monkeypatch.setattr(csv_reading, "BATCH_ROWS", batch_rows)
    late = batch_rows * 2 + 1
    lines = ["n,later_text,later_real,filled_late,plain"]
    for i in range(late + 500):
        lines.append(
            ",".join(
                [
                    str(i),
                    "007" if i == late else str(i),  # integers until a value that must stay text
                    "2.50" if i == late else str(i),  # integers, then a decimal
                    "" if i < late else str(i),  # empty (text so far), then numbers
                    f"x{i}",
                ]
            )
        )
    conn, count = load(tmp_path, "\n".join(lines) + "\n")
    assert count == late + 500
    types = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(t)")}
    assert types == {
        "n": "INTEGER",
        "later_text": "TEXT",
        "later_real": "REAL",
        "filled_late": "INTEGER",
        "plain": "TEXT",
    }
    first = conn.execute(
        "SELECT later_text, typeof(later_text), later_real, typeof(later_real), filled_late FROM t WHERE n = 1"
    )
    assert first.fetchone() == ("1", "text", 1.0, "real", None)
    assert conn.execute("SELECT later_text, later_real, filled_late FROM t WHERE n = ?", (late,)).fetchone() == (
        "007",
        2.5,
        late,
    )
    assert conn.execute("SELECT count(*), sum(n), count(DISTINCT plain) FROM t").fetchone() == (
        count,
        sum(range(count)),
        count,
    )


def test_types_settled_in_the_first_batch_are_written_in_one_pass(tmp_path, monkeypatch):
    """More rows than one multi-row statement holds, plus a remainder: all arrive, in order."""
    monkeypatch.setattr(csv_reading, "BATCH_ROWS", 450)
    rows = 1_000
    conn, count = load(tmp_path, "a,b\n" + "".join(f"{i},{i / 4}\n" for i in range(rows)))
    assert count == rows
    assert conn.execute("SELECT group_concat(a) FROM (SELECT a FROM t ORDER BY rowid)").fetchone()[0] == ",".join(
        map(str, range(rows))
    )
    assert conn.execute("SELECT sum(b = a / 4.0), sum(typeof(b) = 'real') FROM t").fetchone() == (rows, rows)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789.-+eE x\u0663", max_size=22),
            st.text(alphabet="0123456789.", max_size=22),
            st.sampled_from(["", ".", "0", "0.", ".5", "5.", "05", "0.5.5", "-0", "1e5", "00", "1234567890123456789"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_the_quick_type_checks_agree_with_the_expressions(values):
    joined = "\x00".join(values)
    assert all_integers(values) == (_INTEGERS.fullmatch(joined) is not None)
    assert all_numbers(values) == (_NUMBERS.fullmatch(joined) is not None)


def test_header_names_are_made_unique_and_non_empty(tmp_path):
    conn, _ = load(tmp_path, "a,A,,a\n1,2,3,4\n")
    assert [row[1] for row in conn.execute("PRAGMA table_info(t)")] == ["a", "A_2", "column_3", "a_3"]


def test_ragged_row_names_its_line_even_after_embedded_newlines(tmp_path):
    with pytest.raises(Unprocessable, match="CSV line 4: expected 2 fields"):
        load(tmp_path, 'a,b\n1,"two\nlines"\nonly-one\n')


def test_table_name_comes_from_the_file_name():
    assert table_name_for("sales 2024.csv") == "sales 2024"
    assert table_name_for("../../etc/passwd.csv") == "passwd"
    assert table_name_for(None) == "data"


MILLION_ROW_IMPORT = """
import sqlite3, sys
from pathlib import Path
from airsequel.core.imports.csv_import import import_csv
source, target = Path(sys.argv[1]), Path(sys.argv[2])
with open(source, "w") as handle:
    handle.write("id,name,score\\n")
    for i in range(1_000_000):
        handle.write(f"{i},name {i},{i * 0.5}\\n")
conn = sqlite3.connect(target, isolation_level=None)
conn.execute("PRAGMA journal_mode=OFF")
count = import_csv(conn, source, "big")
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(count, peak_kib // 1024)
"""


@pytest.mark.slow
def test_a_million_rows_stream_in_bounded_memory(tmp_path):
    """Run in a fresh process so that its peak RSS is the import's own."""
    source, target = tmp_path / "big.csv", tmp_path / "big.sqlite"
    output = subprocess.run(
        [sys.executable, "-c", MILLION_ROW_IMPORT, str(source), str(target)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    count, peak_mib = int(output[0]), int(output[1])
    assert count == 1_000_000
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT count(*), max(id), sum(typeof(score) = 'real') FROM big").fetchone() == (
        1_000_000,
        999_999,
        1_000_000,
    )
    # The CSV is ~30 MB; holding its rows as Python objects would take several hundred MB.
    assert peak_mib < 80, f"peak RSS {peak_mib} MiB"


def tricky_csv(rows: int) -> str:
    """Quotes, embedded newlines and commas, non-ASCII, a NUL, blank lines, and types that change late."""
    lines = ['name,"quoted, header",n,late,nul']
    for i in range(rows):
        late = "n/a" if i == rows - 3 else str(i)
        nul = "a\x00b" if i == 7 else str(i)
        lines.append(f'"Ünïcode {i}","line one\nline ""two"", {i}",{i},{late},{nul}')
        if i % 1000 == 0:
            lines.append("")
    return "\n".join(lines) + "\n\n"


def import_with(tmp_path, text: str, name: str, **options):
    source = tmp_path / f"{name}.csv"
    source.write_text(text)
    conn = sqlite3.connect(tmp_path / f"{name}.sqlite", isolation_level=None)
    count = import_csv(conn, source, "t", **options)
    return conn, count


def test_the_helper_process_reads_exactly_what_this_process_reads(tmp_path):
    text = tricky_csv(csv_reading.BATCH_ROWS * 2 + 10)
    helper, helper_count = import_with(tmp_path, text, "helper", helper_process_min_bytes=0)
    local, local_count = import_with(tmp_path, text, "local", helper_process_min_bytes=1 << 40)
    assert helper_count == local_count == csv_reading.BATCH_ROWS * 2 + 10
    schema = "SELECT sql FROM sqlite_master"
    assert helper.execute(schema).fetchall() == local.execute(schema).fetchall()
    assert (
        '"late" TEXT' in helper.execute(schema).fetchone()[0] and '"n" INTEGER' in helper.execute(schema).fetchone()[0]
    )
    everything = "SELECT * FROM t ORDER BY rowid"
    assert helper.execute(everything).fetchall() == local.execute(everything).fetchall()
    assert helper.execute('SELECT "quoted, header", late, nul FROM t WHERE n = 7').fetchone() == (
        'line one\nline "two", 7',
        "7",
        "a\x00b",
    )


def test_the_helper_process_reports_a_bad_file_like_this_process(tmp_path):
    rows = "".join(f"{i},{i}\n" for i in range(7000))
    with pytest.raises(Unprocessable, match="CSV line 6002: expected 2 fields like the header, found 3"):
        import_with(
            tmp_path, "a,b\n" + rows[: rows.index("6000,")] + "1,2,3\n" + rows, "ragged", helper_process_min_bytes=0
        )
    source = tmp_path / "latin1.csv"
    source.write_bytes(b"a,b\n" + b"1,caf\xe9\n" * 10)
    with pytest.raises(Unprocessable, match="not valid UTF-8"):
        import_csv(sqlite3.connect(":memory:"), source, "t", helper_process_min_bytes=0)


def helper_children() -> list[int]:
    """This process's children that are CSV helper processes (other tests may leave other children, such as
    Playwright's driver)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"csv_reader_process" in cmdline:
            children.append(int(stat.parent.name))
    return children


def test_a_failed_import_leaves_no_helper_process_behind(tmp_path):
    """Eagerly: the failure (and its traceback, which holds the reader) is still alive when we look."""
    conn, _ = import_with(tmp_path, tricky_csv(100_000), "first", helper_process_min_bytes=0)
    with pytest.raises(sqlite3.OperationalError, match="already exists") as failure:
        import_csv(conn, tmp_path / "first.csv", "t", helper_process_min_bytes=0)
    assert failure.traceback and helper_children() == []
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (100_000,)


def test_without_a_helper_process_the_file_is_read_in_process(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    conn, count = import_with(tmp_path, tricky_csv(100), "alone", helper_process_min_bytes=0)
    assert count == 100 and conn.execute("SELECT max(n) FROM t").fetchone() == (99,)


# --- bounds while reading (issue 16, point 14); the 88 MB header against a real server is in
# tests/test_hostile_csv_memory.py


@pytest.mark.parametrize("helper", [0, 1 << 40])
def test_a_header_wider_than_sqlite_allows_names_the_limit(tmp_path, helper):
    limit = csv_reading.MAX_COLUMNS
    source = tmp_path / "wide.csv"
    source.write_text(",".join(f"c{n}" for n in range(limit + 1)) + "\n" + ",".join(["1"] * (limit + 1)) + "\n")
    with pytest.raises(Unprocessable, match=f"header has {limit + 1} columns: a SQLite table holds at most {limit}"):
        import_csv(sqlite3.connect(":memory:"), source, "t", helper_process_min_bytes=helper)
    source.write_text(",".join(f"c{n}" for n in range(limit)) + "\n" + ",".join(["1"] * limit) + "\n")
    conn = sqlite3.connect(":memory:")
    assert import_csv(conn, source, "t", helper_process_min_bytes=helper) == 1


def test_a_huge_header_is_refused_after_its_first_megabyte(tmp_path):
    source = tmp_path / "wide.csv"
    source.write_text(",".join(f"c{n}" for n in range(1_000_000)) + "\n1\n")  # 6.9 MB, one line
    with pytest.raises(Unprocessable, match="more than 2000 columns .*at most 2000"):
        csv_reading.read_header(source)
    source.write_text('"' + "x" * (csv_reading.MAX_HEADER_CHARS + 10) + '"\n1\n')  # one long name
    with pytest.raises(Unprocessable, match="header is longer than 1048576 characters"):
        csv_reading.read_header(source)


@pytest.mark.parametrize("helper", [0, 1 << 40])
def test_a_row_of_far_more_fields_than_the_header_is_refused_while_read(tmp_path, helper):
    source = tmp_path / "row.csv"
    source.write_text("a,b\n1,2\n" + "x," * 500_000 + "x\n" + "3,4\n" * 10)
    with pytest.raises(Unprocessable, match="CSV line 3: far more fields than the header's 2"):
        import_csv(sqlite3.connect(":memory:"), source, "t", helper_process_min_bytes=helper)
    # spread over the lines of one record (each line continues a quoted field): the same
    source.write_text("a,b\n1,2\n" + '"",' * 2 + '"\n' + ('",x,x,x,"\n' * 20_000) + '",1\n')
    with pytest.raises(Unprocessable, match="far more fields than the header's 2"):
        import_csv(sqlite3.connect(":memory:"), source, "t", helper_process_min_bytes=helper)


def test_quoted_commas_are_never_counted_as_fields(tmp_path):
    many = ", " * 100_000
    text = f'a,b\n"{many}",1\n"{many}\n{many}\nthird ""line"", {many}",2\n3,"{many}"\n'
    conn, count = load(tmp_path, text)
    assert count == 3
    assert [len(a) for (a,) in conn.execute("SELECT a FROM t ORDER BY rowid")] == [200_000, 600_016, 1]


def test_a_row_longer_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reading, "MAX_RECORD_CHARS", 1000)
    with pytest.raises(Unprocessable, match="CSV line 3: a row is longer than 1000 characters"):
        load(tmp_path, "a,b\n1,2\n3," + "y" * 1001 + "\n")
    with pytest.raises(Unprocessable, match="CSV line 6: a row is longer than 1000 characters"):
        load(tmp_path, 'a,b\n1,2\n3,"' + ("y" * 300 + "\n") * 4 + '"\n')
    conn, count = load(tmp_path, "a,b\n1,2\n3," + "y" * 990 + "\n")
    assert count == 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(['"', ",", "a", " ", '""', '",', ',"']), max_size=30))
def test_separators_are_counted_as_the_csv_module_reads_them(pieces):
    import csv

    line = "".join(pieces)
    rows = list(csv.reader([line]))
    if len(rows) != 1 or not rows[0] or line.count('"') % 2:
        return  # an unclosed quote: the record would continue on the next line
    assert csv_reading._separators(line, False, 10**9) == len(rows[0]) - 1
