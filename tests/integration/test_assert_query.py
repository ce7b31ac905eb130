"""assert_query in whole pytest runs: record, check on CI, fail with a diff, accept."""

from __future__ import annotations

import textwrap

import pytest

from tests.integration.conftest import Runner, assert_outcomes

SCHEMA = """
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id = Column(Integer, primary_key=True)
    name = Column(String, unique=True, nullable=False)


class Book(Base):
    __tablename__ = "books"
    id = Column(Integer, primary_key=True)
    author_id = Column(ForeignKey("authors.id"), nullable=False)
    title = Column(String, nullable=False)
    in_print = Column(Boolean, default=True, nullable=False)
    extra = Column(JSONB)


def pytest_snapq_setup_database(connection):
    Base.metadata.create_all(connection)
    connection.execute(insert(Author), [{"name": "Le Guin"}, {"name": "Calvino"}])
    connection.execute(insert(Book).values(author_id=1, title="The Dispossessed"))
"""

TESTS = """
from sqlalchemy import func, insert, select, update
from snapq import assert_query
from conftest import Author, Book


def test_books_by_author():
    assert_query(
        select(Author.name, func.count(Book.id).label("books"))
        .join(Book, isouter=True)
        .group_by(Author.name)
        .order_by(Author.name)
    )


def test_insert_shows_defaults_and_status(snapq_connection):
    assert_query(insert(Book).values(author_id=2, title="Invisible Cities"))
    assert_query(update(Book).values(in_print=False).where(Book.title.like("%Cities")))


def test_constraint_error_then_carry_on():
    assert_query(insert(Author).values(name="Calvino"))
    assert_query(select(func.count()).select_from(Author))
"""


def source(runner: Runner, name: str = "test_books.py") -> str:
    return (runner.pytester.path / name).read_text()


@pytest.fixture
def recorded(runner: Runner) -> Runner:
    """A project whose snapshots were recorded by a first run."""
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_books=TESTS)
    result = runner.run()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "recording unasked must fail the run"
    assert_outcomes(result, passed=3)
    result.stdout.fnmatch_lines(
        [
            "*snapq wrote 10 inline snapshot(s) (sql= and results= counted separately):",
            "*test_books.py: 10",
            "*recorded snapshots without being asked to*",
            "*= 3 passed, 10 recorded (the run fails) in *",
        ]
    )
    return runner


def test_first_run_records_what_the_queries_do(recorded: Runner) -> None:
    text = source(recorded)
    assert (
        textwrap.dedent(
            '''
        def test_books_by_author():
            assert_query(
                select(Author.name, func.count(Book.id).label("books"))
                .join(Book, isouter=True)
                .group_by(Author.name)
                .order_by(Author.name),
                sql="""
                    SELECT
                      authors.name,
                      COUNT(books.id) AS books
                    FROM authors
                    LEFT OUTER JOIN books
                      ON authors.id = books.author_id
                    GROUP BY
                      authors.name
                    ORDER BY
                      authors.name
                """,
                results="""
                    ┌─────────┬─────────┐
                    │ name    │   books │
                    ├─────────┼─────────┤
                    │ Calvino │       0 │
                    │ Le Guin │       1 │
                    └─────────┴─────────┘
                    (2 rows)
                """,
            )
        '''
        )
        in text
    )
    # The Python-side default (in_print) was sent, so it is shown.
    assert "(2, 'Invisible Cities', TRUE)" in text
    assert "INSERT 0 1" in text
    assert "UPDATE 1" in text
    assert 'ERROR 23505: duplicate key value violates unique constraint "authors_name_key"' in text
    assert "DETAIL: Key (name)=(Calvino) already exists." in text


def test_ci_run_passes_and_writes_nothing(
    recorded: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = source(recorded)
    monkeypatch.setenv("CI", "true")
    result = recorded.run()
    assert_outcomes(result, passed=3)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["snapq: record=never (default: CI detected), *"])
    assert source(recorded) == before


def test_changed_data_fails_with_a_diff_and_accepting_updates(
    recorded: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    conftest = recorded.pytester.path / "conftest.py"
    conftest.write_text(conftest.read_text().replace('"Calvino"', '"Borges"'))
    before = source(recorded)
    monkeypatch.setenv("CI", "true")
    result = recorded.run()
    assert_outcomes(result, passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*snapq: the results differ from the snapshot:",
            "*--- results (snapshot)",
            "*+++ results (actual)",
            "*-│ Calvino │       0 │",
            "*+│ Borges  │       0 │",
            "*Accept the change with --snapshot-update*",
        ]
    )
    assert source(recorded) == before
    monkeypatch.delenv("CI")
    result = recorded.run("--snapshot-update")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*snapq wrote 3 inline snapshot(s) (sql= and results= counted separately):",
            "*test_books.py: 3",
        ]
    )
    monkeypatch.setenv("CI", "true")
    assert_outcomes(recorded.run(), passed=3)


def test_record_all_rewrites_literals_into_their_canonical_form(recorded: Runner) -> None:
    path = recorded.pytester.path / "test_books.py"
    squeezed = path.read_text().replace("UPDATE 1\n", "UPDATE 1   \n")
    squeezed = squeezed.replace(
        'results="""\n            INSERT 0 1\n        """', "results='INSERT 0 1'"
    )
    path.write_text(squeezed)
    assert "results='INSERT 0 1'" in path.read_text()
    result = recorded.run("--snapq-record=all")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*snapq wrote 2 inline snapshot(s) (sql= and results= counted separately):"]
    )
    text = source(recorded)
    assert "results='INSERT 0 1'" not in text
    assert "UPDATE 1   " not in text
    assert "UPDATE 1\n" in text


def test_never_mode_fails_on_missing_snapshots_and_writes_nothing(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_books=TESTS)
    before = source(runner)
    result = runner.run("--snapq-record=never")
    assert_outcomes(result, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*snapq: sql= is missing, and record mode never (--snapq-record) writes nothing.*",
            "*SELECT*",
        ]
    )
    assert source(runner) == before


def test_explicit_missing_mode_records_and_passes(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_books=TESTS)
    result = runner.run("--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK
    assert "without being asked" not in result.stdout.str()


def test_under_xdist_every_edit_is_written_exactly_once(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makeconftest(SCHEMA)
    for index in range(4):
        runner.pytester.makepyfile(**{f"test_books_{index}": TESTS})
    result = runner.run("-n", "2", "--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*snapq wrote 40 inline snapshot(s) (sql= and results= counted separately):"]
    )
    first = source(runner, "test_books_0.py")
    assert first.count("sql=") == 5
    assert first.count("results=") == 5
    for index in range(1, 4):
        assert source(runner, f"test_books_{index}.py") == first
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run("-n", "2"), passed=12)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_one_call_site_with_several_values_is_refused(runner: Runner, xdist: list[str]) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        test_param="""
        import pytest
        from sqlalchemy import literal, select
        from snapq import assert_query

        @pytest.mark.parametrize("n", [1, 2, 3, 4])
        def test_case(n):
            assert_query(select(literal(n).label("n")))
        """
    )
    before = source(runner, "test_param.py")
    result = runner.run("--snapq-record=failed", *xdist)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "got different values in test_param.py::test_case[1]" in output
    assert "nothing written for this call" in output
    assert source(runner, "test_param.py") == before
    if not xdist:
        result.stdout.fnmatch_lines(["*snapshot=snapshot (syrupy's fixture)*"])


def test_settings_that_change_how_values_print_are_pinned(runner: Runner) -> None:
    runner.pytester.makeconftest(
        """
        from sqlalchemy import text

        def pytest_snapq_setup_database(connection):
            # A server whose defaults differ from snapq's pinned settings.
            connection.execute(text("ALTER ROLE CURRENT_USER SET TimeZone TO 'Asia/Tokyo'"))
            connection.execute(text("ALTER ROLE CURRENT_USER SET DateStyle TO 'SQL, DMY'"))
            connection.execute(text("ALTER ROLE CURRENT_USER SET IntervalStyle TO 'sql_standard'"))
        """
    )
    runner.pytester.makepyfile(
        '''
        from snapq import assert_query

        def test_times():
            assert_query(
                "SELECT '2024-03-01 12:00:00+02'::timestamptz AS at,"
                " '2024-03-01 12:00:00+02'::timestamptz::text AS at_text,"
                " current_setting('TimeZone') AS tz",
                sql="""
                    SELECT
                      CAST('2024-03-01 12:00:00+02' AS TIMESTAMPTZ) AS at,
                      CAST(CAST('2024-03-01 12:00:00+02' AS TIMESTAMPTZ) AS TEXT) AS at_text,
                      CURRENT_SETTING('TimeZone') AS tz
                """,
                results="""
                    ┌────────────────────────┬────────────────────────┬──────┐
                    │ at                     │ at_text                │ tz   │
                    ├────────────────────────┼────────────────────────┼──────┤
                    │ 2024-03-01 10:00:00+00 │ 2024-03-01 10:00:00+00 │ UTC  │
                    └────────────────────────┴────────────────────────┴──────┘
                    (1 row)
                """,
            )

        def test_intervals_and_floats():
            assert_query(
                "SELECT interval '1 day 2 hours' AS span,"
                " interval '1 day 2 hours'::text AS span_text, 0.1::float8 AS f",
                sql="""
                    SELECT
                      INTERVAL '1 day 2 hours' AS span,
                      CAST(INTERVAL '1 day 2 hours' AS TEXT) AS span_text,
                      CAST(0.1 AS DOUBLE PRECISION) AS f
                """,
                results="""
                    ┌────────────────┬────────────────┬─────┐
                    │ span           │ span_text      │   f │
                    ├────────────────┼────────────────┼─────┤
                    │ 1 day 02:00:00 │ 1 day 02:00:00 │ 0.1 │
                    └────────────────┴────────────────┴─────┘
                    (1 row)
                """,
            )
        '''
    )
    result = runner.run("--snapq-record=never")
    assert_outcomes(result, passed=2)


def test_default_connection_is_the_tests_session_when_it_uses_one(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        '''
        from sqlalchemy import func, select
        from snapq import assert_query
        from conftest import Author

        def test_unflushed(snapq_session):
            snapq_session.add(Author(name="Borges"))
            assert_query(
                select(func.count()).select_from(Author),
                results="""
                    ┌───────────┐
                    │   count_1 │
                    ├───────────┤
                    │         3 │
                    └───────────┘
                    (1 row)
                """,
                sql="""
                    SELECT
                      COUNT(*) AS count_1
                    FROM authors
                """,
            )
        '''
    )
    assert_outcomes(runner.run("--snapq-record=never"), passed=1)


def test_unrenderable_values_unparseable_sql_and_ignored_columns(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        test_odd="""
        from sqlalchemy import insert, literal, select, text
        from sqlalchemy.dialects.postgresql import INT4RANGE, Range
        from snapq import assert_query
        from conftest import Book

        def test_jsonb_parameter():
            assert_query(
                insert(Book)
                .values(author_id=1, title="Earthsea", extra={"tags": ["sea"]})
                .returning(Book.id, Book.extra),
                ignore=["id"],
            )

        def test_unrenderable():
            assert_query(select(literal(Range(1, 5), INT4RANGE).label("span")))

        def test_unparseable():
            assert_query(text("SELECT @ -5 AS absolute"))
        """
    )
    result = runner.run("--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*snapq note: test_odd.py:*: SQL sqlglot could not parse it*(*::test_unparseable)"]
    )
    text = source(runner, "test_odd.py")
    assert """(1, 'Earthsea', TRUE, CAST('{"tags": ["sea"]}' AS JSONB))""" in text
    assert ":param_1 AS span\n            -- param_1 = Range(lower=1, upper=5, " in text
    assert "│ [1,5)  │" in text
    assert '│ <ignored> │ {"tags": ["sea"]} │' in text
    assert "SELECT @ -5 AS absolute" in text


def test_crlf_latin1_source_keeps_its_newlines_and_encoding(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makeconftest(SCHEMA)
    text = (
        "# -*- coding: latin-1 -*-\n"
        "from snapq import assert_query\n"
        "\n"
        "def test_caf\u00e9():  # caf\u00e9\n"
        "\tassert_query(\"SELECT 'caf\u00e9' AS word, 'a\\\\b' AS slash\")\n"
    )
    path = runner.pytester.path / "test_latin.py"
    path.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    result = runner.run("--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    written = data.decode("latin-1")
    assert "caf\u00e9" in written
    assert written.startswith(text.replace("\n", "\r\n").split("\tassert_query")[0])
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run(), passed=1)


def test_ignore_covers_parameters_and_refuses_slips(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        test_volatile="""
        import uuid
        import pytest
        from sqlalchemy import insert, text
        from snapq import assert_query
        from conftest import Book

        def test_random_title():
            title = str(uuid.uuid4())
            assert_query(
                insert(Book).values(author_id=1, title=title).returning(Book.title),
                ignore=["title"],
            )

        def test_a_string_is_refused():
            with pytest.raises(TypeError, match=r"ignore=\\['title'\\], not a string"):
                assert_query("SELECT 1 AS title", ignore="title")

        def test_a_typo_is_refused():
            with pytest.raises(ValueError, match="ignore= names titel, which is neither"):
                assert_query("SELECT 1 AS title", ignore=["titel"])

        def test_a_missing_table_is_noted():
            assert_query(text("SELECT * FROM no_such_table"))
        """
    )
    result = runner.run("--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*snapq note: test_volatile.py:*: the statement failed with "
            "'relation \"no_such_table\" does not exist'*pytest_snapq_setup_database*"
        ]
    )
    text = source(runner, "test_volatile.py")
    assert "(1, :title, TRUE)" in text
    assert "│ <ignored> │" in text
    assert_outcomes(runner.run("--snapq-record=never"), passed=4)


@pytest.mark.parametrize("hook", [False, True])
def test_a_missing_table_gets_a_note_on_where_the_schema_is_built(
    runner: Runner, hook: bool
) -> None:
    if hook:
        runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        from snapq import assert_query

        def test_query():
            assert_query("SELECT title FROM nowhere")
        """
    )
    result = runner.run("--snapq-record=missing")
    advice = (
        "if the schema lacks it, build it in pytest_snapq_setup_database (*)"
        if hook
        else "no pytest_snapq_setup_database hook is implemented, so the database starts empty*"
    )
    result.stdout.fnmatch_lines(
        [f"snapq note: test_*.py:4: the statement failed with *nowhere* does not exist'; {advice}"]
    )
