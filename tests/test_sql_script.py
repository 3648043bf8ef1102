from airsequel.core.sql.script import quote_identifier, split_statements


def test_splits_on_semicolons_outside_strings_comments_and_triggers():
    script = """
        CREATE TABLE t(a);
        INSERT INTO t VALUES ('x;y');  -- a comment; with a semicolon
        CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;
        /* ; */ ;;
        SELECT 3
    """
    statements = split_statements(script)
    assert len(statements) == 4
    assert statements[1] == "INSERT INTO t VALUES ('x;y');"
    assert statements[2].endswith("SELECT 2; END;")
    assert statements[3] == "SELECT 3"


def test_only_comments_and_semicolons_is_empty():
    assert split_statements(" ;; -- nothing\n/* here */ ; ") == []


def test_unterminated_string_is_kept_for_sqlite_to_reject():
    assert split_statements("SELECT 'abc") == ["SELECT 'abc"]


def test_quote_identifier_escapes_quotes():
    assert quote_identifier('we"ird name') == '"we""ird name"'
