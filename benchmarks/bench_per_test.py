"""Benchmark the whole per-test cost of ``assert_query`` against plain pytest.

Run from the repository root::

    .venv/bin/python benchmarks/bench_per_test.py            # measure
    .venv/bin/python benchmarks/bench_per_test.py --profile  # and profile snapq's path
    .venv/bin/python benchmarks/bench_per_test.py --compare /tmp/bench-before

The snapq measured is the one this script imports (the tree first on
``PYTHONPATH``, else the installed one); ``--compare TREE`` also runs the snapq
suite with another source tree of snapq first on ``PYTHONPATH`` (a git worktree of
an earlier commit, say), in the same rounds, and prints the two against each other.
Every run checks where it imported snapq from.

Two generated suites of TESTS tests, one test function each (each its own
statement and snapshot, as in a real suite), on one PostgreSQL server (snapq's
embedded one, started here, fsync off):

- snapq: the test inserts a row on ``snapq_connection`` (SQLAlchemy Core) and checks
  ``select(Item.name, Item.qty).where(Item.qty == n)`` with ``assert_query(stmt,
  sql=..., results=...)`` on passing inline snapshots, in CI mode (``CI=true``:
  record mode never); the server is given as ``SNAPQ_URL``. The snapshots are
  recorded once with ``--snapq-record=all``.
- plain: pytest without snapq's plugin (``-p no:snapq``); one psycopg connection
  for the session, a fixture that rolls it back after each test; the test inserts
  the same row and compares ``fetchall()`` of the same SELECT with a literal.
- SQLAlchemy by hand, for scale: without snapq's plugin too; the usual fixture
  (``engine.connect()``, ``begin()``, roll back); the test runs snapq's test's two
  statements on it and compares ``.all()`` with a literal. The difference between
  it and plain is SQLAlchemy's; between snapq and it, snapq's.

Each run is a pytest subprocess (``-q -p no:cacheprovider``). It prints three
costs: per test in the run (a hook in the conftest notes when each test's protocol
starts and ends; from the start of test WARM_UP to the end of the last, divided by
the tests in between: no start-up, no first-test warm-up, no session end); per test
from wall time (a run of the whole suite minus a run of the same suite with one
test selected, which pays the same start-up, collection and session end, divided
by TESTS - 1); and the whole run's wall time over TESTS (start-up included: what a
user waits for). The runs alternate within each of ROUNDS rounds (the order
reversed every other round); it prints each way's median, the ratio of the medians,
the median of the rounds' ratios (a round's runs share the machine's load) and the
ratio of each way's fastest round (the least disturbed). Target (issue 13): snapq
at most 1.15x plain per test. Nothing is asserted.

``--profile`` then runs the snapq suite once more under cProfile, enabled only
around each test's protocol from test WARM_UP on, and prints the functions of
snapq with the highest cumulative time per test, and the functions of any package
with the highest own time per test (cProfile slows Python code down, so the
figures are larger than in a plain run; their order is what counts).
``--profile-output FILE`` keeps the profile, for pstats or a viewer.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import psycopg
from machine import machine, tree_commit  # benchmarks/machine.py
from sqlalchemy.engine import make_url

import snapq
from snapq._config import resolve_settings
from snapq._database.binaries import find_postgres
from snapq._database.provision import Provisioner
from snapq._database.run import Run

TESTS = 400
WARM_UP = 10
ROUNDS = 9
TARGET = 1.15
TOP = 25
SCHEMA = "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL)"
PLAIN_DATABASE = "bench_plain"
TREE = Path(snapq.__file__).resolve().parents[1]  # the snapq source tree measured
SNAPQ, COMPARED, PLAIN, BY_HAND = "snapq", "snapq, compared", "plain", "SQLAlchemy by hand"

TIMING_HOOKS = f"""
import cProfile
import json
import os
import sys
import time
from pathlib import Path

import pytest

STARTS, ENDS = [], []
PROFILE = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    STARTS.append(time.perf_counter())
    profiling = PROFILE is not None and len(STARTS) > {WARM_UP}
    if profiling:
        PROFILE.enable()
    try:
        return (yield)
    finally:
        if profiling:
            PROFILE.disable()
        ENDS.append(time.perf_counter())


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session):
    result = yield
    module = sys.modules.get("snapq")
    times = {{
        "starts": STARTS,
        "ends": ENDS,
        "snapq": str(Path(module.__file__).resolve()) if module else None,
    }}
    Path(os.environ["BENCH_TIMES"]).write_text(json.dumps(times))
    if PROFILE is not None:
        PROFILE.dump_stats(os.environ["BENCH_PROFILE"])
    return result
"""
MODELS = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    qty: Mapped[int]
"""
SNAPQ_CONFTEST = (
    TIMING_HOOKS
    + """

def pytest_snapq_setup_database(connection):
    from models import Base

    Base.metadata.create_all(connection)
"""
)
PLAIN_CONFTEST = (
    TIMING_HOOKS
    + """
import psycopg


@pytest.fixture(scope="session")
def connection():
    with psycopg.connect(os.environ["BENCH_URL"]) as connection:
        yield connection


@pytest.fixture
def conn(connection):
    yield connection
    connection.rollback()
"""
)
BY_HAND_CONFTEST = (
    TIMING_HOOKS
    + """
from sqlalchemy import create_engine

ENGINE = create_engine(os.environ["BENCH_SQLALCHEMY_URL"])


@pytest.fixture
def conn():
    with ENGINE.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()
"""
)
SNAPQ_HEADER = """
from sqlalchemy import insert, select

from models import Item
from snapq import assert_query
"""
SNAPQ_TEST = """

def test_case_{n}(snapq_connection):
    snapq_connection.execute(insert(Item).values(name="item {n}", qty={n}))
    assert_query(select(Item.name, Item.qty).where(Item.qty == {n}))
"""
PLAIN_TEST = """

def test_case_{n}(conn):
    conn.execute("INSERT INTO items (name, qty) VALUES (%s, %s)", ("item {n}", {n}))
    rows = conn.execute("SELECT items.name, items.qty FROM items WHERE items.qty = {n}")
    assert rows.fetchall() == [("item {n}", {n})]
"""
BY_HAND_HEADER = """
from sqlalchemy import insert, select

from models import Item
"""
BY_HAND_TEST = """

def test_case_{n}(conn):
    conn.execute(insert(Item).values(name="item {n}", qty={n}))
    rows = conn.execute(select(Item.name, Item.qty).where(Item.qty == {n})).all()
    assert rows == [("item {n}", {n})]
"""
PYTEST_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


@dataclass(frozen=True)
class Project:
    """What a suite's files hold, and the options it runs with."""

    conftest: str
    header: str
    test: str
    options: tuple[str, ...] = ()

    def write(self, directory: Path) -> None:
        directory.mkdir()
        (directory / "pytest.ini").write_text(PYTEST_INI)
        (directory / "models.py").write_text(textwrap.dedent(MODELS))
        (directory / "conftest.py").write_text(textwrap.dedent(self.conftest))
        tests = "".join(self.test.format(n=n) for n in range(TESTS))
        (directory / "test_suite.py").write_text(self.header + tests)


SNAPQ_PROJECT = Project(SNAPQ_CONFTEST, SNAPQ_HEADER, SNAPQ_TEST)
PLAIN_PROJECT = Project(PLAIN_CONFTEST, "", PLAIN_TEST, ("-p", "no:snapq"))
BY_HAND_PROJECT = Project(BY_HAND_CONFTEST, BY_HAND_HEADER, BY_HAND_TEST, ("-p", "no:snapq"))


@dataclass(frozen=True)
class Timing:
    """One run: its wall time, and seconds per test from its hooks."""

    wall: float
    per_test: float


@dataclass(frozen=True)
class Suite:
    """A generated project, and how to run it."""

    way: str
    directory: Path
    options: tuple[str, ...]
    env: dict[str, str]
    tree: Path | None  # the snapq source tree its runs must import (None: no snapq)

    def run(self, *arguments: str, record: bool = False) -> Timing:
        """Run pytest on the suite; return its timing."""
        times = self.directory / "times.json"
        env = dict(self.env, BENCH_TIMES=str(times))
        if record:
            env.pop("CI", None)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        start = time.perf_counter()
        result = subprocess.run(
            [*command, "-p", "no:randomly", *self.options, *arguments],
            cwd=self.directory,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-3000:]
            raise RuntimeError(f"{self.way} {' '.join(arguments)} failed:\n{output}")
        run = json.loads(times.read_text())
        expected = None if self.tree is None else str(self.tree / "snapq" / "__init__.py")
        if run["snapq"] != expected:
            raise RuntimeError(f"{self.way}: snapq imported from {run['snapq']}, not {expected}")
        starts, ends = run["starts"], run["ends"]
        first = min(WARM_UP, len(starts) - 1)
        per_test = (ends[-1] - starts[first]) / (len(starts) - first)
        return Timing(wall=wall, per_test=per_test)

    def one_test(self) -> Timing:
        """Run one test of the suite: the same start-up, collection and end."""
        return self.run("test_suite.py::test_case_0")


@contextmanager
def server() -> Iterator[str]:
    """Start snapq's embedded server with the plain suite's database; yield its URL."""
    provisioner = Provisioner(resolve_settings(options={}, environ={}, ini={}), Run.create())
    try:
        url = provisioner.run.server(provisioner.install).url()
        with _connect(url, "postgres") as admin:
            admin.execute(f"CREATE DATABASE {PLAIN_DATABASE}")
        with _connect(url, PLAIN_DATABASE) as connection:
            connection.execute(SCHEMA)
        yield url
    finally:
        provisioner.close_run(databases_used=False)


def _connect(url: str, database: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_libpq_url(url, database), autocommit=True)


def _libpq_url(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


def make_suites(directory: Path, url: str, compare: Path | None) -> dict[str, Suite]:
    """Write the projects; record the snapq suites' snapshots."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SNAPQ_")}
    if "SNAPQ_CACHE_DIR" in os.environ:  # where the embedded server's files are kept
        env["SNAPQ_CACHE_DIR"] = os.environ["SNAPQ_CACHE_DIR"]
    env["CI"] = "true"
    snapq_env = dict(env, SNAPQ_URL=url)
    plain_env = dict(env, BENCH_URL=_libpq_url(url, PLAIN_DATABASE))
    sqlalchemy_url = make_url(url).set(database=PLAIN_DATABASE)
    by_hand_env = dict(env, BENCH_SQLALCHEMY_URL=sqlalchemy_url.render_as_string(False))
    suites = {SNAPQ: Suite(SNAPQ, directory / "snapq", (), snapq_env, TREE)}
    if compare is not None:
        other = dict(snapq_env, PYTHONPATH=str(compare))
        suites[COMPARED] = Suite(COMPARED, directory / "compared", (), other, compare)
    suites[PLAIN] = Suite(PLAIN, directory / PLAIN, PLAIN_PROJECT.options, plain_env, None)
    suites[BY_HAND] = Suite(
        BY_HAND, directory / "by_hand", BY_HAND_PROJECT.options, by_hand_env, None
    )
    projects = {PLAIN: PLAIN_PROJECT, BY_HAND: BY_HAND_PROJECT}
    for suite in suites.values():
        projects.get(suite.way, SNAPQ_PROJECT).write(suite.directory)
        if suite.tree is not None:
            suite.run("--snapq-record=all", record=True)
            recorded = (suite.directory / "test_suite.py").read_text().count("results=")
            if recorded != TESTS:
                raise RuntimeError(f"{suite.way}: {recorded} of {TESTS} results recorded")
    return suites


Timings = dict[str, dict[str, list[Timing]]]  # way: "whole" or "one": a timing a round


def measure(suites: dict[str, Suite], rounds: int) -> Timings:
    """Run each suite whole and with one test, once a round, alternating."""
    timings: Timings = {way: {"whole": [], "one": []} for way in suites}
    for suite in suites.values():  # warm up: compiled test modules, the OS's caches
        suite.run()
    for round_ in range(rounds):
        order = list(suites.values())[:: 1 if round_ % 2 == 0 else -1]
        for suite in order:
            timings[suite.way]["whole"].append(suite.run())
        for suite in order[::-1]:
            timings[suite.way]["one"].append(suite.one_test())
        print(f"  round {round_ + 1}/{rounds} done", file=sys.stderr)
    return timings


def header(rounds: int, compare: Path | None) -> None:
    postgres = find_postgres(None)
    load = " ".join(f"{load:.2f}" for load in os.getloadavg())
    packages = ("sqlalchemy", "psycopg", "sqlglot", "tabulate", "pytest")
    print(f"date:        {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(f"machine:     {machine()}")
    print(f"load:        {load} (1/5/15 min, before the run)")
    print(f"postgresql:  {postgres.version} (snapq's embedded server, for every suite)")
    print(f"python:      {platform.python_version()}")
    print("packages:    " + ", ".join(f"{name} {version(name)}" for name in packages))
    print(f"snapq:       {TREE}: {tree_commit(TREE)}")
    if compare is not None:
        print(f"compared:    {compare}: {tree_commit(compare)}")
    print(
        f"method:      {rounds} rounds of pytest runs of {TESTS} tests per way, alternating; "
        "median of the rounds"
    )


MEASURES: dict[str, Callable[[dict[str, list[Timing]], int], float]] = {
    "per test, in the run": lambda runs, i: runs["whole"][i].per_test,
    "per test, wall - one test": lambda runs, i: (
        (runs["whole"][i].wall - runs["one"][i].wall) / (TESTS - 1)
    ),
    "whole run, wall / tests": lambda runs, i: runs["whole"][i].wall / TESTS,
    "one test, wall / tests": lambda runs, i: runs["one"][i].wall / TESTS,
}


def report(timings: Timings) -> None:
    rounds = range(len(timings[PLAIN]["whole"]))
    print(
        f"\n{'ms per test':<27}{'way':<20}{'ms':>7}{'vs plain':>10}{'of rounds':>11}"
        f"{'range of rounds':>17}{'best':>7}"
    )
    for name, pick in MEASURES.items():
        ms = {way: [pick(runs, i) * 1000 for i in rounds] for way, runs in timings.items()}
        for way, values in ms.items():
            cells = f"{statistics.median(values):>7.2f}"
            if way != PLAIN:
                cells += _ratios(values, ms[PLAIN])
            print(f"{name if way == SNAPQ else '':<27}{way:<20}{cells}")
        print(f"{'':<27}{'snapq / by hand':<27}{_ratios(ms[SNAPQ], ms[BY_HAND])}")
        if COMPARED in ms:
            print(f"{'':<27}{'snapq / compared':<27}{_ratios(ms[SNAPQ], ms[COMPARED])}")
    print(
        f"\nper test, in the run: test {WARM_UP} to the end of the last, from the conftest's "
        "hooks; wall - one test:\nthe suite's wall time minus that of a run of one of its "
        f"tests, over {TESTS - 1}; whole run: its wall time\nover {TESTS} (start-up "
        f"included); one test: that run's wall time over {TESTS} (start-up alone, for\n"
        "scale). ms: median of the rounds; vs plain: ratio of the medians; of rounds: median "
        "of the\nrounds' ratios; best: ratio of the fastest rounds"
    )
    print(f"target: snapq at most {TARGET}x plain per test")
    print("\nper round, ms per test in the run:")
    for way, runs in timings.items():
        print(f"  {way:<20}{_rounds(runs['whole'])}")


def _ratios(values: list[float], base: list[float]) -> str:
    ratios = [value / other for value, other in zip(values, base, strict=True)]
    of_medians = statistics.median(values) / statistics.median(base)
    spread = f"{min(ratios):.2f}-{max(ratios):.2f}x"
    return (
        f"{of_medians:>9.2f}x{statistics.median(ratios):>10.2f}x{spread:>17}"
        f"{min(values) / min(base):>6.2f}x"
    )


def _rounds(timings: list[Timing]) -> str:
    return " ".join(f"{timing.per_test * 1000:.2f}" for timing in timings)


def profile(suite: Suite, output: Path) -> None:
    """Run the suite under cProfile into ``output``; print where snapq's path spends
    its time."""
    env = dict(suite.env, BENCH_PROFILE=str(output))
    timing = Suite(suite.way, suite.directory, suite.options, env, suite.tree).run()
    entries = pstats.Stats(str(output)).stats  # type: ignore[attr-defined]
    tests = TESTS - WARM_UP
    package = str(TREE / "snapq")
    total = sum(entry[2] for entry in entries.values())
    print(
        f"\nprofile: {tests} tests under cProfile, {timing.per_test * 1000:.2f} ms per test "
        f"in the run, {total / tests * 1000:.2f} ms profiled per test"
    )
    by_cumulative = sorted(entries.items(), key=lambda item: -item[1][3])
    rows = [(key, entry) for key, entry in by_cumulative if key[0].startswith(package)]
    print(f"\ntop {TOP} functions of snapq by cumulative time, per test:")
    print(f"{'cumulative ms':>14}{'own ms':>8}{'calls':>7}  function")
    for key, entry in rows[:TOP]:
        print(_profile_line(key, entry, tests, package))
    by_own = sorted(entries.items(), key=lambda item: -item[1][2])
    print(f"\ntop {TOP} functions of any package by own time, per test:")
    print(f"{'cumulative ms':>14}{'own ms':>8}{'calls':>7}  function")
    for key, entry in by_own[:TOP]:
        print(_profile_line(key, entry, tests, package))


def _profile_line(
    key: tuple[str, int, str],
    entry: tuple[int, int, float, float, object],
    tests: int,
    package: str,
) -> str:
    filename, line, function = key
    if filename.startswith(package):
        where = "snapq" + filename[len(package) :]
    elif "site-packages/" in filename:
        where = filename.split("site-packages/", 1)[1]
    else:
        where = filename
    _primitive, calls, own, cumulative, _callers = entry
    return (
        f"{cumulative / tests * 1000:>14.3f}{own / tests * 1000:>8.3f}{calls / tests:>7.1f}"
        f"  {where}:{line} {function}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"default {ROUNDS}")
    parser.add_argument(
        "--compare", type=Path, metavar="TREE", help="another snapq source tree, measured too"
    )
    parser.add_argument("--profile", action="store_true", help="profile snapq's path too")
    parser.add_argument(
        "--profile-output", type=Path, help="keep the profile there (pstats), for a viewer"
    )
    arguments = parser.parse_args()
    compare = arguments.compare.resolve() if arguments.compare else None
    if compare is not None and not (compare / "snapq" / "__init__.py").exists():
        raise SystemExit(f"{compare} holds no snapq package")
    header(arguments.rounds, compare)
    start = time.perf_counter()
    with server() as url, tempfile.TemporaryDirectory(prefix="snapq-bench-per-test-") as path:
        suites = make_suites(Path(path), url, compare)
        if arguments.rounds:
            report(measure(suites, arguments.rounds))
        if arguments.profile or arguments.profile_output:
            output = arguments.profile_output or Path(path) / "snapq.prof"
            profile(suites[SNAPQ], output.resolve())
    load = " ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"\nbenchmark time: {time.perf_counter() - start:.0f} s, load after: {load}")


if __name__ == "__main__":
    main()
