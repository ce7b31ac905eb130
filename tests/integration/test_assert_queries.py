"""assert_queries in whole pytest runs: every statement a block sends, as a snapshot."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Runner, assert_outcomes

APP = '''
from sqlalchemy import ForeignKey, String, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    books: Mapped[list["Book"]] = relationship(order_by="Book.id")


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    title: Mapped[str] = mapped_column(String(100))


def catalogue(session, eager=False):
    """What the application does: each author with their books."""
    query = select(Author).order_by(Author.id)
    if eager:
        query = query.options(selectinload(Author.books))
    return {author.name: [book.title for book in author.books] for author in session.scalars(query)}


def add_book(session, author_id, title):
    session.add(Book(author_id=author_id, title=title))
    session.commit()


def pytest_snapq_setup_database(connection):
    Base.metadata.create_all(connection)
    connection.execute(insert(Author), [{"name": "Le Guin"}, {"name": "Calvino"}, {"name": "Borges"}])
    connection.execute(insert(Book), [{"author_id": n % 3 + 1, "title": f"Book {n}"} for n in range(6)])
'''

TESTS = """
from snapq import assert_queries
from conftest import add_book, catalogue


def test_catalogue(snapq_session):
    with assert_queries():
        catalogue(snapq_session, eager=EAGER)


def test_add_book_commits_without_savepoint_noise(snapq_session):
    with assert_queries():
        add_book(snapq_session, 1, "The Word for World is Forest")
"""


def write_project(runner: Runner, *, eager: bool) -> None:
    runner.pytester.makeconftest(APP)
    runner.pytester.makepyfile(test_app=TESTS.replace("EAGER", str(eager)))


def recorded_literal(runner: Runner, test: str) -> str:
    text = (runner.pytester.path / "test_app.py").read_text()
    start = text.index(f"def {test}")
    end = text.find("\ndef ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_an_n_plus_one_loop_is_caught_and_shown(runner: Runner, xdist_args: list[str]) -> None:
    write_project(runner, eager=False)
    result = runner.run("--snapq-record=missing", *xdist_args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    literal = recorded_literal(runner, "test_catalogue")
    assert literal.count("FROM books") == 3, literal  # one lazy load per author
    assert "-- 4 queries" in literal
    assert "1 = books.author_id" in literal


def test_fixing_it_with_selectinload_changes_the_snapshot(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(runner, eager=False)
    assert runner.run("--snapq-record=missing").ret == pytest.ExitCode.OK
    test_file = runner.pytester.path / "test_app.py"
    test_file.write_text(test_file.read_text().replace("eager=False", "eager=True"))
    monkeypatch.setenv("CI", "true")
    result = runner.run()
    assert_outcomes(result, passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*snapq: the SQL differs from the snapshot:*",
            "*+  books.author_id IN (1, 2, 3)",
            "*--- 4 queries",
            "*+-- 2 queries",
            "*Accept the change with --snapshot-update*",
        ]
    )
    monkeypatch.delenv("CI")
    assert runner.run("--snapshot-update").ret == pytest.ExitCode.OK
    assert "-- 2 queries" in recorded_literal(runner, "test_catalogue")


def test_savepoints_of_the_session_are_not_shown(runner: Runner) -> None:
    write_project(runner, eager=False)
    assert runner.run("--snapq-record=missing").ret == pytest.ExitCode.OK
    literal = recorded_literal(runner, "test_add_book_commits_without_savepoint_noise")
    assert "SAVEPOINT" not in literal
    assert "INSERT INTO books" in literal
    assert "-- 1 query" in literal


def test_max_queries_fails_with_the_statements_that_ran(runner: Runner) -> None:
    runner.pytester.makeconftest(APP)
    runner.pytester.makepyfile(
        """
        from snapq import assert_queries
        from conftest import catalogue

        def test_budget(snapq_session):
            with assert_queries(max_queries=2):
                catalogue(snapq_session)

        def test_within_budget(snapq_session):
            with assert_queries(max_queries=2):
                catalogue(snapq_session, eager=True)
        """
    )
    result = runner.run("--snapq-record=never")
    assert_outcomes(result, passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*snapq: 4 queries ran, more than max_queries=2:", "*-- 1", "*FROM authors*"]
    )


def test_volatile_parameters_and_file_snapshots(runner: Runner) -> None:
    runner.pytester.makeconftest(APP)
    runner.pytester.makepyfile(
        """
        import uuid
        from sqlalchemy import text
        from snapq import assert_queries

        def test_random_value(snapq_connection, snapshot):
            with assert_queries(snapshot=snapshot, ignore=["token"]):
                snapq_connection.execute(
                    text("SELECT :token AS token, :n AS n"), {"token": str(uuid.uuid4()), "n": 7}
                )
        """
    )
    result = runner.run("--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    (path,) = (runner.pytester.path / "snapshots").rglob("*.snapq")
    assert path.read_text() == (
        "-- snapq: queries\n-- 1\nSELECT\n  :token AS token,\n  7 AS n\n\n-- 1 query\n"
    )
    assert_outcomes(runner.run("--snapq-record=never"), passed=1)


OWN_ENGINE = """
from sqlalchemy import create_engine, text
from snapq import assert_queries


def test_the_applications_own_engine_is_not_snapqs_business(snapq_connection, snapq_url):
    audit = create_engine(snapq_url)
    with assert_queries(connection=snapq_connection, max_queries=0):
        with audit.connect() as connection:
            connection.execute(text("SELECT 1"))
    audit.dispose()
"""


def test_statements_on_an_engine_of_the_applications_own_are_not_counted(runner: Runner) -> None:
    runner.pytester.makepyfile(test_own_engine=OWN_ENGINE)
    assert_outcomes(runner.run(), passed=1)
