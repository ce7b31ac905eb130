"""A run that never reaches the database (``--help``, ``--version``, tests without a
database) creates no run directory and starts no process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Runner, assert_outcomes

FAKE_VERSION = "99.1"
# Loaded by every Python process that the runner starts (pytester puts its directory
# on PYTHONPATH): logs each process started and each run directory made, wherever it
# is made (TMPDIR, or /dev/shm were snapq to ignore TMPDIR) and however briefly: one
# removed again at the end of the run leaves no trace to look for afterwards.
SPY = """
import os
import sys

def _spy(event, args):
    if event == "os.mkdir" and os.path.basename(os.fspath(args[0])).startswith("snapq-"):
        _log(f"made {os.fspath(args[0])}")
    elif event in ("subprocess.Popen", "os.posix_spawn", "os.exec"):
        _log(f"started {os.fspath(args[0])}")

def _log(line):
    with open(os.environ["SNAPQ_TEST_SPY_LOG"], "a") as log:
        log.write(line + "\\n")

sys.addaudithook(_spy)
_log("loaded")
"""


class Untouched:
    """A fake PostgreSQL that leaves a marker when run, and a log of what the run did."""

    def __init__(self, runner: Runner, directory: Path) -> None:
        self.runner = runner
        self.marker = directory / "a binary ran"
        self.log = directory / "spy.log"
        self.bindir = directory / "bin"
        self.bindir.mkdir()
        for name, version in (
            ("postgres", f"postgres (PostgreSQL) {FAKE_VERSION}"),
            ("initdb", ""),
        ):
            script = self.bindir / name
            # The version line is there to be read from the file, never printed.
            script.write_text(f'#!/bin/sh\n# {version}\ntouch "{self.marker}"\nexit 1\n')
            script.chmod(0o755)
        runner.pytester.makepyfile(sitecustomize=SPY)

    def run(self, *args: str) -> pytest.RunResult:
        return self.runner.run(f"--snapq-pg-bin={self.bindir}", *args)

    def spied(self, what: str) -> list[str]:
        """Return the run directories ("made") or processes ("started") the spy saw."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        assert "loaded" in lines, "the spy did not load, so it could see nothing"
        return [line for line in lines if line.startswith(f"{what} ")]

    def assert_untouched(self, result: pytest.RunResult, *, workers: bool = False) -> None:
        """Assert that the runs made no run directory and ran no PostgreSQL binary, nor
        any process at all but xdist's ``workers`` (and what they run themselves)."""
        output = result.stdout.str() + result.stderr.str()
        assert self.spied("made") == [], output
        assert not self.marker.exists(), output
        if not workers:
            assert self.spied("started") == [], output
        assert list(self.runner.tmpdir.glob("snapq-*")) == []


@pytest.fixture
def untouched(runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Untouched:
    """A fake --snapq-pg-bin and a spy on the runner's runs."""
    monkeypatch.setenv("SNAPQ_TEST_SPY_LOG", str(tmp_path / "spy.log"))
    return Untouched(runner, tmp_path)


def test_help_creates_nothing_and_starts_nothing(untouched: Untouched) -> None:
    result = untouched.run("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["snapq: SQL and result snapshots on PostgreSQL:", "*--snapq-pg-bin*"]
    )
    untouched.assert_untouched(result)


@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        pytest.param(["--version"], [f"pytest {pytest.__version__}"], id="short"),
        # Twice: pytest loads the plugins to list them.
        pytest.param(["--version", "--version"], ["*snapq-* at *plugin.py"], id="verbose"),
    ],
)
def test_version_creates_nothing_and_starts_nothing(
    untouched: Untouched, flags: list[str], shown: list[str]
) -> None:
    result = untouched.run(*flags)
    assert result.ret == 0
    result.stdout.fnmatch_lines(shown)
    untouched.assert_untouched(result)


@pytest.mark.parametrize(
    "xdist",
    [
        pytest.param([], id="serial"),
        pytest.param(["-n", "2"], id="xdist"),
    ],
)
def test_a_run_without_database_creates_nothing_and_starts_nothing(
    untouched: Untouched, xdist: list[str]
) -> None:
    untouched.runner.pytester.makepyfile("def test_nothing():\n    pass\n")
    result = untouched.run(*xdist)
    assert_outcomes(result, passed=1)
    result.stdout.fnmatch_lines(
        [f"snapq: record=*, server=embedded PostgreSQL {FAKE_VERSION} (--snapq-pg-bin)"]
    )
    untouched.assert_untouched(result, workers=bool(xdist))


DATABASE_TEST = "def test_db(snapq_connection):\n    pass\n"


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(["--collect-only"], id="collect-only"),
        pytest.param(["--setup-plan"], id="setup-plan"),
        pytest.param(["-k", "not test_db"], id="deselected"),
    ],
)
def test_database_tests_that_do_not_run_start_nothing(
    untouched: Untouched, flags: list[str]
) -> None:
    # The embedded server starts in the background as the tests begin, for tests
    # that request it: never for tests that are not run.
    other = "def test_x():\n    pass\n"
    untouched.runner.pytester.makepyfile(test_db=DATABASE_TEST, test_other=other)
    result = untouched.run(*flags)
    assert result.ret == 0, result.stdout.str()
    untouched.assert_untouched(result)


def test_a_skipped_database_test_starts_nothing(untouched: Untouched) -> None:
    untouched.runner.pytester.makepyfile(
        "import pytest\n\n@pytest.mark.skip(reason='not today')\n" + DATABASE_TEST
    )
    result = untouched.run()
    assert_outcomes(result, skipped=1)
    untouched.assert_untouched(result)


def test_an_overridden_snapq_url_starts_nothing(untouched: Untouched) -> None:
    untouched.runner.pytester.makeconftest(
        "import pytest\n\n@pytest.fixture(scope='session')\n"
        "def snapq_url():\n    return 'postgresql+psycopg://nobody@localhost/none'\n"
    )
    untouched.runner.pytester.makepyfile("def test_url(snapq_url):\n    assert snapq_url\n")
    result = untouched.run()
    assert_outcomes(result, passed=1)
    untouched.assert_untouched(result)
