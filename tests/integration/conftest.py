"""Drive whole pytest runs that use snapq, and check they leave nothing behind."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from snapq._database.binaries import find_postgres
from snapq._database.embedded import ServerInfo, start_server, stop_server
from snapq._database.run import Run

SETTINGS_VARIABLES = (
    "SNAPQ_RECORD",
    "SNAPQ_URL",
    "SNAPQ_PG_BIN",
    "SNAPQ_STATEMENT_TIMEOUT",
    "SNAPQ_LOCK_TIMEOUT",
    "SNAPQ_IDLE_IN_TRANSACTION_TIMEOUT",
    "SNAPQ_INLINE_MAX_LINES",
    "SNAPQ_CONNECT_TIMEOUT",
    "SNAPQ_ASYNC_DRIVER",
    "SNAPQ_SESSION_CLASS",
    "SNAPQ_EXTENSIONS",
    "SNAPQ_SCHEMA_FILES",
    "SNAPQ_REBUILD",
    "SNAPQ_MASK",
)

# The PostgreSQL the suite runs on: the embedded wheel's, unless SNAPQ_PG_BIN names
# another install (CI runs the suite once more on Debian's PostgreSQL 15). The runs the
# tests drive and the stand-in external server use it too, so that every scenario runs
# on it; tests of the embedded wheel itself are marked ``embedded_wheel``.
SUITE_PG_BIN = os.environ.get("SNAPQ_PG_BIN") or None
embedded_wheel = pytest.mark.skipif(
    SUITE_PG_BIN is not None,
    reason=f"about the embedded wheel's server, and this run's is SNAPQ_PG_BIN={SUITE_PG_BIN}",
)

# pytest in a subprocess that sees Ctrl-C as a user's would: an xdist worker running
# the outer test may ignore SIGINT, and a child inherits that (preexec_fn, the other
# way to undo it, is not safe in a process with threads).
PYTEST_WITH_CTRL_C = (
    sys.executable,
    "-c",
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.exit(pytest.main(sys.argv[1:]))",
)

# Written by inner tests that call it: where the run's server is, for the outer test.
RECORD_SERVER = """
import json, pathlib
from sqlalchemy.engine import make_url

def record_server(url, out="server.json"):
    run_dir = pathlib.Path(make_url(url).query["host"]).parent
    pathlib.Path(out).write_text((run_dir / "server.json").read_text())
"""


@dataclass
class Runner:
    """Run pytest in a subprocess, with a private TMPDIR so leftovers can be found."""

    pytester: pytest.Pytester
    tmpdir: Path

    def run(self, *args: str, timeout: float = 120) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=timeout)

    def leftovers(self) -> list[str]:
        """Return run directories and postgres processes that this test's runs left."""
        found = [str(path) for path in self.tmpdir.glob("snapq-*")]
        return found + [f"process {pid}: {cmd}" for pid, cmd in processes_under(self.tmpdir)]


def processes_under(path: Path, program: str = "postgres") -> list[tuple[int, str]]:
    """Return processes of ``program`` whose command line mentions ``path`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmdline and program in cmdline:
            found.append((int(entry.name), cmdline))
    return found


def wait_until(condition: Callable[[], object], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def runner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    """A pytest runner whose runs must leave no server and no run directory behind."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if SUITE_PG_BIN:
        monkeypatch.setenv("SNAPQ_PG_BIN", SUITE_PG_BIN)
    monkeypatch.delenv("CI", raising=False)  # CI sets it; tests that want it say so
    for name in [name for name in os.environ if name.startswith("PYTEST_XDIST_")]:
        # Under `pytest -n`, an inner run would believe it is an xdist worker.
        monkeypatch.delenv(name)
    # Short, so unix socket paths stay within their limit; in memory where possible,
    # as snapq itself prefers.
    memory = Path("/dev/shm")  # noqa: S108 - a parent for mkdtemp only
    tmpdir = Path(tempfile.mkdtemp(prefix="sq", dir=memory if memory.is_dir() else None))
    tmpdir.chmod(0o755)  # as root, the server user must reach the run directory in it
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    pytester.makepyfile(record_server=RECORD_SERVER)
    runner = Runner(pytester, tmpdir)
    yield runner
    try:
        assert wait_until(lambda: not runner.leftovers(), timeout=15), runner.leftovers()
    finally:
        # Even when the test failed: stop whatever server its runs left behind.
        for server_file in tmpdir.glob("snapq-*/server.json"):
            stop_server(ServerInfo.load(server_file))
        shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture(params=[[], ["-n", "2"]], ids=["serial", "xdist"])
def xdist_args(request: pytest.FixtureRequest) -> list[str]:
    """Run a scenario once in a single process and once under ``-n 2``."""
    return list(request.param)


@pytest.fixture(scope="session")
def external_server() -> Iterator[ServerInfo]:
    """A second PostgreSQL, standing in for a server the user already runs."""
    run = Run.create()
    info = start_server(find_postgres(SUITE_PG_BIN), run_dir=run.run_dir, owner_pid=os.getpid())
    yield info
    stop_server(info)
    run.close()


def assert_outcomes(result: pytest.RunResult, **expected: int) -> None:
    """Assert a run's outcomes, showing its output when they differ."""
    parsed = result.parseoutcomes()
    actual = {key: parsed.get(key, 0) for key in expected}
    assert actual == expected, result.stdout.str() + result.stderr.str()


DOCS = Path(__file__).resolve().parents[2] / "docs"


def doc_block(page: str, containing: str) -> str:
    """Return the code block of ``docs/<page>`` that holds ``containing``, so that a test
    runs exactly what the docs show."""
    blocks = re.findall(r"^```\w*\n(.*?)^```", (DOCS / page).read_text(), re.DOTALL | re.MULTILINE)
    (block,) = [block for block in blocks if containing in block]
    return block
