"""An existing server given by URL: snapq creates and drops only its own databases there."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from snapq._database.databases import lock_key
from snapq._database.embedded import ServerInfo
from snapq._database.liveness import RUN_ALIVE_LOCK
from tests.integration.conftest import Runner, assert_outcomes

CONFTEST = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text("CREATE TABLE things (id serial PRIMARY KEY)"))
"""
TESTS = """
import pytest
from sqlalchemy import text

@pytest.mark.parametrize("n", range(4))
def test_things(snapq_connection, n):
    insert = text("INSERT INTO things DEFAULT VALUES RETURNING id")
    assert snapq_connection.execute(insert).scalar() == 1
    name = snapq_connection.execute(text("SELECT current_database()")).scalar()
    assert name.startswith("snapq_") and name != "postgres"
"""


def databases(server: ServerInfo) -> set[str]:
    with psycopg.connect(host=server.socket_dir, user="postgres", dbname="postgres") as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


def admin(server: ServerInfo, sql: str) -> None:
    with psycopg.connect(
        host=server.socket_dir, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql)


@pytest.fixture
def url_with_password(external_server: ServerInfo) -> str:
    url = make_url(external_server.url()).set(password="s3cret-pw")  # noqa: S106 - a test value
    return url.render_as_string(hide_password=False)


@pytest.fixture
def user_database(external_server: ServerInfo) -> Iterator[str]:
    admin(external_server, "CREATE DATABASE keep_me")
    yield "keep_me"
    admin(external_server, "DROP DATABASE keep_me")


def test_uses_the_server_and_leaves_only_what_it_found(
    runner: Runner,
    external_server: ServerInfo,
    url_with_password: str,
    user_database: str,
    xdist_args: list[str],
) -> None:
    before = databases(external_server)
    runner.pytester.makepyfile(conftest=CONFTEST, test_things=TESTS)
    result = runner.run(f"--snapq-url={url_with_password}", *xdist_args)
    assert_outcomes(result, passed=4)
    result.stdout.fnmatch_lines(
        ["snapq: record=*, server=postgresql+psycopg://postgres:***@/postgres?* (from --snapq-url)"]
    )
    assert "s3cret-pw" not in result.stdout.str()
    assert databases(external_server) == before
    assert user_database in before


def test_drops_databases_of_dead_runs_but_not_of_live_ones(
    runner: Runner, external_server: ServerInfo
) -> None:
    admin(external_server, "CREATE DATABASE snapq_deadbeef_template")
    admin(external_server, "CREATE DATABASE snapq_0badc0de_gw0")
    live_run = psycopg.connect(host=external_server.socket_dir, user="postgres", dbname="postgres")
    try:
        live_run.execute(
            "SELECT pg_advisory_lock_shared(%s, %s)", (RUN_ALIVE_LOCK, lock_key("0badc0de"))
        )
        runner.pytester.makepyfile(conftest=CONFTEST, test_things=TESTS)
        assert_outcomes(runner.run(f"--snapq-url={external_server.url()}"), passed=4)
        left = databases(external_server)
        assert "snapq_deadbeef_template" not in left
        assert "snapq_0badc0de_gw0" in left
    finally:
        live_run.close()
        admin(external_server, "DROP DATABASE IF EXISTS snapq_0badc0de_gw0")


def test_refused_login_names_the_fix(runner: Runner, external_server: ServerInfo) -> None:
    url = make_url(external_server.url()).set(username="nobody_here")
    runner.pytester.makepyfile(test_things=TESTS)
    result = runner.run(f"--snapq-url={url.render_as_string(hide_password=False)}")
    assert_outcomes(result, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*snapq could not connect to postgresql+psycopg://nobody_here@/postgres*",
            '*role "nobody_here" does not exist*',
            "*Fix: check that the server is running*",
        ]
    )


def test_failing_setup_hook_leaves_no_database(
    runner: Runner, external_server: ServerInfo, xdist_args: list[str]
) -> None:
    before = databases(external_server)
    runner.pytester.makeconftest(
        """
        from sqlalchemy import text

        def pytest_snapq_setup_database(connection):
            connection.execute(text("CREATE TABLE half (x int)"))
            raise RuntimeError("seed file not found")
        """
    )
    runner.pytester.makepyfile(test_things=TESTS)
    result = runner.run(f"--snapq-url={external_server.url()}", *xdist_args)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*RuntimeError: seed file not found*"])
    assert databases(external_server) == before


def test_a_user_without_createdb_is_told_so(runner: Runner, external_server: ServerInfo) -> None:
    admin(external_server, "DROP ROLE IF EXISTS snapq_nocreate")
    admin(external_server, "CREATE ROLE snapq_nocreate LOGIN NOCREATEDB")
    try:
        url = make_url(external_server.url()).set(username="snapq_nocreate")
        runner.pytester.makepyfile(conftest=CONFTEST, test_things=TESTS)
        result = runner.run(f"--snapq-url={url.render_as_string(hide_password=False)}")
        assert result.parseoutcomes().get("errors", 0) == 1, "the run should stop at once"
        result.stdout.fnmatch_lines(
            [
                "*snapq could not create its databases on postgresql+psycopg://snapq_nocreate@*",
                "*permission denied to create database*",
                "*needs the CREATEDB privilege*",
            ]
        )
        assert "Traceback" not in result.stdout.str() + result.stderr.str()
    finally:
        admin(external_server, "DROP ROLE snapq_nocreate")


def test_an_unreachable_server_is_reported_once(runner: Runner) -> None:
    runner.pytester.makepyfile(test_things=TESTS)
    result = runner.run("--snapq-url=postgresql://someone@127.0.0.1:1/postgres")
    assert_outcomes(result, errors=1)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "_databases.py" not in output  # no frames of snapq's internals
