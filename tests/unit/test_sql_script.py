"""Splitting SQL files as psql reads them: statements, COPY data, meta-commands."""

from __future__ import annotations

import pytest

from snapq._schema.sql_script import (
    CopyData,
    MetaCommand,
    ScriptError,
    Statement,
    split_script,
)


def texts(script: str) -> list[str]:
    return [piece.text for piece in split_script(script) if isinstance(piece, Statement)]


def test_statements_end_at_semicolons_and_remember_their_line() -> None:
    pieces = split_script("CREATE TABLE a (x int);\n\nINSERT INTO a VALUES (1);\nSELECT 1")
    assert pieces == [
        Statement("CREATE TABLE a (x int)", 1),
        Statement("INSERT INTO a VALUES (1)", 3),
        Statement("SELECT 1", 4),
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 'a;b'",
        "SELECT 'it''s; fine'",
        "SELECT E'back\\'slash;'",
        'SELECT 1 AS "semi;colon"',
        "SELECT $$ a; b $$",
        "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql",
        "SELECT $1::int",
        "SELECT 1 -- a comment; with a semicolon\n + 1",
        "SELECT /* a; /* nested; */ comment */ 1",
        "SELECT 'a' /* ; */",
    ],
)
def test_semicolons_inside_quotes_and_comments_do_not_end_a_statement(statement: str) -> None:
    assert texts(f"{statement};\nSELECT 2;") == [statement, "SELECT 2"]


def test_a_word_ending_in_e_does_not_start_an_escape_string() -> None:
    assert texts("SELECT name'x'; SELECT 'a\\';") == ["SELECT name'x'", "SELECT 'a\\'"]


def test_copy_from_stdin_takes_the_lines_up_to_its_end_marker() -> None:
    script = "COPY public.t (id, note) FROM stdin;\n1\thello; world\n2\t\\N\n\\.\nSELECT 1;\n"
    assert split_script(script) == [
        CopyData(Statement("COPY public.t (id, note) FROM stdin", 1), "1\thello; world\n2\t\\N\n"),
        Statement("SELECT 1", 5),
    ]


def test_empty_copy_data() -> None:
    (copy,) = split_script("COPY t FROM stdin;\n\\.\n")
    assert copy == CopyData(Statement("COPY t FROM stdin", 1), "")


def test_meta_commands_are_their_own_pieces() -> None:
    script = "\\restrict abc123\nSET x = 1;\n\\connect other\n\\unrestrict abc123\n"
    assert split_script(script) == [
        MetaCommand("restrict", "\\restrict abc123", 1),
        Statement("SET x = 1", 2),
        MetaCommand("connect", "\\connect other", 3),
        MetaCommand("unrestrict", "\\unrestrict abc123", 4),
    ]


def test_comments_and_blank_lines_between_statements_are_skipped() -> None:
    script = "--\n-- PostgreSQL database dump\n--\n\n/* block */\nSELECT 1;\n-- end\n"
    assert split_script(script) == [Statement("SELECT 1", 6)]


@pytest.mark.parametrize(
    ("script", "what"),
    [
        ("SELECT 'never ends", "' quote never ends"),
        ('SELECT "never ends', '" quote never ends'),
        ("SELECT $x$ never ends", "$x$ quote never ends"),
        ("SELECT /* never ends", "/* comment never ends"),
        ("COPY t FROM stdin;\n1\n", "COPY data without its ending line"),
    ],
)
def test_a_file_that_ends_inside_something_is_refused_naming_the_line(
    script: str, what: str
) -> None:
    with pytest.raises(ScriptError) as raised:
        split_script(script)
    assert str(raised.value).startswith("line ")
    assert what in str(raised.value)
