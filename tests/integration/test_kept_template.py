"""A template kept across runs: reused while what it is built from holds, rebuilt when
any of it changes or when asked, on the embedded server and on an external one."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapq._database.embedded import ServerInfo
from tests.integration.conftest import Runner, assert_outcomes

# Each build leaves a line in built.log, outside the database: a reused template
# leaves none.
HOOK = """
from pathlib import Path
from snapq import load_sql

def pytest_snapq_setup_database(connection):
    with Path("built.log").open("a") as log:
        log.write("built\\n")
    load_sql(connection, "schema.sql")
"""

TESTS = """
from sqlalchemy import text

def test_the_schema(snapq_connection):
    columns = snapq_connection.execute(
        text("SELECT column_name FROM information_schema.columns WHERE table_name = 'notes'")
    )
    assert sorted(columns.scalars()) == sorted(open("expected_columns").read().split())

def test_isolated(snapq_connection):
    snapq_connection.execute(text("INSERT INTO notes (body) VALUES ('x')"))
    assert snapq_connection.execute(text("SELECT count(*) FROM notes")).scalar() == 1
"""


def project(runner: Runner, columns: str = "id body") -> None:
    path = runner.pytester.path
    runner.pytester.makeini("[pytest]\nsnapq_schema_files = models/*.py\n")
    (path / "models").mkdir(exist_ok=True)
    (path / "models" / "notes.py").write_text("NOTES = 'notes'\n")
    definition = ", ".join(
        "id serial PRIMARY KEY" if name == "id" else f"{name} text" for name in columns.split()
    )
    (path / "schema.sql").write_text(f"CREATE TABLE notes ({definition});\n")
    (path / "expected_columns").write_text(columns)
    runner.pytester.makeconftest(HOOK)
    runner.pytester.makepyfile(test_schema=TESTS)


def builds(runner: Runner) -> int:
    log = runner.pytester.path / "built.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture
def own_cache(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of the test's own, so the kept data directories go with it."""
    cache = runner.tmpdir / "cache"
    cache.mkdir(mode=0o711)
    monkeypatch.setenv("SNAPQ_CACHE_DIR", str(cache))
    return cache


def test_the_template_is_reused_until_what_it_is_built_from_changes(
    runner: Runner, own_cache: Path
) -> None:
    project(runner)
    first = runner.run()
    assert_outcomes(first, passed=2)
    first.stdout.fnmatch_lines(
        ["snapq note: template snapq_kept_* built in * s, kept for later runs*"]
    )
    assert builds(runner) == 1

    again = runner.run("-n", "2")
    assert_outcomes(again, passed=2)
    again.stdout.fnmatch_lines(["snapq note: template snapq_kept_* reused (built * UTC)*"])
    assert builds(runner) == 1, "a reused template runs no hook"

    # A file load_sql read while building: checked by its contents.
    project(runner, columns="id body title")
    assert_outcomes(runner.run(), passed=2)
    assert builds(runner) == 2

    # A declared file.
    (runner.pytester.path / "models" / "notes.py").write_text("NOTES = 'renamed'\n")
    assert_outcomes(runner.run(), passed=2)
    assert builds(runner) == 3

    # The hook's own module.
    runner.pytester.makeconftest(HOOK + "\n# changed\n")
    assert_outcomes(runner.run(), passed=2)
    assert builds(runner) == 4

    assert_outcomes(runner.run("--snapq-rebuild", "-n", "2"), passed=2)
    assert builds(runner) == 5, "--snapq-rebuild builds once, not once per worker"
    assert_outcomes(runner.run(), passed=2)
    assert builds(runner) == 5
    kept = list(own_cache.glob("kept-*"))
    assert len([path for path in kept if path.is_dir()]) == 1, kept


def test_two_runs_at_once_each_use_a_whole_template(runner: Runner, own_cache: Path) -> None:
    project(runner)
    import subprocess
    import sys

    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    runs = [
        subprocess.Popen(command, cwd=runner.pytester.path, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert builds(runner) <= 2
    before = builds(runner)
    assert_outcomes(runner.run(), passed=2)
    assert builds(runner) == before


def test_a_pattern_that_matches_nothing_is_named(runner: Runner, own_cache: Path) -> None:
    project(runner)
    runner.pytester.makeini("[pytest]\nsnapq_schema_files = models/*.py migrations/*.py\n")
    result = runner.run()
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*snapq_schema_files names 'migrations/*.py', which matches no file under *"]
    )


def test_on_an_external_server_the_kept_template_is_a_database_of_the_checkout(
    runner: Runner, external_server: ServerInfo, own_cache: Path
) -> None:
    from sqlalchemy import create_engine, text

    project(runner)
    url = external_server.url()
    assert_outcomes(runner.run(f"--snapq-url={url}"), passed=2)
    assert_outcomes(runner.run(f"--snapq-url={url}", "-n", "2"), passed=2)
    assert builds(runner) == 1
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as admin:
        names = admin.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'snapq%'"))
        kept = [name for (name,) in names]
        assert len(kept) == 1, kept
        assert kept[0].startswith("snapq_kept_")
        admin.execute(text(f'DROP DATABASE "{kept[0]}"'))
    engine.dispose()
