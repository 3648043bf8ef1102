"""CSV import on real files: types, shapes, errors, and constant memory for a million rows."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from airsequel.core.csv_import import import_csv, table_name_for
from airsequel.core.errors import Unprocessable


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
from airsequel.core.csv_import import import_csv
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


def test_a_million_rows_stream_in_bounded_memory(tmp_path):
    """Run in a fresh process so that its peak RSS is the import's own."""
    source, target = tmp_path / "big.csv", tmp_path / "big.sqlite"
    output = subprocess.run(
        [sys.executable, "-c", MILLION_ROW_IMPORT, str(source), str(target)],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    count, peak_mib = int(output[0]), int(output[1])
    assert count == 1_000_000
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT count(*), max(id), sum(typeof(score) = 'real') FROM big").fetchone() == (1_000_000, 999_999, 1_000_000)
    # The CSV is ~30 MB; holding its rows as Python objects would take several hundred MB.
    assert peak_mib < 80, f"peak RSS {peak_mib} MiB"
