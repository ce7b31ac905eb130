"""Benchmark the per-test cost of snapq's async fixtures against a hand-written one.

Run from the repository root (pytest-asyncio and asyncpg are in the dev group)::

    .venv/bin/python benchmarks/bench_async.py

One generated async test, parametrized into TESTS, adds an author and two books
through an ``AsyncSession`` and checks a join with ``await assert_query_async(stmt,
sql=..., results=...)`` on passing inline snapshots. It runs two ways, on the same
server (snapq's embedded one) and database:

- snapq: the ``snapq_async_session`` fixture (sequences reset, deferred constraints
  checked, a commit that escapes detected, timeouts and settings pinned);
- by hand: the usual fixture, ``engine.connect()``, ``begin()``, ``AsyncSession(bind=
  conn, join_transaction_mode="create_savepoint")``, roll back (none of the above),
  on ``snapq_url``, the session passed to ``assert_query_async`` as ``connection=``.

Both run under pytest-asyncio (auto mode) with a loop per test, its default (the
hand-written engine has no pool: a pooled connection cannot outlive its loop), and
with one loop for the session (the hand-written engine is a session fixture and
keeps its pool); each on psycopg's async driver and on asyncpg. The snapshots are
recorded once with ``--snapq-record=missing``; the measured runs are in CI mode.

Each run is a pytest subprocess. A hook in its conftest notes when each test
starts; the per-test cost is the time from the start of test WARM_UP to the start
of the last one, divided by the tests in between. That leaves out start-up
(imports, the embedded server, the template: their noise is larger than the costs
measured) and the first tests, which connect and fill caches; what the run still
does after its last test starts (that test, session teardown, snapq's
``pytest_sessionfinish``) is printed beside, to show that nothing per test was
left for the end. The ways alternate within each of ROUNDS rounds, the two ways of
a case one after the other (each first in turn). It prints each way's median per
test, the difference, the median of the rounds' ratios (a pair shares the load that
other processes put on the machine) and the ratio of each way's fastest round.
Target (from issue 12): snapq within 1.3x the hand-written fixture per test.
Nothing is asserted.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from machine import machine  # benchmarks/machine.py

from snapq._database.binaries import find_postgres

TESTS = 200
WARM_UP = 10
ROUNDS = 6
LOOPS = ("function", "session")
DRIVERS = ("psycopg", "asyncpg")
TARGET = 1.3

MODELS = """
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    title: Mapped[str] = mapped_column(String(100))
"""
# In both conftests: build the schema, and note when each test starts and when the
# session has finished.
SETUP_HOOK = """
import json
import os
import time
from pathlib import Path

import pytest

from models import Base

STARTS = []


def pytest_snapq_setup_database(connection):
    Base.metadata.create_all(connection)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item):
    STARTS.append(time.perf_counter())


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session):
    result = yield
    times = {"starts": STARTS, "finished": time.perf_counter()}
    Path(os.environ["BENCH_TIMES"]).write_text(json.dumps(times))
    return result
"""
# The hand-written fixture, as its users write it for each loop scope.
BY_HAND_CONFTEST = (
    SETUP_HOOK
    + """
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool


@pytest.fixture(scope="session")
def async_url(snapq_url):
    url = make_url(snapq_url)  # psycopg's dialect picks its async driver itself
    if os.environ["BENCH_DRIVER"] == "asyncpg":
        url = url.set(drivername="postgresql+asyncpg")
    return url


if os.environ["BENCH_LOOP"] == "session":

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def engine(async_url):
        engine = create_async_engine(async_url)
        yield engine
        await engine.dispose()

else:

    @pytest.fixture(scope="session")
    def engine(async_url):
        return create_async_engine(async_url, poolclass=NullPool)


@pytest_asyncio.fixture
async def session(engine):
    async with engine.connect() as conn:
        trans = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint")
        yield session
        await session.close()
        await trans.rollback()
"""
)
TEST = """
import os

import pytest
from sqlalchemy import select

from models import Author, Book
from snapq import assert_query_async


@pytest.mark.parametrize("case", range(int(os.environ["BENCH_TESTS"])))
async def test_case({fixture}, case):
    session = {fixture}
    author = Author(name="Ursula")
    session.add(author)
    await session.flush()
    session.add_all(
        [
            Book(author_id=author.id, title="The Dispossessed"),
            Book(author_id=author.id, title="The Lathe of Heaven"),
        ]
    )
    await assert_query_async(
        select(Author.name, Book.title).join(Book).order_by(Book.title){connection}
    )
"""
WAYS = {
    "snapq": (SETUP_HOOK, TEST.format(fixture="snapq_async_session", connection="")),
    "by hand": (
        BY_HAND_CONFTEST,
        TEST.format(fixture="session", connection=", connection=session"),
    ),
}


@dataclass(frozen=True)
class Case:
    """One way to run the suite: which fixture, event loop scope and driver."""

    way: str
    loop: str
    driver: str

    def arguments(self) -> list[str]:
        return [
            f"--snapq-async-driver={self.driver}",
            f"--override-ini=asyncio_default_test_loop_scope={self.loop}",
            f"--override-ini=asyncio_default_fixture_loop_scope={self.loop}",
        ]


@dataclass(frozen=True)
class Timing:
    """One run: seconds per test, and from the start of its last test to its end."""

    per_test: float
    end: float


def make_project(directory: Path, conftest: str, test: str) -> Path:
    directory.mkdir()
    (directory / "models.py").write_text(textwrap.dedent(MODELS))
    (directory / "conftest.py").write_text(textwrap.dedent(conftest))
    (directory / "test_suite.py").write_text(textwrap.dedent(test))
    (directory / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    return directory


def run_pytest(project: Path, case: Case, tests: int, *options: str) -> Timing:
    """Run the suite with ``tests`` tests and return how long its tests took."""
    times = project / "times.json"
    env = {name: value for name, value in os.environ.items() if not name.startswith("SNAPQ_")}
    if "SNAPQ_CACHE_DIR" in os.environ:  # where the embedded server's files are kept
        env["SNAPQ_CACHE_DIR"] = os.environ["SNAPQ_CACHE_DIR"]
    env |= {
        "CI": "true",
        "BENCH_TESTS": str(tests),
        "BENCH_LOOP": case.loop,
        "BENCH_DRIVER": case.driver,
        "BENCH_TIMES": str(times),
    }
    plugins = ["-p", "no:cacheprovider", "-p", "no:randomly"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, *case.arguments(), *options],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]  # its summary, not every error
        raise RuntimeError(f"{case} failed:\n{output}")
    run = json.loads(times.read_text())
    starts: list[float] = run["starts"]
    first = min(WARM_UP, len(starts) - 1)  # the recording run has one test
    per_test = (starts[-1] - starts[first]) / max(len(starts) - 1 - first, 1)
    return Timing(per_test=per_test, end=float(run["finished"]) - starts[-1])


def record(projects: dict[str, Path]) -> None:
    """Record each suite's inline snapshots."""
    for way, project in projects.items():
        run_pytest(project, Case(way, LOOPS[0], DRIVERS[0]), 1, "--snapq-record=missing")
        if "results=" not in (project / "test_suite.py").read_text():
            raise RuntimeError(f"{way}: no snapshot was recorded")


def measure(projects: dict[str, Path]) -> dict[Case, list[Timing]]:
    """Run every case once a round, the two ways of a case one after the other."""
    product = itertools.product(LOOPS, DRIVERS, projects)
    cases = [Case(way, loop, driver) for loop, driver, way in product]
    timings: dict[Case, list[Timing]] = {case: [] for case in cases}
    for round_ in range(ROUNDS):
        for case in cases[:: 1 if round_ % 2 else -1]:  # each way first as often
            timings[case].append(run_pytest(projects[case.way], case, TESTS))
    return timings


def header() -> None:
    postgres = find_postgres(None)
    load = " ".join(f"{load:.2f}" for load in os.getloadavg())
    packages = ("sqlalchemy", "psycopg", "asyncpg", "pytest", "pytest-asyncio")
    print(f"date:        {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(f"machine:     {machine()}")
    print(f"load:        {load} (1/5/15 min, before the run)")
    print(f"postgresql:  {postgres.version} (snapq's embedded server)")
    print(f"python:      {platform.python_version()}")
    print("packages:    " + ", ".join(f"{name} {version(name)}" for name in packages))
    print(
        f"method:      {ROUNDS} rounds of a pytest run of {TESTS} tests per case; per test: "
        f"from test {WARM_UP} to the last, median of the rounds"
    )


def report(timings: dict[Case, list[Timing]]) -> None:
    print(
        f"\n{'loop':<10}{'driver':<9}{'snapq ms':>9}{'by hand ms':>11}{'extra ms':>9}"
        f"{'ratio':>7}   {'best: snapq':>11}{'by hand':>8}{'ratio':>7}"
    )
    cases = list(itertools.product(LOOPS, DRIVERS))
    for loop, driver in cases:
        snapq = timings[Case("snapq", loop, driver)]
        by_hand = timings[Case("by hand", loop, driver)]
        s_ms, h_ms = _ms(snapq, statistics.median), _ms(by_hand, statistics.median)
        pairs = zip(snapq, by_hand, strict=True)
        ratio = statistics.median(s.per_test / h.per_test for s, h in pairs)
        s_best, h_best = _ms(snapq, min), _ms(by_hand, min)
        print(
            f"{loop:<10}{driver:<9}{s_ms:>9.2f}{h_ms:>11.2f}{s_ms - h_ms:>9.2f}{ratio:>6.2f}x"
            f"   {s_best:>11.2f}{h_best:>8.2f}{s_best / h_best:>6.2f}x"
        )
    print(
        "\nms: per test, median of the rounds; ratio: median of the rounds' ratios (the "
        "two ways of a case\nrun one after the other); best: the fastest round of each "
        "way (the least disturbed by other load)"
    )
    print(f"target: snapq within {TARGET}x the hand-written fixture per test")
    print("\nper round, ms per test (snapq | by hand); end of session: from the start of")
    print("the last test, not counted per test, median ms (snapq | by hand):")
    for loop, driver in cases:
        snapq = timings[Case("snapq", loop, driver)]
        by_hand = timings[Case("by hand", loop, driver)]
        s_end = _ms(snapq, statistics.median, end=True)
        h_end = _ms(by_hand, statistics.median, end=True)
        print(
            f"  {loop:<9}{driver:<8}  {_rounds(snapq)} | {_rounds(by_hand)}"
            f"   end {s_end:.0f} | {h_end:.0f}"
        )


def _ms(timings: list[Timing], pick: Callable[[list[float]], float], *, end: bool = False) -> float:
    return pick([timing.end if end else timing.per_test for timing in timings]) * 1000


def _rounds(timings: list[Timing]) -> str:
    return " ".join(f"{timing.per_test * 1000:.1f}" for timing in timings)


def main() -> None:
    header()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="snapq-bench-async-") as directory:
        projects = {
            way: make_project(Path(directory) / way.replace(" ", "_"), conftest, test)
            for way, (conftest, test) in WAYS.items()
        }
        record(projects)
        timings = measure(projects)
    report(timings)
    load = " ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"\nbenchmark time: {time.perf_counter() - start:.0f} s, load after: {load}")


if __name__ == "__main__":
    main()
