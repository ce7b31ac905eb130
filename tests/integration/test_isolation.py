"""Every test gets its own transaction on a copy of the template, rolled back afterwards."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Runner, assert_outcomes

SCHEMA = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text UNIQUE)"))
    connection.execute(text("INSERT INTO notes (body) VALUES ('seed')"))
    connection.execute(text("CREATE SEQUENCE unused"))
    connection.execute(text(
        "CREATE TABLE parents (id int PRIMARY KEY);"
        "CREATE TABLE children (parent_id int REFERENCES parents DEFERRABLE INITIALLY DEFERRED)"
    ))
"""


def test_writes_never_outlive_their_test(runner: Runner, xdist_args: list[str]) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import text

        @pytest.mark.parametrize("n", range(6))
        def test_insert_then_count(snapq_connection, n):
            count = "SELECT count(*) FROM notes"
            assert snapq_connection.execute(text(count)).scalar() == 1
            snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('mine')"))
            snapq_connection.execute(text("CREATE TABLE scratch (x int)"))
            assert snapq_connection.execute(text(count)).scalar() == 2
        """
    )
    assert_outcomes(runner.run(*xdist_args), passed=6)


def test_sequences_restart_in_every_test(runner: Runner, xdist_args: list[str]) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import text

        @pytest.mark.parametrize("n", range(10))
        def test_next_id(snapq_connection, n):
            insert = "INSERT INTO notes (body) VALUES (:body) RETURNING id"
            ids = [snapq_connection.execute(text(insert), {"body": f"{n}-{i}"}).scalar()
                   for i in range(n + 1)]
            assert ids == list(range(2, n + 3))
            # a sequence never used in the template starts at 1, whatever the test did
            assert snapq_connection.execute(text("SELECT nextval('unused')")).scalar() == 1
            # move sequences in ways a test might: each must be set back
            moves = [
                ["SELECT setval('notes_id_seq', 1, false)"],  # same value, not called
                ["SELECT setval('unused', 1, false)", "SELECT setval('notes_id_seq', 1000)"],
                ["SELECT setval('unused', 1, true)"],  # same value as the template, called
                # snapq's prepared reset disappears too
                ["DEALLOCATE ALL", "SELECT setval('notes_id_seq', 1000)"],
                ["SELECT setval('unused', 50, false)"],  # moved, and still not called
            ]
            for move in moves[n % 5]:
                snapq_connection.execute(text(move))
        """
    )
    assert_outcomes(runner.run(*xdist_args), passed=10)


def test_session_commits_and_rollbacks_stay_inside_the_test(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import text
        from sqlalchemy.exc import IntegrityError

        def add(session, body):
            session.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": body})
            session.commit()

        def count(session):
            return session.execute(text("SELECT count(*) FROM notes")).scalar()

        def test_commit_then_integrity_error(snapq_session):
            add(snapq_session, "first")
            with pytest.raises(IntegrityError):
                add(snapq_session, "first")
            snapq_session.rollback()
            add(snapq_session, "second")
            assert count(snapq_session) == 3

        def test_nothing_was_really_committed(snapq_session):
            assert count(snapq_session) == 1
        """
    )
    assert_outcomes(runner.run("-p", "no:randomly"), passed=2)


def test_committing_the_test_connection_is_refused(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import text
        from snapq import IsolationError

        def test_commit(snapq_connection):
            snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('x')"))
            with pytest.raises(IsolationError, match="begin_nested"):
                snapq_connection.commit()

        def test_savepoint_commit_is_fine(snapq_connection):
            with snapq_connection.begin_nested():
                snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('x')"))

        def test_still_isolated(snapq_connection):
            assert snapq_connection.execute(text("SELECT count(*) FROM notes")).scalar() == 1
        """
    )
    assert_outcomes(runner.run("-p", "no:randomly"), passed=3)


@pytest.mark.parametrize(
    "commit",
    [
        'snapq_connection.execute(text("COMMIT"))',
        'snapq_connection.exec_driver_sql("COMMIT")',
        "snapq_connection.connection.dbapi_connection.commit()",
    ],
)
def test_a_commit_snapq_cannot_refuse_fails_the_test(runner: Runner, commit: str) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        f"""
        from sqlalchemy import text

        def test_commit(snapq_connection):
            snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('leaks')"))
            {commit}
        """
    )
    result = runner.run()
    assert_outcomes(result, passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_commit*", "*IsolationError: the test committed*"]
    )


def test_assert_query_refuses_to_end_the_test_transaction(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        from snapq import assert_query

        def test_roll_back():
            assert_query("ROLLBACK")
        """
    )
    result = runner.run()
    assert_outcomes(result, failed=1)
    result.stdout.fnmatch_lines(["*IsolationError: the statement ended the test's transaction*"])


def test_rolling_back_inside_the_test_is_fine(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        from sqlalchemy import text

        def test_roll_back(snapq_connection):
            snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('undone')"))
            snapq_connection.rollback()
            snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('kept')"))

        def test_after(snapq_connection):
            assert snapq_connection.execute(text("SELECT count(*) FROM notes")).scalar() == 1
        """
    )
    assert_outcomes(runner.run("-p", "no:randomly"), passed=2)


def test_broken_deferred_constraint_fails_the_test(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        from sqlalchemy import text

        def test_orphan(snapq_connection):
            snapq_connection.execute(text("INSERT INTO children VALUES (42)"))

        def test_orphan_adopted_in_time(snapq_connection):
            snapq_connection.execute(text("INSERT INTO children VALUES (7)"))
            snapq_connection.execute(text("INSERT INTO parents VALUES (7)"))
        """
    )
    result = runner.run()
    assert_outcomes(result, passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_orphan*",
            "*deferred constraint is violated at the end of the test*",
            "*children_parent_id_fkey*",
        ]
    )


DEFERRED_TRIGGER = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text("CREATE TABLE accounts (balance int)"))
    connection.execute(text(
        "CREATE FUNCTION no_overdraft() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.balance < 0 THEN RAISE EXCEPTION 'overdrawn: %', NEW.balance; END IF; "
        "RETURN NEW; END $$"
    ))
    connection.execute(text(
        "CREATE CONSTRAINT TRIGGER no_overdraft AFTER INSERT ON accounts "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION no_overdraft()"
    ))
"""


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_a_deferred_trigger_that_raises_fails_the_test_as_a_constraint(
    runner: Runner, driver: str
) -> None:
    """A constraint trigger raises an error of its own choosing, not a class 23 one."""
    runner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    runner.pytester.makeconftest(DEFERRED_TRIGGER)
    runner.pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import text

        def test_sync(snapq_connection):
            snapq_connection.execute(text("INSERT INTO accounts VALUES (-1)"))

        @pytest.mark.asyncio
        async def test_async(snapq_async_connection):
            await snapq_async_connection.execute(text("INSERT INTO accounts VALUES (-2)"))
        """
    )
    result = runner.run(f"--snapq-async-driver={driver}")
    assert_outcomes(result, passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_sync*",
            "*IsolationError: a deferred constraint is violated at the end of the test*",
            "*overdrawn: -1*",
            "*ERROR at teardown of test_async*",
            "*IsolationError: a deferred constraint is violated at the end of the test*",
            "*overdrawn: -2*",
        ]
    )


def test_each_worker_has_its_own_database(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        import os, pathlib, pytest
        from sqlalchemy import text

        @pytest.mark.parametrize("n", range(8))
        def test_name(snapq_connection, n):
            name = snapq_connection.execute(text("SELECT current_database()")).scalar()
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            assert name.endswith("_" + worker)
            pathlib.Path(f"db-{n}.txt").write_text(name)
        """
    )
    assert_outcomes(runner.run("-n", "2"), passed=8)
    names = {path.read_text() for path in runner.pytester.path.glob("db-*.txt")}
    assert len(names) == 2, names


@pytest.mark.parametrize("fixture", ["snapq_connection", "snapq_session"])
def test_a_test_without_statements_passes(runner: Runner, fixture: str) -> None:
    runner.pytester.makepyfile(f"def test_idle({fixture}):\n    pass\n")
    assert_outcomes(runner.run(), passed=1)


def test_a_type_a_test_creates_again_is_not_met_by_a_stale_prepared_statement(
    runner: Runner,
) -> None:
    """psycopg prepares a statement after five runs, and forgets it only on a ROLLBACK
    it sees; snapq's rollback goes below it. Its statements are never prepared."""
    runner.pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import text

        @pytest.mark.parametrize("run", [1, 2])
        def test_type_made_in_the_test(snapq_connection, run):
            snapq_connection.execute(text("CREATE TYPE mood AS ENUM ('happy', 'sad')"))
            snapq_connection.execute(text("CREATE TABLE people (mood mood)"))
            for _ in range(6):
                snapq_connection.execute(
                    text("INSERT INTO people VALUES (CAST(:mood AS mood))"), {"mood": "happy"}
                )
        """
    )
    assert_outcomes(runner.run("-p", "no:randomly"), passed=2)
