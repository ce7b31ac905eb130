"""An existing server given by URL: snapq creates and drops only its own databases there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from snapq._database.databases import Server, lock_key
from snapq._database.embedded import ServerInfo
from snapq._database.liveness import RUN_ALIVE_LOCK, Liveness
from tests.integration.conftest import Runner, assert_outcomes, wait_until

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
def make_role(external_server: ServerInfo) -> Iterator[Callable[..., str]]:
    """Create login roles with CREATEDB; return a URL of the server for each.

    At the end, the databases each role owns are dropped, then the role.
    """
    made: list[str] = []

    def make(name: str, *, password: str | None = None) -> str:
        given = f" PASSWORD '{password}'" if password else ""
        admin(external_server, f"CREATE ROLE {name} LOGIN CREATEDB{given}")
        made.append(name)
        url = make_url(external_server.url()).set(username=name, password=password)
        return url.render_as_string(hide_password=False)

    yield make
    for name in made:
        for database in owned_by(external_server, name):
            admin(external_server, f'DROP DATABASE "{database}" WITH (FORCE)')
        admin(external_server, f"DROP ROLE {name}")


def owned_by(server: ServerInfo, role: str) -> set[str]:
    with psycopg.connect(host=server.socket_dir, user="postgres", dbname="postgres") as conn:
        query = "SELECT datname FROM pg_database WHERE datdba = %s::regrole"
        return {name for (name,) in conn.execute(query, (role,))}


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
    assert "snapq/_database/" not in output  # no frames of snapq's internals


# A password that must appear in no output (snapq's messages, tracebacks with their
# frames' arguments, logs, JUnit XML), spelled raw or URL-quoted: "never-shown" is in
# both. A password file escapes its colon and its backslash.
PASSWORD = "never-shown:7f3a\\x"  # noqa: S105 - a test value
SHOWN_IF_LEAKED = "never-shown"
SCRAM_ROLE = "snapq_with_password"
LOSES_ITS_SERVER = """
import psycopg
from sqlalchemy import create_engine, text

def test_works(snapq_connection, snapq_url):
    assert snapq_connection.execute(text("SELECT current_user")).scalar() == "{role}"
    with create_engine(snapq_url).connect() as own:  # a user's own engine authenticates
        assert own.execute(text("SELECT current_user")).scalar() == "{role}"

def test_the_server_goes_away():
    with psycopg.connect(host={socket_dir!r}, user="postgres", autocommit=True) as conn:
        conn.execute("ALTER ROLE {role} NOLOGIN")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE usename = '{role}'")

def test_connection_lost(snapq_connection):
    snapq_connection.execute(text("SELECT 1"))

def test_login_refused(snapq_connection):
    snapq_connection.execute(text("SELECT 1"))

def test_own_engine_refused(snapq_url):
    create_engine(snapq_url).connect()
"""


@pytest.fixture
def password_role(external_server: ServerInfo, make_role: Callable[..., str]) -> Iterator[str]:
    """A role the server asks for its password (scram), unlike every other role."""
    url = make_role(SCRAM_ROLE, password=PASSWORD)
    hba = Path(external_server.data_dir) / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(f"local all {SCRAM_ROLE} scram-sha-256\n{original}")
    admin(external_server, "SELECT pg_reload_conf()")
    try:
        assert wait_until(lambda: asks_for_a_password(external_server, SCRAM_ROLE))
        yield url
    finally:
        hba.write_text(original)
        admin(external_server, "SELECT pg_reload_conf()")


def asks_for_a_password(server: ServerInfo, role: str) -> bool:
    try:
        psycopg.connect(host=server.socket_dir, user=role, dbname="postgres").close()
    except psycopg.OperationalError as error:
        return "password" in str(error)
    return False


def test_the_password_appears_in_no_output(
    runner: Runner, external_server: ServerInfo, password_role: str
) -> None:
    runner.pytester.makepyfile(
        conftest=CONFTEST,
        test_loses_its_server=LOSES_ITS_SERVER.format(
            role=SCRAM_ROLE, socket_dir=external_server.socket_dir
        ),
    )
    junit = runner.pytester.path / "junit.xml"
    result = runner.run(
        f"--snapq-url={password_role}",
        "--tb=long",
        "--showlocals",
        "--log-level=DEBUG",
        f"--junitxml={junit}",
        "-rA",
    )
    output = result.stdout.str() + result.stderr.str()
    assert result.parseoutcomes().get("passed") == 2, output
    assert "conninfo" in output, "psycopg's connect frames should be in the tracebacks"
    assert SHOWN_IF_LEAKED not in output
    assert SHOWN_IF_LEAKED not in junit.read_text()


def test_every_process_logs_in_with_the_password_and_drops_what_it_made(
    runner: Runner, external_server: ServerInfo, password_role: str, xdist_args: list[str]
) -> None:
    runner.pytester.makepyfile(conftest=CONFTEST, test_things=TESTS)
    assert_outcomes(runner.run(f"--snapq-url={password_role}", *xdist_args), passed=4)
    assert owned_by(external_server, SCRAM_ROLE) == set()


def test_leaves_dead_runs_databases_that_another_role_owns(
    runner: Runner, external_server: ServerInfo, make_role: Callable[..., str]
) -> None:
    url = make_role("snapq_first")
    make_role("snapq_other")
    admin(external_server, "CREATE DATABASE snapq_0badc0de_main OWNER snapq_other")
    runner.pytester.makepyfile(conftest=CONFTEST, test_things=TESTS)
    assert_outcomes(runner.run(f"--snapq-url={url}"), passed=4)
    assert owned_by(external_server, "snapq_other") == {"snapq_0badc0de_main"}
    assert owned_by(external_server, "snapq_first") == set()


def test_dropping_dead_runs_names_what_it_left(
    external_server: ServerInfo, make_role: Callable[..., str]
) -> None:
    url = make_role("snapq_first")
    make_role("snapq_other")
    admin(external_server, "CREATE DATABASE snapq_0badc0de_main OWNER snapq_other")
    admin(external_server, "CREATE DATABASE snapq_deadbeef_main OWNER snapq_first")
    server = Server(url, connect_args={})
    liveness = Liveness(server, "12345678")
    liveness.hold()
    try:
        assert liveness.drop_dead_runs() == ["snapq_0badc0de_main"]
    finally:
        liveness.release()
        server.close()
    assert owned_by(external_server, "snapq_first") == set()
    assert owned_by(external_server, "snapq_other") == {"snapq_0badc0de_main"}
