"""Each setting works as a flag, an ini key and an environment variable."""

from __future__ import annotations

import contextlib
import shlex
import socket
import threading
from collections.abc import Iterator

import pytest

from snapq._database.binaries import find_postgres
from snapq._database.embedded import ServerInfo
from tests.integration.conftest import SUITE_PG_BIN, Runner, assert_outcomes

SHOW_TIMEOUTS = """
from sqlalchemy import text

def test_timeouts(snapq_connection):
    show = lambda name: snapq_connection.execute(text(f"SHOW {name}")).scalar()
    assert show("lock_timeout") == "{lock}"
    assert show("statement_timeout") == "5min"
    assert show("idle_in_transaction_session_timeout") == "10min"
"""


def give(
    runner: Runner, how: str, key: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Give setting ``key`` (e.g. ``lock_timeout``) the way ``how``; return extra pytest args."""
    if how == "flag":
        return [f"--snapq-{key.replace('_', '-')}={value}"]
    if how == "ini":
        runner.pytester.makeini(f"[pytest]\nsnapq_{key} = {value}\n")
    else:
        monkeypatch.setenv(f"SNAPQ_{key.upper()}", value)
    return []


@pytest.mark.parametrize("how", ["flag", "ini", "env"])
def test_timeouts_reach_the_connection(
    runner: Runner, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makepyfile(SHOW_TIMEOUTS.replace("{lock}", "3s"))
    args = give(runner, how, "lock_timeout", "3s", monkeypatch)
    assert_outcomes(runner.run(*args), passed=1)


@pytest.mark.parametrize("how", ["flag", "ini", "env"])
def test_url_chooses_the_server(
    runner: Runner, how: str, external_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makepyfile(
        f"""
        def test_where(snapq_url):
            assert "{external_server.url().split("?")[1]}" in snapq_url
        """
    )
    args = give(runner, how, "url", external_server.url(), monkeypatch)
    result = runner.run(*args)
    assert_outcomes(result, passed=1)
    source = {"flag": "--snapq-url", "ini": "ini snapq_url", "env": "SNAPQ_URL"}[how]
    result.stdout.fnmatch_lines(
        [f"snapq: record=*, server=postgresql+psycopg://postgres@/postgres?* (from {source})"]
    )


def test_flag_beats_environment_beats_ini(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    runner.pytester.makeini("[pytest]\nsnapq_lock_timeout = 1s\n")
    monkeypatch.setenv("SNAPQ_LOCK_TIMEOUT", "2s")
    runner.pytester.makepyfile(SHOW_TIMEOUTS.replace("{lock}", "3s"))
    assert_outcomes(runner.run("--snapq-lock-timeout=3s"), passed=1)
    runner.pytester.makepyfile(SHOW_TIMEOUTS.replace("{lock}", "2s"))
    assert_outcomes(runner.run(), passed=1)


@pytest.mark.parametrize("how", ["flag", "ini", "env"])
def test_bad_value_is_a_usage_error_naming_its_source(
    runner: Runner, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    args = give(runner, how, "lock_timeout", "soon", monkeypatch)
    result = runner.run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    source = {
        "flag": "--snapq-lock-timeout",
        "ini": "ini snapq_lock_timeout",
        "env": "SNAPQ_LOCK_TIMEOUT",
    }[how]
    result.stderr.fnmatch_lines([f"*snapq: {source}='soon' is not a PostgreSQL duration*"])


@pytest.mark.parametrize("where", ["command line", "PYTEST_ADDOPTS"])
def test_a_path_after_a_space_is_refused_since_pytest_reads_it_as_a_test_path(
    runner: Runner, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """pytest would take the rootdir from the value and skip the project's ini file."""
    runner.pytester.makeini("[pytest]\nsnapq_record = never\n")
    runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    bindir = find_postgres(SUITE_PG_BIN).bindir
    args = ["--snapq-pg-bin", str(bindir)]
    if where == "PYTEST_ADDOPTS":
        monkeypatch.setenv("PYTEST_ADDOPTS", shlex.join(args))
        args = []
    result = runner.run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*snapq: --snapq-pg-bin {bindir}: pytest took '{bindir}' for a test path while it "
            "looked for the rootdir and the ini file, *. "
            f"Write --snapq-pg-bin={bindir}, or set SNAPQ_PG_BIN."
        ]
    )
    if where == "PYTEST_ADDOPTS":
        monkeypatch.setenv("PYTEST_ADDOPTS", f"--snapq-pg-bin={bindir}")
        fixed = runner.run()
    else:
        fixed = runner.run(f"--snapq-pg-bin={bindir}")
    assert_outcomes(fixed, passed=1)
    fixed.stdout.fnmatch_lines(["snapq: record=never (ini snapq_record), server=*"])


SHOW_LISTS = """
def test_lists(request):
    from snapq._fixtures import STATE

    settings = request.config.stash[STATE].settings
    assert settings.mask.value == ("uuid", "now")
    assert settings.extensions.value == ("citext", "hstore")
    assert settings.mask.source == "ini snapq_mask"
"""


def test_settings_that_list_names_take_a_toml_list(runner: Runner) -> None:
    runner.pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\nsnapq_mask = ["uuid", "now"]\n'
        'snapq_extensions = ["citext", "hstore"]\n'
    )
    runner.pytester.makepyfile(SHOW_LISTS)
    assert_outcomes(runner.run(), passed=1)


@pytest.mark.parametrize(
    ("config_file", "text", "error"),
    [
        (
            "pyproject.toml",
            '[tool.pytest.ini_options]\nsnapq_record = ["never"]\n',
            "*snapq: ini snapq_record takes one value, not a list: *'never'*",
        ),
        (
            "pytest.ini",
            "[pytest]\nsnapq_schema_files = it's/*.py\n",
            "*snapq: ini snapq_schema_files: No closing quotation: *",
        ),
    ],
    ids=["list-for-one-value", "unclosed-quote"],
)
def test_an_ini_value_of_the_wrong_shape_is_a_usage_error_naming_the_key(
    runner: Runner, config_file: str, text: str, error: str
) -> None:
    (runner.pytester.path / config_file).write_text(text)
    runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    result = runner.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([error])


def test_a_leaked_lock_fails_the_waiting_test_instead_of_hanging(runner: Runner) -> None:
    runner.pytester.makeconftest(
        """
        from sqlalchemy import text

        def pytest_snapq_setup_database(connection):
            connection.execute(text("CREATE TABLE jobs (id int PRIMARY KEY)"))
            connection.execute(text("INSERT INTO jobs VALUES (1)"))
        """
    )
    runner.pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import OperationalError

        def test_blocked(snapq_engine, snapq_connection):
            snapq_connection.execute(text("UPDATE jobs SET id = 1"))  # holds the row lock
            with snapq_engine.connect() as other:
                with pytest.raises(OperationalError, match="lock timeout"):
                    other.execute(text("UPDATE jobs SET id = 1"))
        """
    )
    assert_outcomes(runner.run("--snapq-lock-timeout=200ms"), passed=1)


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """Return a port on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.mark.parametrize("how", ["flag", "ini", "env"])
def test_a_server_that_never_answers_fails_the_run_fast(
    runner: Runner, how: str, silent_listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makepyfile("def test_db(snapq_connection):\n    pass\n")
    args = give(runner, how, "connect_timeout", "1", monkeypatch)
    url = f"postgresql://u@127.0.0.1:{silent_listener}/postgres"
    result = runner.run(f"--snapq-url={url}", *args, timeout=30)  # libpq's own wait: 130 s
    assert_outcomes(result, errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*snapq could not connect to postgresql+psycopg://u@127.0.0.1:{silent_listener}/*",
            "*timeout expired*",
            "*--snapq-connect-timeout (ini snapq_connect_timeout, env SNAPQ_CONNECT_TIMEOUT)*",
        ]
    )


@pytest.mark.parametrize("how", ["flag", "ini", "env"])
def test_a_bad_connect_timeout_is_a_usage_error(
    runner: Runner, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    result = runner.run(*give(runner, how, "connect_timeout", "10s", monkeypatch))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    source = {
        "flag": "--snapq-connect-timeout",
        "ini": "ini snapq_connect_timeout",
        "env": "SNAPQ_CONNECT_TIMEOUT",
    }[how]
    result.stderr.fnmatch_lines([f"*snapq: {source}='10s' is not a whole number of seconds*"])


def test_a_malformed_url_is_quoted_without_its_password(runner: Runner) -> None:
    runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    result = runner.run("--snapq-url=postgresql://ci:pw-s3cret@localhost:${PGPORT}/postgres")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'postgresql://ci:***@localhost:${PGPORT}/postgres'*"])
    assert "pw-s3cret" not in result.stdout.str() + result.stderr.str()
