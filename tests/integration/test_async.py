"""Async tests in whole pytest runs: snapq's async fixtures and assert_query_async under
pytest-asyncio (strict, auto, a session loop) and anyio, on psycopg and asyncpg."""

from __future__ import annotations

import fnmatch
import re
import textwrap
from dataclasses import dataclass

import pytest

from tests.integration.conftest import Runner, assert_outcomes

SCHEMA = """
import pytest
from sqlalchemy import column, insert, table, text

notes = table("notes", column("id"), column("body"))


def pytest_snapq_setup_database(connection):
    connection.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text UNIQUE)"))
    connection.execute(text("INSERT INTO notes (body) VALUES ('seed')"))
    connection.execute(text("CREATE SEQUENCE unused"))
    connection.execute(text(
        "CREATE TABLE parents (id int PRIMARY KEY);"
        "CREATE TABLE children (parent_id int REFERENCES parents DEFERRABLE INITIALLY DEFERRED)"
    ))


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def add_note(session, body):
    \"\"\"What application code does: write, then commit.\"\"\"
    await session.execute(insert(notes).values(body=body))
    await session.commit()


async def count_notes(session):
    return (await session.execute(text("SELECT count(*) FROM notes"))).scalar()
"""


# pytest-asyncio warns when this is unset; the inner runs do not make warnings errors.
ASYNCIO_INI = "asyncio_default_fixture_loop_scope = function"


@dataclass(frozen=True)
class Mode:
    """How a project runs its async tests: its ini, the mark on each test, the flags."""

    ini: tuple[str, ...]
    mark: str
    args: tuple[str, ...] = ()


MODES = {
    "strict": Mode((ASYNCIO_INI,), "@pytest.mark.asyncio"),
    "auto": Mode((ASYNCIO_INI, "asyncio_mode = auto"), ""),
    "session-loop": Mode(
        (ASYNCIO_INI, "asyncio_default_test_loop_scope = session"), "@pytest.mark.asyncio"
    ),
    # anyio alone: pytest-asyncio is not loaded, so anyio's plugin must be what runs them.
    "anyio": Mode((), "@pytest.mark.anyio", ("-p", "no:asyncio")),
}


def use_mode(runner: Runner, mode: Mode) -> None:
    runner.pytester.makeini("\n".join(["[pytest]", *mode.ini]) + "\n")


def use_pytest_asyncio(runner: Runner, *lines: str) -> None:
    use_mode(runner, Mode((ASYNCIO_INI, *lines), "@pytest.mark.asyncio"))


def source(runner: Runner, name: str) -> str:
    return (runner.pytester.path / name).read_text()


def function_text(text: str, name: str) -> str:
    """Return the source of top-level function ``name`` in ``text``, down to the next one."""
    start = re.search(rf"^(async )?def {name}\(", text, re.MULTILINE)
    assert start is not None, f"no function {name} in:\n{text}"
    end = re.search(r"^(@|async def |def )", text[start.end() :], re.MULTILINE)
    return text[start.start() : start.end() + end.start() if end else len(text)]


def recorded(text: str, name: str, keyword: str = "results") -> list[str]:
    """Return the ``keyword=`` literals recorded in function ``name``, dedented."""
    literals = re.findall(rf'{keyword}=r?"""\n(.*?)\n\s*"""', function_text(text, name), re.S)
    return [textwrap.dedent(literal) for literal in literals]


def line_of(runner: Runner, name: str, code: str) -> int:
    """Return the number of the line of file ``name`` that holds ``code``."""
    lines = source(runner, name).splitlines()
    return next(number for number, line in enumerate(lines, start=1) if code in line)


def table(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# 1. Record, then pass on CI, in every way of running async tests -----------------

NOTES_TESTS = """
import os

import pytest
from sqlalchemy import select
from snapq import assert_query, assert_query_async
from conftest import add_note, notes


MARK
async def test_first(snapq_async_session):
    await add_note(snapq_async_session, "first")
    await assert_query_async(select(notes).order_by(notes.c.id))
    assert (await snapq_async_session.connection()).dialect.driver == os.environ["EXPECTED_DRIVER"]


MARK
async def test_second(snapq_async_session):
    await add_note(snapq_async_session, "second")
    await assert_query_async(select(notes).order_by(notes.c.id))


def test_a_sync_test_in_the_same_run(snapq_session):
    assert_query(select(notes).order_by(notes.c.id))
"""

FIRST = """
    ┌──────┬────────┐
    │   id │ body   │
    ├──────┼────────┤
    │    1 │ seed   │
    │    2 │ first  │
    └──────┴────────┘
    (2 rows)
"""

SECOND = FIRST.replace("first ", "second")

SEED_ONLY = """
    ┌──────┬────────┐
    │   id │ body   │
    ├──────┼────────┤
    │    1 │ seed   │
    └──────┴────────┘
    (1 row)
"""


def notes_tests(*, mark: str) -> str:
    return NOTES_TESTS.replace("MARK\n", f"{mark}\n" if mark else "")


def assert_notes_recorded(text: str) -> None:
    """Each test saw the seed and its own row, with the id the sequence starts from."""
    assert recorded(text, "test_first") == [table(FIRST)], text
    assert recorded(text, "test_second") == [table(SECOND)], text
    assert recorded(text, "test_a_sync_test_in_the_same_run") == [table(SEED_ONLY)], text
    assert "FROM notes\n" in function_text(text, "test_first")


# Each way of running async tests, with the driver where it matters most: asyncpg's
# connections belong to one event loop (function loops, a session loop, anyio's).
# No flag for psycopg: it is the default.
@pytest.mark.parametrize(
    ("mode", "driver"),
    [
        ("strict", "psycopg"),
        ("strict", "asyncpg"),
        ("auto", "psycopg"),
        ("session-loop", "asyncpg"),
        ("anyio", "asyncpg"),
    ],
)
def test_records_then_passes_on_ci(
    runner: Runner, monkeypatch: pytest.MonkeyPatch, mode: str, driver: str
) -> None:
    config = MODES[mode]
    use_mode(runner, config)
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_notes=notes_tests(mark=config.mark))
    monkeypatch.setenv("EXPECTED_DRIVER", driver)
    args = [*config.args] + (["--snapq-async-driver=asyncpg"] if driver == "asyncpg" else [])
    result = runner.run(*args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "recording unasked must fail the run"
    assert_outcomes(result, passed=3)
    result.stdout.fnmatch_lines(
        ["*snapq wrote 6 inline snapshot(s) (sql= and results= counted separately):"]
    )
    assert_notes_recorded(source(runner, "test_notes.py"))
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run(*args), passed=3)


def test_a_session_loop_under_xdist_writes_each_edit_once(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(SCHEMA)
    tests = notes_tests(mark='@pytest.mark.asyncio(loop_scope="session")')
    for index in range(3):
        runner.pytester.makepyfile(**{f"test_notes_{index}": tests})
    monkeypatch.setenv("EXPECTED_DRIVER", "psycopg")
    result = runner.run("-n", "2", "--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*snapq wrote 18 inline snapshot(s) (sql= and results= counted separately):"]
    )
    first = source(runner, "test_notes_0.py")
    assert_notes_recorded(first)
    assert source(runner, "test_notes_1.py") == source(runner, "test_notes_2.py") == first
    # Recorded with psycopg, checked with asyncpg: the same tables.
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("EXPECTED_DRIVER", "asyncpg")
    assert_outcomes(runner.run("-n", "2", "--snapq-async-driver=asyncpg"), passed=9)


@pytest.mark.parametrize("given_by", ["flag", "ini", "env"])
def test_the_async_driver_is_chosen_by_flag_ini_or_environment(
    runner: Runner, monkeypatch: pytest.MonkeyPatch, given_by: str
) -> None:
    ini = [ASYNCIO_INI]
    args: list[str] = []
    if given_by == "flag":
        args.append("--snapq-async-driver=asyncpg")
        source_shown = "--snapq-async-driver"
    elif given_by == "ini":
        ini.append("snapq_async_driver = asyncpg")
        source_shown = "ini snapq_async_driver"
    else:
        monkeypatch.setenv("SNAPQ_ASYNC_DRIVER", "asyncpg")
        source_shown = "SNAPQ_ASYNC_DRIVER"
    runner.pytester.makeini("\n".join(["[pytest]", *ini]) + "\n")
    runner.pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import text

        def test_engine(snapq_async_engine):
            assert snapq_async_engine.dialect.driver == "asyncpg"

        @pytest.mark.asyncio
        async def test_connection(snapq_async_connection):
            assert snapq_async_connection.dialect.driver == "asyncpg"
            assert (await snapq_async_connection.execute(text("SELECT 1"))).scalar() == 1
        """
    )
    result = runner.run(*args)
    assert_outcomes(result, passed=2)
    result.stdout.fnmatch_lines([f"snapq: *, async driver=asyncpg ({source_shown})"])


def test_an_unknown_async_driver_is_a_usage_error(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    monkeypatch.setenv("SNAPQ_ASYNC_DRIVER", "aiopg")
    result = runner.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*SNAPQ_ASYNC_DRIVER='aiopg' is not an async driver: use one of psycopg, asyncpg"]
    )


# 2. Inline recording from helpers and parametrized tests --------------------------

HELPERS = """
import pytest
from sqlalchemy import text
from snapq import assert_query_async

pytestmark = pytest.mark.asyncio


async def check_notes(session):
    await assert_query_async(text("SELECT body FROM notes ORDER BY id"))


async def test_called_and_awaited_in_a_helper(snapq_async_session):
    await check_notes(snapq_async_session)


async def settle(*pending):
    for assertion in pending:
        await assertion


async def test_called_here_awaited_in_a_helper(snapq_async_session):
    await settle(
        assert_query_async(text("SELECT 'a' AS letter")),
        assert_query_async(text("SELECT 'b' AS letter")),
    )


@pytest.mark.parametrize("n", [1, 2, 3])
async def test_the_same_result_for_every_case(snapq_async_session, n):
    await assert_query_async(text("SELECT count(*) AS notes FROM notes"))


@pytest.mark.parametrize("n", [1, 2])
async def test_a_result_per_case(snapq_async_session, n):
    await assert_query_async(text(f"SELECT {n} AS n"))
"""


def test_helpers_and_parametrized_tests_record_as_sync_ones_do(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_helpers=HELPERS)
    line = line_of(runner, "test_helpers.py", 'await assert_query_async(text(f"SELECT {n} AS n"))')
    result = runner.run("--snapq-record=missing", "-n", "2")
    # One literal cannot hold two values: the call whose result differs per case is
    # refused, and nothing is written into it. The cases fail if one worker ran both;
    # if not, the controller refuses the write when it merges the workers' reports.
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    refusal = rf"test_helpers\.py:{line}\b.*(different results= values|results= got different)"
    assert re.search(refusal, result.stdout.str()), result.stdout.str()
    text = source(runner, "test_helpers.py")
    # Recorded into the call in the helper, which only one test reaches.
    assert recorded(text, "check_notes") == [
        table("""
        ┌────────┐
        │ body   │
        ├────────┤
        │ seed   │
        └────────┘
        (1 row)
        """)
    ]
    assert "results=" not in function_text(text, "test_called_and_awaited_in_a_helper")
    letters = recorded(text, "test_called_here_awaited_in_a_helper")
    assert [literal.splitlines()[3] for literal in letters] == ["│ a        │", "│ b        │"]
    assert recorded(text, "test_the_same_result_for_every_case") == [
        table("""
        ┌─────────┐
        │   notes │
        ├─────────┤
        │       1 │
        └─────────┘
        (1 row)
        """)
    ]
    assert "results=" not in function_text(text, "test_a_result_per_case")
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run("-k", "not result_per_case", "-n", "2"), passed=5)


# 3, 4, 8. What fails loudly ----------------------------------------------------------

LOUD = """
import pytest
from sqlalchemy import text
from snapq import assert_queries, assert_query, assert_query_async

pytestmark = pytest.mark.asyncio


async def test_never_awaited(snapq_async_session):
    assert_query_async(text("SELECT 'forgotten' AS x"))


async def test_awaited_twice(snapq_async_session):
    check = assert_query_async(text("SELECT 1 AS one"), results="(not checked)")
    with pytest.raises(AssertionError, match="the results differ"):
        await check
    with pytest.raises(RuntimeError, match=r"test_loud.py:\\d+ was awaited already"):
        await check


async def test_sync_assert_query_beside_the_async_session(snapq_async_session):
    assert_query(text("SELECT count(*) FROM notes"))


async def test_sync_assert_query_beside_the_async_connection(snapq_async_connection):
    assert_query(text("SELECT count(*) FROM notes"))


async def test_assert_query_async_without_an_async_fixture(snapq_connection):
    await assert_query_async(text("SELECT 1"))
"""


def test_what_would_assert_nothing_or_read_elsewhere_fails(runner: Runner) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_loud=LOUD)
    line = line_of(
        runner, "test_loud.py", """assert_query_async(text("SELECT 'forgotten' AS x"))"""
    )
    result = runner.run("--snapq-record=never")
    assert_outcomes(result, passed=2, failed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_never_awaited*",
            "snapq: assert_query_async returns an awaitable, and the test never awaited it, "
            f"so it asserted nothing: write `await assert_query_async(...)` at test_loud.py:{line}",
        ]
    )
    # Both name the connection below the session too: the data is on it either way.
    wrong_connection = (
        "E   *TypeError: this test's data is on snapq_async_connection, which snapq's sync "
        "connection does not see: use `await assert_query_async(...)`*"
    )
    assert sum(fnmatch.fnmatch(line, wrong_connection) for line in result.stdout.lines) == 2, (
        result.stdout.str()
    )
    result.stdout.fnmatch_lines(
        [
            "*TypeError: assert_query_async runs on the test's snapq_async_session or "
            "snapq_async_connection, and this test uses neither*"
        ]
    )
    assert "RuntimeWarning" not in result.stdout.str()  # failed, not merely warned of


# In an `async def` test that uses no snapq fixture, the sync assertions would read
# snapq_connection, which sees none of the async code's writes (pytest-asyncio runs
# the test through a sync wrapper, which must not hide that it is a coroutine).
BARE_ASYNC = """
import pytest
from sqlalchemy import text
from snapq import assert_queries, assert_query

async def assert_query_here():
    with pytest.raises(TypeError, match="assert_query_async"):
        assert_query(text("SELECT 1"))
    with pytest.raises(TypeError, match="assert_query_async"):
        with assert_queries():
            pass

@pytest.mark.asyncio
async def test_pytest_asyncio():
    await assert_query_here()

@pytest.mark.anyio
async def test_anyio():
    await assert_query_here()
"""


def test_sync_assertions_in_an_async_test_without_fixtures_name_the_async_one(
    runner: Runner,
) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_bare=BARE_ASYNC)
    assert_outcomes(runner.run("--snapq-record=never"), passed=2)


# One test that cannot set up the async fixtures leaves them as they were for the
# next one: a correctly marked test after it passes.
NO_RUNNER = """
import pytest


def test_sync(snapq_async_session):
    pass


async def test_unmarked(snapq_async_session):
    pass


@pytest.mark.asyncio
async def test_marked(snapq_async_session):
    pass
"""


def test_async_fixtures_without_a_runner_say_which_plugin_runs_them(runner: Runner) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makepyfile(test_no_runner=NO_RUNNER)
    result = runner.run()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_sync*",
            "snapq: this test asks for snapq_async_connection (itself or through another "
            "fixture), an async fixture, but it is a sync test: make it `async def`, run by "
            "pytest-asyncio or anyio.",
            "*ERROR at setup of test_unmarked*",
            "snapq: this test asks for snapq_async_connection (itself or through another "
            "fixture), an async fixture, but it is an async test without "
            "@pytest.mark.asyncio (pytest-asyncio's strict mode): mark it, or set "
            "asyncio_mode = auto.",
        ]
    )
    assert_outcomes(result, passed=1, errors=2)


def test_an_async_test_with_no_plugin_is_told_to_install_one(runner: Runner) -> None:
    runner.pytester.makepyfile("async def test_unplugged(snapq_async_session):\n    pass\n")
    result = runner.run("-p", "no:asyncio", "-p", "no:anyio")
    assert_outcomes(result, errors=1)
    result.stdout.fnmatch_lines(
        [
            "snapq: this test asks for snapq_async_connection (itself or through another "
            "fixture), an async fixture, but it is an async test that no plugin runs: "
            "install pytest-asyncio (and mark the test "
            "@pytest.mark.asyncio, or set asyncio_mode = auto), or use anyio's plugin "
            "(@pytest.mark.anyio)."
        ]
    )


# 4. Sync and async fixtures in one test: two connections --------------------------

TWO_CONNECTIONS = """
import pytest
from sqlalchemy import select, text
from snapq import assert_queries, assert_query, assert_query_async
from conftest import notes


@pytest.mark.asyncio
async def test_two_connections(snapq_connection, snapq_async_session):
    snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('sync')"))
    await snapq_async_session.execute(text("INSERT INTO notes (body) VALUES ('async')"))
    assert_query(select(notes).order_by(notes.c.id))
    await assert_query_async(select(notes).order_by(notes.c.id))
    with assert_queries():
        snapq_connection.execute(text("SELECT 'on the sync one' AS s"))
        await snapq_async_session.execute(text("SELECT 'on the async one' AS a"))
"""


def test_sync_and_async_fixtures_each_see_their_own_writes(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_two=TWO_CONNECTIONS)
    result = runner.run("--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    text = source(runner, "test_two.py")
    sync_view, async_view = recorded(text, "test_two_connections")
    # One sequence, two transactions: ids 2 and 3, each row seen only where written.
    assert sync_view == table(FIRST.replace("first", "sync "))
    assert async_view == table(FIRST.replace("    2 │ first", "    3 │ async"))
    (statements,) = recorded(text, "test_two_connections", "sql")[2:]
    assert statements.splitlines() == [
        "-- 1",
        "SELECT",
        "  'on the sync one' AS s",
        "",
        "-- 2",
        "SELECT",
        "  'on the async one' AS a",
        "",
        "-- 2 queries",
    ]
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run(), passed=1)


# 5. assert_queries around awaited code ----------------------------------------------

QUERIES = """
import pytest
from sqlalchemy import text
from snapq import assert_queries
from conftest import add_note, count_notes

pytestmark = pytest.mark.asyncio


async def test_over_budget(snapq_async_session):
    with assert_queries(max_queries=0):
        await add_note(snapq_async_session, "mine")
        await count_notes(snapq_async_session)


async def test_recorded(snapq_async_session):
    with assert_queries():
        await add_note(snapq_async_session, "mine")
        await count_notes(snapq_async_session)


async def test_watching_the_wrong_connection(snapq_async_session, snapq_connection):
    with assert_queries(connection=snapq_connection):
        await count_notes(snapq_async_session)


async def test_on_the_async_connection(snapq_async_connection):
    with assert_queries(max_queries=1):
        await snapq_async_connection.execute(text("SELECT 1"))
"""


def test_assert_queries_sees_what_async_code_sends(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_queries=QUERIES)
    result = runner.run("--snapq-record=missing")
    assert_outcomes(result, passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*snapq: 2 queries ran, more than max_queries=0:",
            "*-- 1",
            "*INSERT INTO notes*",
            "*-- 2",
            "*COUNT(*)*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*snapq: assert_queries saw no statement on the connection it watched, but * ran "
            "on snapq's other connections during the block: pass connection= the connection or "
            "session that the code uses"
        ]
    )
    (statements,) = recorded(source(runner, "test_queries.py"), "test_recorded", "sql")
    assert statements.splitlines() == [
        "-- 1",
        "INSERT INTO notes (",
        "  body",
        ")",
        "VALUES",
        "  ('mine')",
        "",
        "-- 2",
        "SELECT",
        "  COUNT(*)",
        "FROM notes",
        "",
        "-- 2 queries",
    ]
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run("-k", "recorded or async_connection"), passed=2)


# 6. Isolation between async tests ---------------------------------------------------

ISOLATION = """
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from snapq import IsolationError
from conftest import add_note, count_notes

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("n", range(4))
async def test_insert_then_count(snapq_async_connection, n):
    assert await count_notes(snapq_async_connection) == 1
    insert = text("INSERT INTO notes (body) VALUES (:body) RETURNING id")
    ids = [(await snapq_async_connection.execute(insert, {"body": f"{n}-{i}"})).scalar()
           for i in range(n + 1)]
    assert ids == list(range(2, n + 3))
    assert (await snapq_async_connection.execute(text("SELECT nextval('unused')"))).scalar() == 1
    await snapq_async_connection.execute(text("SELECT setval('unused', 500)"))
    await snapq_async_connection.execute(text("CREATE TABLE scratch (x int)"))


async def test_commit_then_integrity_error(snapq_async_session):
    await add_note(snapq_async_session, "first")
    with pytest.raises(IntegrityError):
        await add_note(snapq_async_session, "first")
    await snapq_async_session.rollback()
    await add_note(snapq_async_session, "second")
    assert await count_notes(snapq_async_session) == 3


async def test_nothing_was_really_committed(snapq_async_session):
    assert await count_notes(snapq_async_session) == 1


async def test_committing_the_connection_is_refused(snapq_async_connection):
    await snapq_async_connection.execute(text("INSERT INTO notes (body) VALUES ('x')"))
    with pytest.raises(IsolationError):
        await snapq_async_connection.commit()


async def test_the_same_as_the_sync_connection(snapq_async_connection):
    settings = await snapq_async_connection.execute(
        text("SELECT current_setting('TimeZone'), current_setting('statement_timeout')")
    )
    assert tuple(settings.one()) == ("UTC", "7s")
"""


@pytest.mark.parametrize(
    ("driver", "xdist"),
    [("psycopg", []), ("asyncpg", ["-n", "2"])],
    ids=["psycopg", "asyncpg-xdist"],
)
def test_writes_and_sequences_never_outlive_their_async_test(
    runner: Runner, driver: str, xdist: list[str]
) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_isolation=ISOLATION)
    result = runner.run(
        "-p",
        "no:randomly",
        "--snapq-statement-timeout=7s",
        f"--snapq-async-driver={driver}",
        *xdist,
    )
    assert_outcomes(result, passed=8)


TEARDOWN_FAILURES = """
import pytest
from sqlalchemy import text

pytestmark = pytest.mark.asyncio


async def test_raw_commit(snapq_async_connection):
    await snapq_async_connection.execute(text("INSERT INTO notes (body) VALUES ('leaks')"))
    await snapq_async_connection.exec_driver_sql("COMMIT")


async def test_orphan(snapq_async_connection):
    await snapq_async_connection.execute(text("INSERT INTO children VALUES (42)"))


async def test_orphan_adopted_in_time(snapq_async_session):
    await snapq_async_session.execute(text("INSERT INTO children VALUES (7)"))
    await snapq_async_session.execute(text("INSERT INTO parents VALUES (7)"))
"""


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_what_the_rollback_would_hide_fails_at_teardown(runner: Runner, driver: str) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(SCHEMA)
    runner.pytester.makepyfile(test_teardown=TEARDOWN_FAILURES)
    result = runner.run("-p", "no:randomly", f"--snapq-async-driver={driver}")
    assert_outcomes(result, passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_raw_commit*",
            "*IsolationError: the test committed snapq_async_connection's transaction*",
            "*ERROR at teardown of test_orphan*",
            "*deferred constraint is violated at the end of the test*",
            "*children_parent_id_fkey*",
        ]
    )


# 7. The same table whichever driver ran the statement -------------------------------

VALUES = """
SELECT
  int4range(1, 10) AS ints, '(,5]'::int8range AS unbounded, 'empty'::numrange AS empty,
  tstzrange('2024-01-01 00:00+00', NULL) AS since,
  '[2024-01-01,2024-02-01)'::daterange AS january,
  '{[1,3), [5,7)}'::int4multirange AS ints_multi, '{}'::datemultirange AS no_dates,
  B'1011'::bit(4) AS bits, B'10'::varbit AS varbits,
  point(1.5, 2) AS pt, box(point(0, 0), point(1, 1)) AS bx, lseg(point(0, 0), point(1, 1)) AS seg,
  line(point(0, 0), point(1, 1)) AS ln, circle(point(0, 0), 2.5) AS ci,
  path '[(0,0),(1,1),(2,0)]' AS open_path, path '((0,0),(1,1),(2,0))' AS closed_path,
  polygon '((0,0),(1,1),(1,0))' AS pg,
  'a'::"char" AS ch, '16/B374D848'::pg_lsn AS lsn,
  ARRAY[1, NULL, 3] AS ints_array, ARRAY[['a', 'b'], ['c', 'd']] AS square,
  ARRAY[int4range(1, 2)] AS ranges, ARRAY[point(1, 2)] AS points,
  '00000000-0000-0000-0000-000000000001'::uuid AS id,
  '2024-05-06 07:08:09.123456+02'::timestamptz AS tz, '2024-05-06 07:08:09'::timestamp AS ts,
  1.10::numeric AS num, 'NaN'::numeric AS nan,
  2^70::numeric AS big, 0.1::float8 AS f8, '\\\\x00ff'::bytea AS bytes,
  '192.168.0.1/24'::inet AS ip, 12.34::money AS m, 'a b'::tsvector AS tsv,
  'x'::char(3) AS padded, 9223372036854775807 AS i8
"""

PARITY = f'''
import pytest
from snapq import assert_query_async

VALUES = """{VALUES}"""


@pytest.mark.asyncio
async def test_values(snapq_async_session):
    await assert_query_async(VALUES)
'''


def test_values_render_the_same_with_both_drivers(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makepyfile(test_parity=PARITY)
    result = runner.run("--snapq-record=missing", "--snapq-async-driver=psycopg")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    (values,) = recorded(source(runner, "test_parity.py"), "test_values")
    header, row = values.splitlines()[1], values.splitlines()[3]
    cells = dict(zip(header.split("│"), row.split("│"), strict=True))
    shown = {name.strip(): value.strip() for name, value in cells.items()}
    assert {name: shown[name] for name in ["ch", "lsn", "bits", "ln", "ci", "ints_multi"]} == {
        "ch": "a",
        "lsn": "16/B374D848",
        "bits": "1011",
        "ln": "{1,-1,0}",
        "ci": "<(0,0),2.5>",
        "ints_multi": "{[1,3),[5,7)}",
    }
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run("--snapq-async-driver=asyncpg"), passed=1)


# The same statement through assert_query and through assert_query_async: the
# sync rendering is the reference.
PAIRS = {
    "insert": "INSERT INTO notes (body) VALUES ('new')",
    "create": "CREATE TABLE scratch (x int)",
    "duplicate": "INSERT INTO notes (body) VALUES ('seed')",
    "no_operator": "SELECT int4range(1, 2) || int4range(3, 4) AS r",
    "float4": "SELECT 0.1::float4 AS f4, ARRAY[3.14159::float4] AS f4s",
    "composite": "SELECT ROW(2, 'b')::pair AS p",
    "char_array": "SELECT ARRAY['a'::\"char\"] AS chars",
    "char_bytes": 'SELECT chr(200)::"char" AS high, \'\'::"char" AS empty',
    "lsn_array": "SELECT ARRAY['0/1'::pg_lsn] AS lsns",
    "infinite_point": "SELECT point('Infinity', 'NaN') AS p",
}

PAIR_SCHEMA = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text UNIQUE)"))
    connection.execute(text("INSERT INTO notes (body) VALUES ('seed')"))
    connection.execute(text("CREATE TYPE pair AS (a int, b text)"))
"""


def pair_tests() -> str:
    tests = ["import pytest", "from snapq import assert_query, assert_query_async", ""]
    for name, statement in PAIRS.items():
        tests += [
            f"def test_sync_{name}(snapq_connection):",
            f"    assert_query({statement!r})",
            "",
            "@pytest.mark.asyncio",
            f"async def test_async_{name}(snapq_async_session):",
            f"    await assert_query_async({statement!r})",
            "",
        ]
    return "\n".join(tests)


# The same statements through assert_query and assert_query_async draw the same:
# command statuses, error details, and the values asyncpg loads otherwise (float4,
# composites, "char" and pg_lsn and their arrays, infinite coordinates). The
# assertion lists each case that differs.
@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_async_draws_what_sync_draws(runner: Runner, driver: str) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makeconftest(PAIR_SCHEMA)
    runner.pytester.makepyfile(test_pairs=pair_tests())
    result = runner.run("--snapq-record=missing", f"--snapq-async-driver={driver}")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    text = source(runner, "test_pairs.py")
    shown = {
        name: (recorded(text, f"test_sync_{name}"), recorded(text, f"test_async_{name}"))
        for name in PAIRS
    }
    assert all(len(sync) == 1 for sync, _ in shown.values()), text
    differing = [
        f"{name}:\n--- assert_query\n{sync[0]}\n--- assert_query_async ({driver})\n{both[0]}"
        for name, (sync, both) in shown.items()
        if sync != both
    ]
    assert not differing, "\n\n".join(differing)


REFUSED = """
import pytest
from snapq import assert_query_async

@pytest.mark.asyncio
async def test_infinite(snapq_async_session):
    await assert_query_async("SELECT 'infinity'::timestamptz AS t")

@pytest.mark.asyncio
async def test_interval(snapq_async_session):
    await assert_query_async("SELECT interval '1 mon' AS span")

@pytest.mark.asyncio
async def test_json(snapq_async_session):
    await assert_query_async("SELECT '{\\"a\\": 1.10}'::jsonb AS doc")

@pytest.mark.asyncio
async def test_json_ignored(snapq_async_session):
    await assert_query_async("SELECT 1 AS n, '{}'::jsonb AS doc", ignore=["doc"])
"""


def test_asyncpg_values_it_cannot_give_exactly_fail_rather_than_show_another_value(
    runner: Runner,
) -> None:
    """asyncpg loads 'infinity' as datetime.max, an interval as a timedelta where a
    month is 30 days, and SQLAlchemy decodes its JSON: each fails, naming the fix."""
    use_pytest_asyncio(runner)
    runner.pytester.makepyfile(test_refused=REFUSED)
    result = runner.run("--snapq-async-driver=asyncpg", "--snapq-record=missing")
    assert_outcomes(result, failed=3, passed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*UnshowableValueError: snapq: asyncpg loads 'infinity' and '-infinity' as "
            "datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), so snapq cannot tell "
            "which one the row holds: run this test with --snapq-async-driver=psycopg",
            "*UnshowableValueError: snapq: column 'span' is interval, and asyncpg loads an "
            "interval as a timedelta*--snapq-async-driver=psycopg, or leave the column out "
            "with ignore=*'span'*",
            "*UnshowableValueError: snapq: column 'doc' is jsonb, and SQLAlchemy's asyncpg "
            "dialect decodes JSON*",
        ]
    )
    text = source(runner, "test_refused.py")
    assert "9999-12-31" not in text
    assert "30 days" not in text
    assert "│ <ignored> │" in text


# 9. File snapshots ---------------------------------------------------------------

FILE_SNAPSHOTS = """
import pytest
from sqlalchemy import literal, select
from snapq import assert_query_async

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("n", [1, 2])
async def test_case(snapq_async_session, snapshot, n):
    await assert_query_async(select(literal(n).label("n"), literal("x" * n).label("xs")),
                             snapshot=snapshot)
    await assert_query_async(select(literal("second").label("which")), snapshot=snapshot)
"""


def test_file_snapshots_record_then_pass_with_either_driver(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_pytest_asyncio(runner)
    runner.pytester.makepyfile(test_files=FILE_SNAPSHOTS)
    result = runner.run("-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "recording unasked must fail the run"
    result.stdout.fnmatch_lines(["*snapq wrote 4 snapshot file(s):"])
    root = runner.pytester.path
    files = sorted(str(path.relative_to(root)) for path in (root / "snapshots").rglob("*.snapq"))
    assert files == [
        "snapshots/test_files/test_case[1].1.snapq",
        "snapshots/test_files/test_case[1].snapq",
        "snapshots/test_files/test_case[2].1.snapq",
        "snapshots/test_files/test_case[2].snapq",
    ]
    assert (root / "snapshots/test_files/test_case[2].snapq").read_text() == (
        "-- snapq: sql\n"
        "SELECT\n"
        "  2 AS n,\n"
        "  'xx' AS xs\n"
        "\n"
        "-- snapq: results\n"
        "┌─────┬──────┐\n"
        "│   n │ xs   │\n"
        "├─────┼──────┤\n"
        "│   2 │ xx   │\n"
        "└─────┴──────┘\n"
        "(1 row)\n"
    )
    assert "sql=" not in source(runner, "test_files.py")
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run("--snapq-async-driver=asyncpg"), passed=2)


# anyio runs the tests of a module in one task, which a module-scoped async fixture
# starts before the tests begin: the running test must be found all the same.
ANYIO_MODULE_FIXTURE = """
import pytest
from snapq import assert_query_async

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
async def service():
    yield "ready"


async def test_records(service, snapq_async_session):
    await assert_query_async("SELECT 1 AS one")


async def test_never_awaited(service, snapq_async_session):
    assert_query_async("SELECT 2 AS two")
"""


def test_anyio_with_a_module_scoped_async_fixture_finds_the_running_test(runner: Runner) -> None:
    runner.pytester.makepyfile(test_module_fixture=ANYIO_MODULE_FIXTURE)
    result = runner.run("-p", "no:asyncio")
    assert_outcomes(result, passed=2, errors=1)
    result.stdout.fnmatch_lines(["*assert_query_async returns an awaitable*"])
    assert recorded(source(runner, "test_module_fixture.py"), "test_records") == [
        "┌───────┐\n│   one │\n├───────┤\n│     1 │\n└───────┘\n(1 row)"
    ]


# Tests in loops of their own and in the session's loop, in turn, and one that uses
# the engine directly: each gets connections of its own loop, and none is left
# unclosed (warnings are errors in this run).
LOOPS = """
import pytest
from sqlalchemy import text


async def test_function_loop(snapq_async_connection):
    assert (await snapq_async_connection.execute(text("SELECT 1"))).scalar() == 1


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(snapq_async_connection):
    assert (await snapq_async_connection.execute(text("SELECT 2"))).scalar() == 2


async def test_engine_directly(snapq_async_engine):
    async with snapq_async_engine.connect() as connection:
        assert (await connection.execute(text("SELECT 3"))).scalar() == 3


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop_again(snapq_async_connection):
    assert (await snapq_async_connection.execute(text("SELECT 4"))).scalar() == 4


async def test_function_loop_again(snapq_async_connection):
    assert (await snapq_async_connection.execute(text("SELECT 5"))).scalar() == 5
"""


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_connections_never_cross_event_loops(runner: Runner, driver: str) -> None:
    runner.pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    runner.pytester.makepyfile(test_loops=LOOPS)
    result = runner.run(f"--snapq-async-driver={driver}")
    assert_outcomes(result, passed=5)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()


TRIO = """
import pytest

@pytest.fixture
def anyio_backend():
    return "trio"

@pytest.mark.anyio
async def test_on_trio(snapq_async_session):
    pass
"""


def test_anyio_on_trio_is_told_to_use_asyncio(runner: Runner) -> None:
    runner.pytester.makepyfile(test_trio=TRIO)
    result = runner.run("-p", "no:asyncio")
    assert_outcomes(result, errors=1)
    result.stdout.fnmatch_lines(
        [
            "snapq: snapq_async_connection runs on anyio's asyncio backend only, and this "
            "test runs on 'trio': SQLAlchemy's asyncio drivers do not run on trio. Give "
            'this test anyio_backend "asyncio".'
        ]
    )
