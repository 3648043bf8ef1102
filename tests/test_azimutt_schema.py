"""GET /api/dbs/:id/azimutt-schema: CHECK constraints and real constraint names read from each
CREATE TABLE statement, and today's generated names for whatever a statement does not tell or
cannot be read."""

from __future__ import annotations

import pytest

from airsequel.core.sql.constraints import MAX_STATEMENT_CHARS, Check, NamedKey, TableConstraints, read_constraints

try:
    from tests.helpers import create_db
except ImportError:
    from tests.conftest import create_db

DEEP = "(" * 40 + "d > 0" + ")" * 40

SCHEMA = f"""
CREATE TABLE customers(
    id INTEGER CONSTRAINT customer_key PRIMARY KEY,
    email TEXT CONSTRAINT email_once UNIQUE,
    phone TEXT UNIQUE,
    age INTEGER CHECK (age >= 18)
);
CREATE TABLE orders(
    id INTEGER,
    line INTEGER,
    customer_id INTEGER CONSTRAINT order_customer REFERENCES customers(id),
    referrer_id INTEGER,
    qty INTEGER NOT NULL CONSTRAINT some_qty CHECK (qty <> 0),
    price REAL,
    code TEXT,
    note TEXT DEFAULT 'CHECK (1)',
    CONSTRAINT order_key PRIMARY KEY (id, line),
    CONSTRAINT code_per_customer UNIQUE (customer_id, code),
    CONSTRAINT positive_qty CHECK (qty > 0),
    CHECK (price IS NULL OR price * "QTY" < 1e6 /* a cap */),
    CONSTRAINT order_referrer FOREIGN KEY (referrer_id) REFERENCES customers(id) ON DELETE SET NULL
) WITHOUT ROWID;
CREATE TABLE plain(
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES customers(id),
    label TEXT UNIQUE,
    CHECK (label <> '')
) STRICT;
CREATE TABLE exotic(
    a INTEGER NOT NULL ON CONFLICT FAIL CONSTRAINT a_positive CHECK (a > 0),
    b TEXT,
    CONSTRAINT exotic_key PRIMARY KEY (a DESC),
    CONSTRAINT b_label FOREIGN KEY (b) REFERENCES plain(label)
);
CREATE TABLE deep(d INTEGER CONSTRAINT deep_check CHECK ({DEEP}));
CREATE VIEW big_orders AS SELECT * FROM orders WHERE qty > 10;
"""


@pytest.fixture
def schema(client):
    db = create_db(client, SCHEMA)
    response = client.get(f"/api/dbs/{db}/azimutt-schema")
    assert response.status_code == 200, response.text
    body = response.json()
    return {table["table"]: table for table in body["tables"]}, body["relations"]


def relation(name, table, columns, target):
    return {
        "name": name,
        "src": {"schema": "main", "table": table, "columns": columns},
        "ref": {"schema": "main", "table": target, "columns": ["id" if target == "customers" else "label"]},
    }


def test_named_and_unnamed_column_constraints(schema):
    tables, _ = schema
    customers = tables["customers"]
    assert customers["checks"] == [{"columns": ["age"], "name": "customers_check_1", "predicate": "age >= 18"}]
    assert customers["primaryKey"] == {"columns": ["id"], "name": "customer_key"}
    assert sorted(customers["uniques"], key=lambda u: u["columns"]) == [
        {"columns": ["email"], "definition": "(email)", "name": "email_once"},
        {"columns": ["phone"], "definition": "(phone)", "name": "customers_phone_unique"},
    ]


def test_table_constraints_of_a_without_rowid_table(schema):
    tables, relations = schema
    orders = tables["orders"]
    assert orders["checks"] == [
        {"columns": ["qty"], "name": "some_qty", "predicate": "qty <> 0"},
        {"columns": ["qty"], "name": "positive_qty", "predicate": "qty > 0"},
        {
            "columns": ["price", "qty"],
            "name": "orders_check_3",
            "predicate": 'price IS NULL OR price * "QTY" < 1e6 /* a cap */',
        },
    ]
    assert orders["primaryKey"] == {"columns": ["id", "line"], "name": "order_key"}
    assert sorted(orders["uniques"], key=lambda u: u["columns"]) == [
        {"columns": ["customer_id", "code"], "definition": "(customer_id, code)", "name": "code_per_customer"},
        # the WITHOUT ROWID table's key is a unique index too; no UNIQUE constraint names it
        {"columns": ["id", "line"], "definition": "(id, line)", "name": "orders_id_line_unique"},
    ]
    assert sorted((r for r in relations if r["src"]["table"] == "orders"), key=lambda r: r["name"]) == [
        relation("order_customer", "orders", ["customer_id"], "customers"),
        relation("order_referrer", "orders", ["referrer_id"], "customers"),
    ]


def test_unnamed_constraints_keep_generated_names(schema):
    tables, relations = schema
    plain = tables["plain"]
    assert plain["checks"] == [{"columns": ["label"], "name": "plain_check_1", "predicate": "label <> ''"}]
    assert plain["primaryKey"] == {"columns": ["id"], "name": "plain_pk"}
    assert plain["uniques"] == [{"columns": ["label"], "definition": "(label)", "name": "plain_label_unique"}]
    assert [r for r in relations if r["src"]["table"] == "plain"] == [
        relation("fk_plain_customer_id", "plain", ["customer_id"], "customers")
    ]


def test_statements_sqlglot_cannot_read_fall_back_to_the_pragmas(schema):
    tables, relations = schema
    exotic = tables["exotic"]  # ON CONFLICT on NOT NULL and DESC in a table PRIMARY KEY: valid SQLite
    assert exotic["checks"] == []
    assert exotic["primaryKey"] == {"columns": ["a"], "name": "exotic_pk"}
    assert [c["name"] for c in exotic["columns"]] == ["a", "b"]
    assert [r for r in relations if r["src"]["table"] == "exotic"] == [
        relation("fk_exotic_b", "exotic", ["b"], "plain")
    ]
    deep = tables["deep"]  # nested deeper than the parser is allowed to go
    assert deep["checks"] == [] and deep["primaryKey"] is None


def test_a_view_has_no_constraints(schema):
    tables, _ = schema
    view = tables["big_orders"]
    assert view["view"] is True
    assert view["checks"] == [] and view["primaryKey"] is None and view["uniques"] == []


# --- the parser on its own -----------------------------------------------------------------------


def test_reads_names_checks_and_columns():
    found = read_constraints(
        'CREATE TEMP TABLE IF NOT EXISTS "t" ([A b] INT CONSTRAINT "ab key" PRIMARY KEY, c TEXT, '
        "u INT CONSTRAINT u_once UNIQUE, CONSTRAINT c_ref FOREIGN KEY (C) REFERENCES other, "
        'CONSTRAINT c_not_nope CHECK (c <> "nope" AND "a B" > 0))'
    )
    assert found == TableConstraints(
        checks=[Check("c_not_nope", ["c", "A b"], 'c <> "nope" AND "a B" > 0')],
        primary_key_name="ab key",
        uniques=[NamedKey("u_once", ("u",))],
        foreign_keys=[NamedKey("c_ref", ("C",), "other")],
    )
    assert found.unique_name(["U"]) == "u_once" and found.unique_name(["c"]) is None
    assert found.foreign_key_name(["c"], "OTHER") == "c_ref" and found.foreign_key_name(["c"], "t") is None


def test_two_differently_named_keys_alike_give_no_name():
    found = read_constraints(
        "CREATE TABLE t (a INT, CONSTRAINT one FOREIGN KEY (a) REFERENCES p, CONSTRAINT two FOREIGN KEY (a) REFERENCES p)"
    )
    assert found is not None and found.foreign_key_name(["a"], "p") is None


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "garbage ((( 'unterminated",
        "CREATE TABLE t (a INT",
        "CREATE TABLE t (a INT))",
        "CREATE VIEW v AS SELECT 1",
        "CREATE VIRTUAL TABLE f USING fts5(a, b)",
        "CREATE INDEX i ON t(a)",
        "DROP TABLE t; CREATE TABLE t (a INT CHECK (a > 0))",
        "CREATE TABLE t (a INT, PRIMARY KEY (a DESC))",
        "CREATE TABLE t (a INT CHECK (" + "NOT " * 2000 + "a))",
        "CREATE TABLE t (a INT CHECK (" + "(" * 100 + "a" + ")" * 100 + "))",
        "CREATE TABLE t (a INT CHECK (a > 0))" + " " * MAX_STATEMENT_CHARS,
    ],
)
def test_unreadable_text_gives_none(text):
    assert read_constraints(text) is None
