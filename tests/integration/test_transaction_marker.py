"""Tests that really commit: @pytest.mark.snapq(transaction=True) gives a test a
database of its own; a commit through another connection, without the marker, is
caught in the test that made it, and contained."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Runner, assert_outcomes

SCHEMA = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text)"))
    connection.execute(text("INSERT INTO notes (body) VALUES ('seed')"))
"""

MARKED = '''
import threading
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from snapq import assert_query

def count(connection):
    return connection.execute(text("SELECT count(*) FROM notes")).scalar()

@pytest.mark.snapq(transaction=True)
def test_two_connections_see_each_others_commits(snapq_engine, snapq_connection):
    with Session(bind=snapq_engine) as session:
        session.execute(text("INSERT INTO notes (body) VALUES ('committed')"))
        session.commit()
    assert count(snapq_connection) == 2
    snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('mine')"))
    snapq_connection.commit()
    with snapq_engine.connect() as other:
        assert count(other) == 3
    # Sequences start from the template's values: ids stay deterministic.
    ids = snapq_connection.execute(text("SELECT id FROM notes ORDER BY id")).scalars().all()
    assert ids == [1, 2, 3]
    assert_query(
        "SELECT body FROM notes ORDER BY id",
        sql="""
            SELECT
              body
            FROM notes
            ORDER BY
              id
        """,
        results="""
            ┌───────────┐
            │ body      │
            ├───────────┤
            │ seed      │
            │ committed │
            │ mine      │
            └───────────┘
            (3 rows)
        """,
    )

@pytest.mark.snapq(transaction=True)
def test_listen_and_notify_between_two_connections(snapq_url):
    import psycopg
    from sqlalchemy.engine import make_url
    url = make_url(snapq_url).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute("LISTEN reminders")
        with psycopg.connect(conninfo, autocommit=True) as sender:
            sender.execute("NOTIFY reminders, 'due'")
        notification = next(listener.notifies(timeout=5))
    assert notification.payload == "due"

@pytest.mark.snapq(transaction=True)
def test_one_update_waits_for_the_other(snapq_engine):
    first = snapq_engine.connect()
    first.execute(text("UPDATE notes SET body = 'first' WHERE id = 1"))
    done = []
    def second():
        with snapq_engine.connect() as other:
            other.execute(text("UPDATE notes SET body = 'second' WHERE id = 1"))
            other.commit()
            done.append(True)
    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert not done, "the second update waits for the first transaction's lock"
    first.commit()
    first.close()
    thread.join(10)
    assert done
    with snapq_engine.connect() as check:
        assert check.execute(text("SELECT body FROM notes WHERE id = 1")).scalar() == "second"

@pytest.mark.snapq(transaction=True)
@pytest.mark.asyncio
async def test_the_async_connection_commits_too(snapq_async_connection):
    await snapq_async_connection.execute(text("INSERT INTO notes (body) VALUES ('async')"))
    await snapq_async_connection.commit()
    result = await snapq_async_connection.execute(text("SELECT count(*) FROM notes"))
    assert result.scalar() == 2

def test_later_tests_see_only_the_template(snapq_connection):
    assert count(snapq_connection) == 1
    assert snapq_connection.execute(text("SELECT body FROM notes")).scalar() == "seed"
'''


@pytest.mark.parametrize("where", ["serial", "xdist", "external"])
def test_a_marked_test_commits_for_real_and_later_tests_do_not_see_it(
    runner: Runner, where: str, request: pytest.FixtureRequest
) -> None:
    args = {"serial": [], "xdist": ["-n", "2"]}.get(where)
    if args is None:
        args = [f"--snapq-url={request.getfixturevalue('external_server').url()}"]
    runner.pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n"
    )
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_marked=MARKED)
    # Under -n 2, the later test may run on the other worker: run it on both.
    extra = "\n\ndef test_later_again(snapq_connection):\n    assert count(snapq_connection) == 1\n"
    runner.pytester.makepyfile(test_marked=MARKED + extra)
    assert_outcomes(runner.run("--snapq-record=never", *args), passed=6)


LEAKS = """
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

def test_commits_through_another_connection(snapq_engine, snapq_connection):
    with Session(bind=snapq_engine) as session:
        session.execute(text("INSERT INTO notes (body) VALUES ('leaked')"))
        session.commit()

def test_commits_through_an_engine_of_its_own(snapq_url):
    engine = create_engine(snapq_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO notes (body) VALUES ('leaked too')"))
    engine.dispose()

def test_commits_the_test_connection_with_a_statement(snapq_connection):
    snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('escaped')"))
    snapq_connection.execute(text("COMMIT"))

def test_a_read_only_transaction_elsewhere_is_no_leak(snapq_engine, snapq_connection):
    with snapq_engine.begin() as other:  # as an application's start-up may do
        other.execute(text("SELECT count(*) FROM notes"))

def test_after_them_only_the_template(snapq_connection):
    assert snapq_connection.execute(text("SELECT count(*) FROM notes")).scalar() == 1
"""


def test_a_commit_elsewhere_fails_its_test_and_is_contained(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_leaks=LEAKS)
    result = runner.run("-p", "no:randomly")
    assert_outcomes(result, passed=5, errors=3)  # each test passes; its teardown fails
    result.stdout.fnmatch_lines(
        [
            "*snapq: 1 commit(s) reached this worker's database through another connection than "
            "the test's*snapq has restored the database for the next tests*"
            "@pytest.mark.snapq(transaction=True)*",
        ]
    )


def test_a_marker_with_other_arguments_is_refused(runner: Runner) -> None:
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.snapq(transactional=True)
        def test_typo(snapq_connection):
            pass
        """
    )
    result = runner.run()
    assert_outcomes(result, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*snapq: @pytest.mark.snapq takes transaction=True or transaction=False, not transactional*"
        ]
    )
