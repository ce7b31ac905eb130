"""Faults and hostile input (issue 11): snapq never writes into the wrong call, never
records a failure as expected, never loses a recording without saying so."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import PYTEST_WITH_CTRL_C, Runner, assert_outcomes, wait_until

HELPER_ABOVE_THE_CALL = """
import pathlib, time
from sqlalchemy import text
from snapq import assert_query


def add_item(connection, name):
    connection.execute(text("SELECT 1"))


def test_first(snapq_connection):
    add_item(snapq_connection, "x")
    assert_query("SELECT 1 AS one")


def test_second(snapq_connection):
    add_item(snapq_connection, "y")
    assert_query("SELECT 2 AS two")


def test_last_waits_for_the_edit():
    pathlib.Path("waiting").touch()
    for _ in range(600):
        if pathlib.Path("edited").exists():
            return
        time.sleep(0.05)
"""


def test_a_file_edited_during_the_run_is_left_alone(runner: Runner) -> None:
    test_file = runner.pytester.makepyfile(test_items=HELPER_ABOVE_THE_CALL)
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=runner.pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_until((runner.pytester.path / "waiting").exists, timeout=60)
        edited = "import os\n" + test_file.read_text()
        test_file.write_text(edited)  # as `sed -i '1i import os'` would
        (runner.pytester.path / "edited").touch()
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert test_file.read_text() == edited, "nothing may be written into an edited file"
    assert process.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert "test_items.py: changed while the tests ran" in output
    assert "Run the tests again to record its snapshots." in output
    assert "wrote" not in output


OPERATIONAL_ERRORS = """
from sqlalchemy import text
from snapq import assert_query


def test_statement_timeout(snapq_connection):
    snapq_connection.execute(text("SET LOCAL statement_timeout = '10ms'"))
    assert_query("SELECT pg_sleep(2)")


def test_lock_timeout(snapq_connection, snapq_engine):
    with snapq_engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(42)"))
        snapq_connection.execute(text("SET LOCAL lock_timeout = '10ms'"))
        assert_query("SELECT pg_advisory_xact_lock(42)")


def test_division_by_zero_is_still_a_result(snapq_connection):
    assert_query("SELECT 1 / 0")
"""


def test_operational_errors_fail_and_are_never_recorded(runner: Runner) -> None:
    test_file = runner.pytester.makepyfile(test_errors=OPERATIONAL_ERRORS)
    result = runner.run()
    assert_outcomes(result, passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*QueryCanceled*canceling statement due to statement timeout*",
            "*LockNotAvailable*",
            "*snapq: this error says that the test run is unwell*",
        ]
    )
    recorded = test_file.read_text()
    assert "57014" not in recorded
    assert "55P03" not in recorded
    assert "ERROR 22012: division by zero" in recorded
    # And on a second run, still failing: nothing was recorded to match.
    assert_outcomes(runner.run(), passed=1, failed=2)


RECORDS_THEN_DIES = """
import os, signal
from snapq import assert_query


def test_records():
    assert_query("SELECT 1 AS one")


def test_dies():
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_dead_worker_keeps_what_its_finished_tests_recorded(runner: Runner) -> None:
    test_file = runner.pytester.makepyfile(test_dying=RECORDS_THEN_DIES)
    result = runner.run("-n", "2", "--dist", "loadfile")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*snapq: xdist worker gw* died*run it again*"])
    assert 'sql="""' in test_file.read_text(), "test_records' recording was lost"


def test_a_read_only_test_file_is_refused(runner: Runner) -> None:
    test_file = runner.pytester.makepyfile(
        test_read_only="from snapq import assert_query\n\n"
        "def test_it():\n    assert_query('SELECT 1 AS one')\n"
    )
    before = test_file.read_text()
    test_file.chmod(0o444)
    result = runner.run()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*test_read_only.py: not rewritten: the file is read-only*"])
    assert test_file.read_text() == before
    assert stat.S_IMODE(test_file.stat().st_mode) == 0o444


def test_scratch_files_a_killed_run_left_are_removed(runner: Runner) -> None:
    test_file = runner.pytester.makepyfile(
        test_scratch="from snapq import assert_query\n\n"
        "def test_it():\n    assert_query('SELECT 1 AS one', sql='SELECT 1 AS one')\n"
    )
    stale = test_file.with_name(".test_scratch.py.k1ll3d.snapq-tmp")
    stale.write_text("half a file")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    fresh = test_file.with_name(".test_scratch.py.wr1t1ng.snapq-tmp")  # a concurrent run's
    fresh.write_text("being written")
    result = runner.run()
    assert not stale.exists()
    assert fresh.exists()
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # it recorded results=, unasked


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("sql=123", "assert_query's sql= takes the snapshot as a string *, not int: 123"),
        ("results=['x']", "assert_query's results= takes the snapshot as a string *, not list*"),
        ("sql=b''", "assert_query's sql= takes the snapshot as a string *, not bytes: b''"),
    ],
)
def test_a_snapshot_that_is_not_a_string_is_refused_before_anything_is_recorded(
    runner: Runner, arguments: str, message: str
) -> None:
    test_file = runner.pytester.makepyfile(
        test_arguments="from snapq import assert_query\n\n"
        f"def test_it():\n    assert_query('SELECT 1 AS one', {arguments})\n"
    )
    before = test_file.read_text()
    result = runner.run()
    assert_outcomes(result, failed=1)
    result.stdout.fnmatch_lines([f"*TypeError: {message}"])
    assert test_file.read_text() == before


def test_a_result_too_long_to_inline_is_not_written(runner: Runner) -> None:
    test_file = runner.pytester.makepyfile(
        test_long="from snapq import assert_query\n\n"
        "def test_it():\n"
        "    assert_query('SELECT n FROM generate_series(1, 500) AS n')\n"
    )
    before = test_file.read_text()
    result = runner.run("--snapq-inline-max-lines=100")
    assert_outcomes(result, failed=1)
    result.stdout.fnmatch_lines(
        ["*results= would be 505 lines*more than snapq writes inline (100 lines*snapshot=snapshot*"]
    )
    assert test_file.read_text() == before


def test_a_long_result_goes_to_a_file(runner: Runner) -> None:
    runner.pytester.makepyfile(
        test_long="from snapq import assert_query\n\n"
        "def test_it(snapshot):\n"
        "    assert_query('SELECT n FROM generate_series(1, 500) AS n', snapshot=snapshot)\n"
    )
    runner.run("--snapq-record=missing")
    (snapshot_file,) = Path(runner.pytester.path, "snapshots").rglob("*.snapq")
    assert "(500 rows)" in snapshot_file.read_text()
    assert_outcomes(runner.run("--snapq-record=never"), passed=1)


KILLS_THE_SERVER = """
import json, os, pathlib, signal
from sqlalchemy import text
from sqlalchemy.engine import make_url


def test_kills_the_server(snapq_connection, snapq_url):
    run_dir = pathlib.Path(make_url(snapq_url).query["host"]).parent
    pid = json.loads((run_dir / "server.json").read_text())["pid"]
    backend = snapq_connection.execute(text("SELECT pg_backend_pid()")).scalar()
    os.kill(pid, signal.SIGKILL)  # the postmaster, and this connection's backend
    os.kill(backend, signal.SIGKILL)
    snapq_connection.execute(text("SELECT 1"))


def test_after(snapq_connection):
    snapq_connection.execute(text("SELECT 1"))


def test_after_that(snapq_connection):
    snapq_connection.execute(text("SELECT 1"))
"""


def test_a_server_that_dies_stops_the_run_with_one_clear_message(runner: Runner) -> None:
    runner.pytester.makepyfile(test_dies=KILLS_THE_SERVER)
    result = runner.run()
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*snapq: the embedded PostgreSQL server (pid *) has exited*the run stops*",
            "*Last lines of its log*",
            "*Interrupted: *snapq: the embedded PostgreSQL server is gone*",
        ]
    )
    assert "test_after_that" not in output.split("short test summary")[-1]
    assert result.ret != pytest.ExitCode.OK


LEAKS_CONNECTIONS = """
from sqlalchemy import text

LEAKED = []


def test_leaks(snapq_connection, snapq_engine):
    # The pool holds 15 (5 + 10 overflow); the test's own connection is one of them.
    LEAKED.extend(snapq_engine.connect() for _ in range(14))


def test_after(snapq_connection):
    assert snapq_connection.execute(text("SELECT 1")).scalar() == 1
"""


@pytest.mark.parametrize(
    "fixtures", ["snapq_connection, snapq_engine", "snapq_engine"], ids=["both", "engine"]
)
def test_leaked_connections_fail_the_test_that_leaked_them(runner: Runner, fixtures: str) -> None:
    leaks = LEAKS_CONNECTIONS.replace("snapq_connection, snapq_engine", fixtures)
    runner.pytester.makepyfile(test_leaks=leaks)
    result = runner.run()
    assert_outcomes(result, passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks*",
            "*snapq: the test left 14 connection(s) of snapq_engine checked out*",
        ]
    )


LOCK_SCHEMA = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text("CREATE TABLE counters (id int PRIMARY KEY, n int)"))
    connection.execute(text("INSERT INTO counters VALUES (1, 0)"))
"""
LEAKS_A_LOCK = """
import gc

import pytest
from sqlalchemy import text

LEAKED = []


def test_leaks_a_lock(snapq_engine):
    LEAKED.append(snapq_engine.connect())
    LEAKED[0].execute(text("UPDATE counters SET n = 1 WHERE id = 1"))


@pytest.mark.asyncio
async def test_leaks_a_lock_async(snapq_async_engine):
    LEAKED.append(await snapq_async_engine.connect())
    await LEAKED[1].execute(text("UPDATE counters SET n = 2 WHERE id = 1"))


def test_after(snapq_connection):
    LEAKED.clear()
    gc.collect()  # the leaks, collected, warn of nothing (warnings are errors here)
    snapq_connection.execute(text("UPDATE counters SET n = 3 WHERE id = 1"))
"""


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_a_leaked_connection_holds_no_lock_past_its_test(runner: Runner, driver: str) -> None:
    runner.pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n"
    )
    runner.pytester.makeconftest(LOCK_SCHEMA)
    runner.pytester.makepyfile(test_locks=LEAKS_A_LOCK)
    # Were a leak left open, the next test would wait this long for its row, and fail.
    result = runner.run("--snapq-lock-timeout=3s", f"--snapq-async-driver={driver}")
    assert_outcomes(result, passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks_a_lock *",
            "*snapq: the test left 1 connection(s) of snapq_engine checked out*",
            "*ERROR at teardown of test_leaks_a_lock_async*",
            "*snapq: the test left 1 connection(s) of snapq_async_engine checked out*",
        ]
    )
    assert "lock timeout" not in result.stdout.str()


FREEZES_THE_SERVER = """
import json, os, pathlib, signal
from sqlalchemy import text
from sqlalchemy.engine import make_url


def test_freezes_the_server(snapq_connection, snapq_url):
    run_dir = pathlib.Path(make_url(snapq_url).query["host"]).parent
    pid = json.loads((run_dir / "server.json").read_text())["pid"]
    backend = snapq_connection.execute(text("SELECT pg_backend_pid()")).scalar()
    os.kill(pid, signal.SIGSTOP)  # the postmaster, and the backend of this connection
    os.kill(backend, signal.SIGSTOP)
    snapq_connection.execute(text("SELECT 1"))


def test_after(snapq_connection):
    snapq_connection.execute(text("SELECT 1"))
"""


def test_a_frozen_server_fails_the_run_in_bounded_time(runner: Runner) -> None:
    runner.pytester.makepyfile(test_frozen=FREEZES_THE_SERVER)
    # The deadline is the statement timeout and a 10 s margin: about 11 s here.
    result = runner.run("--snapq-statement-timeout=1s", timeout=90)
    result.stdout.fnmatch_lines(
        [
            "*snapq: the embedded PostgreSQL server (pid *) is stopped*the run stops*",
            "*snapq: PostgreSQL did not answer within 11 s*the server may be frozen*",
        ]
    )
    assert result.stdout.str().count("is stopped (SIGSTOP") == 1
    assert result.ret != pytest.ExitCode.OK


def test_ctrl_c_ends_a_run_whose_server_is_frozen(runner: Runner) -> None:
    runner.pytester.makepyfile(test_frozen=FREEZES_THE_SERVER)
    process = subprocess.Popen(
        [*PYTEST_WITH_CTRL_C, "-p", "no:cacheprovider"],
        cwd=runner.pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(3)  # the test has frozen the server, and waits for its answer
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert "KeyboardInterrupt" in output


EDITS_ITSELF_FIRST = """
import pathlib
from snapq import assert_query


def test_edits_this_file():
    path = pathlib.Path(__file__)
    path.write_text("import os\\n" + path.read_text())


def helper_query(sql):
    return sql


def test_records_after_the_edit():
    helper_query("SELECT 2")
    assert_query("SELECT 1 AS one")
"""


def test_a_file_edited_before_its_first_recording_is_left_alone(runner: Runner) -> None:
    test_file = runner.pytester.makepyfile(test_self_edit=EDITS_ITSELF_FIRST)
    original = test_file.read_text()
    result = runner.run()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # The call cannot be found in the new text, or it is found and the file's digest
    # refuses the write: either way, nothing is written into helper_query(...).
    output = result.stdout.str()
    assert (
        "was the file edited during the run?" in output
        or "test_self_edit.py: changed while the tests ran" in output
    ), output
    assert test_file.read_text() == "import os\n" + original
