"""load_sql: a schema from a SQL file, a plain pg_dump included (COPY data, SET lines,
psql's \\restrict), loaded in the setup hook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import SUITE_PG_BIN, Runner, assert_outcomes, doc_block

# Written by PostgreSQL 18's pg_dump from a database with an enum, a serial key, a
# foreign key, a function, a view, an index, a comment, and text with tabs, newlines
# and backslashes in its COPY data.
LIBRARY_DUMP = Path(__file__).parent / "dumps" / "library.sql"

# After the docs' hook, which loads schema.sql, a conftest further in adds a row.
ADDS_A_ROW = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    # The dump empties search_path; load_sql sets it back, so this finds the table.
    connection.execute(text("INSERT INTO authors (name) VALUES ('Added by the hook')"))
"""

USES_THE_DUMP = """
from sqlalchemy import text

def test_the_data_is_there_as_it_was_dumped(snapq_connection):
    notes = snapq_connection.execute(text("SELECT note FROM books ORDER BY id")).scalars()
    assert list(notes) == ["tab\\there; and a\\nnewline", "back\\\\slash", None]
    moods = snapq_connection.execute(text("SELECT mood::text FROM authors ORDER BY id"))
    assert list(moods.scalars()) == ["happy", None, None]

def test_sequences_functions_and_views_came_along(snapq_connection):
    added = "SELECT id FROM authors WHERE name = 'Added by the hook'"
    assert snapq_connection.execute(text(added)).scalar() == 3
    assert snapq_connection.execute(text("SELECT title_count(1)")).scalar() == 2
    view = "SELECT n FROM prolific WHERE name = 'Anon'"
    assert snapq_connection.execute(text(view)).scalar() == 1

def test_the_sessions_settings_are_snapqs(snapq_connection):
    assert snapq_connection.execute(text("SHOW search_path")).scalar() == '"$user", public'
"""


@pytest.mark.skipif(
    SUITE_PG_BIN is not None, reason="the dump is PostgreSQL 18's; SNAPQ_PG_BIN's may be older"
)
def test_a_plain_pg_dump_loads_into_the_template(runner: Runner) -> None:
    shutil.copy(LIBRARY_DUMP, runner.pytester.path / "schema.sql")
    runner.pytester.makeconftest(doc_block("schema.md", "load_sql(connection"))
    inner = runner.pytester.mkpydir("library")
    (inner / "conftest.py").write_text(ADDS_A_ROW)
    (inner / "test_library.py").write_text(USES_THE_DUMP)
    assert_outcomes(runner.run(), passed=3)


BROKEN = "CREATE TABLE a (id int);\n\nINSERT INTO a VALUES ('not a number');\n"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            BROKEN,
            [
                "*schema.sql:3: this statement failed, so nothing of the file was loaded:",
                "*INSERT INTO a VALUES ('not a number')",
                "*InvalidTextRepresentation: invalid input syntax for type integer*",
            ],
        ),
        (
            "CREATE TABLE a (id int);\n\\connect other\n",
            ["*schema.sql:2: '\\\\connect other' is a psql command, not SQL*pg_dump --create*"],
        ),
        ("", ["*load_sql could not read 'missing.sql' (No such file or directory*"]),
    ],
    ids=["failing-statement", "connect", "missing-file"],
)
def test_a_file_that_cannot_load_stops_the_run_naming_the_line(
    runner: Runner, script: str, expected: list[str]
) -> None:
    name = "schema.sql" if script else "missing.sql"
    if script:
        (runner.pytester.path / name).write_text(script)
    runner.pytester.makeconftest(
        f"""
        from snapq import load_sql

        def pytest_snapq_setup_database(connection):
            load_sql(connection, {name!r})
        """
    )
    runner.pytester.makepyfile("def test_uses_the_database(snapq_connection):\n    pass\n")
    result = runner.run()
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(expected)
