"""Constraints read from a table's CREATE TABLE text: CHECK predicates and constraint names.

SQLite's PRAGMAs report keys, unique indexes and foreign keys, but neither CHECK constraints nor the
names given as `CONSTRAINT name ...`: only the statement kept in `sqlite_master.sql` has them. That
statement comes from the user's file, so it is read defensively with sqlglot (SQLite dialect):

- it is only parsed, never executed or rewritten;
- statements over MAX_STATEMENT_CHARS characters or nested deeper than MAX_NESTING parentheses are
  not parsed at all (sqlglot's parser is recursive);
- anything sqlglot cannot read whole (exotic clauses, hostile text) gives None, and the caller keeps
  what the PRAGMAs say.

The table options after the column list (`WITHOUT ROWID`, `STRICT`) hold no constraints and sqlglot
does not know them all, so they are checked to be just that and the text before them is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel
from sqlglot.tokens import Token, TokenType

MAX_STATEMENT_CHARS = 100_000
MAX_NESTING = 32  # sqlglot needs about 20 Python frames per parenthesis; SQLite allows deeper

_DIALECT = Dialect.get_or_raise("sqlite")
_NOT_KEYWORDS = (TokenType.IDENTIFIER, TokenType.STRING)  # "check" and 'check' are a name and a string
_DEPTH_CHANGE = {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}


@dataclass(frozen=True)
class Check:
    name: str | None  # None when the statement gives none
    columns: list[str]  # the table's columns the predicate mentions, in order of first mention
    predicate: str  # as written between CHECK's parentheses


@dataclass(frozen=True)
class NamedKey:
    """A PRIMARY KEY, UNIQUE or FOREIGN KEY constraint the statement names."""

    name: str
    columns: tuple[str, ...]
    target_table: str | None = None  # foreign keys only


@dataclass
class TableConstraints:
    checks: list[Check] = field(default_factory=list)
    primary_key_name: str | None = None
    uniques: list[NamedKey] = field(default_factory=list)
    foreign_keys: list[NamedKey] = field(default_factory=list)

    def unique_name(self, columns: list[str]) -> str | None:
        """The name of the UNIQUE constraint on exactly `columns` (in order), if the statement gives one."""
        wanted = _fold_all(columns)
        return next((key.name for key in self.uniques if _fold_all(key.columns) == wanted), None)

    def foreign_key_name(self, columns: list[str], target_table: str) -> str | None:
        """The name of the foreign key from `columns` to `target_table`, if exactly one such key is named."""
        wanted = (_fold_all(columns), _fold(target_table))
        names = {
            key.name for key in self.foreign_keys if (_fold_all(key.columns), _fold(key.target_table or "")) == wanted
        }
        return names.pop() if len(names) == 1 else None


def read_constraints(sql: str | None) -> TableConstraints | None:
    """The CHECK constraints and constraint names of a CREATE TABLE statement.

    None when `sql` is not a CREATE TABLE statement that sqlglot reads whole within the bounds above;
    never raises for any text.
    """
    if not sql or len(sql) > MAX_STATEMENT_CHARS:
        return None
    try:
        tokens = _DIALECT.tokenize(sql)
        end = _column_list_end(tokens)
        if end is None or not all(_is_table_option(token) for token in tokens[end + 1 :]):
            return None
        tokens = tokens[: end + 1]
        text = sql[: tokens[-1].end + 1]
        statements = _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE).parse(tokens, text)
        if len(statements) != 1:
            return None
        create = statements[0]
        if not isinstance(create, exp.Create) or not isinstance(create.this, exp.Schema):
            return None
        return _read_schema(create.this, _check_texts(text, tokens))
    except Exception:  # ParseError, TokenError, RecursionError, or a surprise in an AST shape
        return None


def _column_list_end(tokens: list[Token]) -> int | None:
    """The index of the `)` closing the column list of `CREATE [TEMP] TABLE name (...)`, or None."""
    i = 1
    if not tokens or tokens[0].token_type != TokenType.CREATE:
        return None
    while i < len(tokens) and tokens[i].text.upper() in ("TEMP", "TEMPORARY"):
        i += 1
    if i >= len(tokens) or tokens[i].token_type != TokenType.TABLE:
        return None
    depth = 0
    for j in range(i + 1, len(tokens)):
        kind = tokens[j].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
            if depth > MAX_NESTING:
                return None
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                return j
    return None


def _is_table_option(token: Token) -> bool:
    """A token of `WITHOUT ROWID`, `STRICT` or the commas between them."""
    return token.token_type == TokenType.COMMA or (
        token.token_type not in _NOT_KEYWORDS and token.text.upper() in ("WITHOUT", "ROWID", "STRICT")
    )


def _check_texts(text: str, tokens: list[Token]) -> list[str]:
    """The text between the parentheses of each CHECK, in order of appearance.

    CHECK is a reserved word in SQLite, so an unquoted CHECK followed by `(` starts a CHECK constraint.
    """
    texts = []
    for i, token in enumerate(tokens[:-1]):
        if token.text.upper() == "CHECK" and token.token_type not in _NOT_KEYWORDS:
            if tokens[i + 1].token_type != TokenType.L_PAREN:
                continue
            depth = 0
            for close in tokens[i + 1 :]:
                depth += _DEPTH_CHANGE.get(close.token_type, 0)
                if depth == 0:
                    texts.append(text[tokens[i + 1].end + 1 : close.start].strip())
                    break
    return texts


def _read_schema(schema: exp.Schema, check_texts: list[str]) -> TableConstraints:
    columns = {_fold(c.name): c.name for c in schema.expressions if isinstance(c, exp.ColumnDef)}
    found = TableConstraints()
    checks: list[tuple[str | None, exp.CheckColumnConstraint]] = []

    def add(name: str | None, kind: exp.Expression, own_columns: tuple[str, ...] | None) -> None:
        if isinstance(kind, exp.CheckColumnConstraint):
            checks.append((name, kind))
        elif name is None or own_columns is None:
            return
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint | exp.PrimaryKey):
            found.primary_key_name = name
        elif isinstance(kind, exp.UniqueColumnConstraint):
            found.uniques.append(NamedKey(name, own_columns))
        elif isinstance(kind, exp.Reference):
            found.foreign_keys.append(NamedKey(name, own_columns, _reference_table(kind)))
        elif isinstance(kind, exp.ForeignKey) and isinstance(kind.args.get("reference"), exp.Reference):
            found.foreign_keys.append(NamedKey(name, own_columns, _reference_table(kind.args["reference"])))

    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            for constraint in item.args.get("constraints") or []:
                if isinstance(constraint, exp.ColumnConstraint):
                    add(_name(constraint.this), constraint.args["kind"], (item.name,))
        elif isinstance(item, exp.Constraint):
            for kind in item.expressions:
                add(_name(item.this), kind, _key_columns(kind))
        else:
            add(None, item, _key_columns(item))

    generated = len(check_texts) != len(checks)  # a CHECK the token scan missed: use sqlglot's text
    for index, (name, check) in enumerate(checks):
        predicate = check.this.sql(dialect="sqlite") if generated else check_texts[index]
        found.checks.append(Check(name, _mentioned_columns(check.this, columns), predicate))
    return found


def _name(node: exp.Expression | None) -> str | None:
    return node.name if isinstance(node, exp.Identifier) and node.name else None


def _key_columns(kind: exp.Expression) -> tuple[str, ...] | None:
    """The columns of a table-level PRIMARY KEY, UNIQUE or FOREIGN KEY, or None when not plain names."""
    items = kind.this.expressions if isinstance(kind.this, exp.Schema) else kind.expressions
    names = [item.name for item in items if isinstance(item, exp.Identifier | exp.Column)]
    return tuple(names) if names and len(names) == len(items) else None


def _reference_table(reference: exp.Reference) -> str | None:
    target = reference.this
    table = target.this if isinstance(target, exp.Schema) else target
    return table.name if isinstance(table, exp.Table) else None


def _mentioned_columns(predicate: exp.Expression, columns: dict[str, str]) -> list[str]:
    """The table's columns named in `predicate`; a double-quoted name that is no column is a string to SQLite."""
    mentioned: list[str] = []
    for column in predicate.find_all(exp.Column, bfs=False):
        name = columns.get(_fold(column.name))
        if name is not None and name not in mentioned:
            mentioned.append(name)
    return mentioned


def _fold(name: str) -> str:
    """SQLite compares identifiers case-insensitively for ASCII letters only."""
    return name.translate(_ASCII_LOWER)


def _fold_all(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_fold(name) for name in names)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
