"""Benchmark snapq's isolation against the other ways to isolate test databases.

Run from the repository root (matplotlib is in the dev group)::

    .venv/bin/python benchmarks/bench_alternatives.py

One generated suite, each test inserting three rows and checking a query on them,
runs these ways on one PostgreSQL server (snapq's embedded one, fsync off):

- snapq: ``snapq_connection`` (a transaction rolled back after each test, sequences
  reset, deferred constraints checked);
- rollback by hand: the usual SQLAlchemy fixture, ``connect()``, ``begin()``, roll
  back (no sequence reset, no constraint check): the cheapest isolation under pytest;
- database per test: a fresh database cloned from a template for every test, as
  pytest-postgresql does;
- TRUNCATE: one database, the test commits, then every table is truncated;
- floor: the same statements in a plain psycopg loop, without pytest.

The cost of TRUNCATE and of cloning a database grows with the schema, so each way
runs on a schema of one table and on one of TABLES tables (the test uses the first).
Each way runs a small and a large suite (SIZES; fewer tests for a database per
test, whose cost dwarfs the noise); the per-test cost is the difference divided by
the number of extra tests, so start-up cancels out. The ways alternate
within each of REPEATS rounds, and each run's time is the best of its rounds (as
timeit does): on a shared machine the others' load only ever adds time. It prints
per-test costs and ratios to snapq, and draws docs/benchmark.png.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from machine import machine  # benchmarks/machine.py
from sqlalchemy.engine import make_url

from snapq._config import resolve_settings
from snapq._database.binaries import find_postgres
from snapq._database.provision import Provisioner
from snapq._database.run import Run

SIZES = (100, 1000)
SIZES_DATABASE_PER_TEST = (30, 300)
REPEATS = 5
TABLES = 10
ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "docs" / "benchmark.png"

TEST_BODY = """
    for n in range(3):
        conn.execute(text("INSERT INTO items (name, qty) VALUES (:name, :qty)"),
                     {"name": f"item {n}", "qty": n + 1})
    count, total = conn.execute(text("SELECT count(*), sum(qty) FROM items")).one()
    assert (count, total) == (3, 6)
"""
TEST_HEADER = """
import pytest
from sqlalchemy import text

@pytest.mark.parametrize("case", range({tests}))
"""
SNAPQ_TEST = TEST_HEADER + "def test_case(snapq_connection, case):\n    conn = snapq_connection\n"
PLAIN_TEST = TEST_HEADER + "def test_case(conn, case):\n"

SNAPQ_CONFTEST = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.exec_driver_sql({schema!r})
"""
ROLLBACK_CONFTEST = """
import os
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ENGINE = create_engine(make_url(os.environ["BENCH_URL"]).set(database="bench_rollback"))

@pytest.fixture
def conn():
    with ENGINE.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()
"""
DATABASE_PER_TEST_CONFTEST = """
import os, uuid
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SERVER = make_url(os.environ["BENCH_URL"])
ADMIN = create_engine(SERVER, isolation_level="AUTOCOMMIT", poolclass=NullPool)

@pytest.fixture
def conn():
    name = "bench_" + uuid.uuid4().hex[:12]
    with ADMIN.connect() as admin:
        admin.exec_driver_sql(f"CREATE DATABASE {{name}} TEMPLATE bench_template")
    engine = create_engine(SERVER.set(database=name), poolclass=NullPool)
    with engine.begin() as connection:
        yield connection
    engine.dispose()
    with ADMIN.connect() as admin:
        admin.exec_driver_sql(f"DROP DATABASE {{name}}")
"""
TRUNCATE_CONFTEST = """
import os
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ENGINE = create_engine(make_url(os.environ["BENCH_URL"]).set(database="bench_truncate"))

@pytest.fixture
def conn():
    with ENGINE.begin() as connection:
        yield connection
    with ENGINE.begin() as connection:
        connection.exec_driver_sql({truncate!r})
"""
WAYS = {
    "snapq": (SNAPQ_CONFTEST, SNAPQ_TEST),
    "rollback by hand": (ROLLBACK_CONFTEST, PLAIN_TEST),
    "database per test": (DATABASE_PER_TEST_CONFTEST, PLAIN_TEST),
    "TRUNCATE": (TRUNCATE_CONFTEST, PLAIN_TEST),
}
FLOOR = "floor (psycopg loop)"


def schema(tables: int) -> str:
    """Return the DDL of ``items`` and ``tables - 1`` tables that refer to it."""
    statements = ["CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int)"]
    statements += [
        f"CREATE TABLE related_{n} (id serial PRIMARY KEY, "
        f"item_id int NOT NULL REFERENCES items, note text UNIQUE)"
        for n in range(1, tables)
    ]
    return ";\n".join(statements)


def truncate(tables: int) -> str:
    names = ["items"] + [f"related_{n}" for n in range(1, tables)]
    return f"TRUNCATE {', '.join(names)} RESTART IDENTITY"


@contextmanager
def server(tables: int) -> Iterator[str]:
    """Start snapq's embedded server with the databases of every way; yield its URL."""
    provisioner = Provisioner(resolve_settings(options={}, environ={}, ini={}), Run.create())
    try:
        url = provisioner.run.server(provisioner.install).url()
        databases = ("bench_template", "bench_rollback", "bench_truncate", "bench_floor")
        with _connect(url, "postgres") as admin:
            for database in databases:
                admin.execute(f"CREATE DATABASE {database}")
        for database in databases:
            with _connect(url, database) as connection:
                connection.execute(schema(tables))
        yield url
    finally:
        provisioner.close_run(databases_used=False)


def _connect(url: str, database: str) -> psycopg.Connection[tuple[object, ...]]:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return psycopg.connect(parsed.render_as_string(hide_password=False), autocommit=True)


def run_pytest(project: Path, test: str, tests: int, env: dict[str, str]) -> float:
    """Run the suite with ``tests`` tests and return the wall time in seconds."""
    (project / "test_suite.py").write_text(textwrap.dedent(test.format(tests=tests) + TEST_BODY))
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return elapsed


def floor(url: str, tests: int) -> float:
    """Run the same statements in a plain psycopg loop: the cost of the work itself."""
    with _connect(url, "bench_floor") as connection:
        connection.autocommit = False
        start = time.perf_counter()
        for _ in range(tests):
            for n in range(3):
                connection.execute(
                    "INSERT INTO items (name, qty) VALUES (%s, %s)", (f"item {n}", n + 1)
                )
            count, total = connection.execute("SELECT count(*), sum(qty) FROM items").fetchone()  # type: ignore[misc]
            assert (count, total) == (3, 6)
            connection.rollback()
        return time.perf_counter() - start


def measure(tables: int) -> dict[str, float]:
    """Return each way's per-test cost, in seconds, on a schema of ``tables``."""
    times: dict[tuple[str, int], list[float]] = {}
    with server(tables) as url, tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "BENCH_URL": url, "CI": "true"}
        env.pop("SNAPQ_URL", None)
        projects = {}
        for name, (conftest, _test) in WAYS.items():
            project = projects[name] = Path(directory) / name.replace(" ", "_")
            project.mkdir()
            text = conftest.format(schema=schema(tables), truncate=truncate(tables))
            (project / "conftest.py").write_text(textwrap.dedent(text))
        for _ in range(REPEATS):
            for size in (0, 1):
                for name, (_conftest, test) in WAYS.items():
                    tests = _sizes(name)[size]
                    times.setdefault((name, tests), []).append(
                        run_pytest(projects[name], test, tests, env)
                    )
                tests = _sizes(FLOOR)[size]
                times.setdefault((FLOOR, tests), []).append(floor(url, tests))
    costs = {}
    for name in [*WAYS, FLOOR]:
        small, large = _sizes(name)
        costs[name] = (min(times[name, large]) - min(times[name, small])) / (large - small)
    return costs


def _sizes(way: str) -> tuple[int, int]:
    return SIZES_DATABASE_PER_TEST if way == "database per test" else SIZES


def report(results: dict[int, dict[str, float]]) -> None:
    print(f"{'way':<22}" + "".join(f"{f'{n} table(s), ms':>20}{'vs snapq':>10}" for n in results))
    for name in [*WAYS, FLOOR]:
        cells = ""
        for costs in results.values():
            cells += f"{costs[name] * 1000:>20.3f}{costs[name] / costs['snapq']:>9.1f}x"
        print(f"{name:<22}{cells}")
    print(
        "\ntargets: snapq >= 10x faster per test than database per test, >= 3x faster "
        "than TRUNCATE, within 3x of the floor"
    )


def chart(results: dict[int, dict[str, float]], caption: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    names = [*WAYS, FLOOR][::-1]
    figure, axes = plt.subplots(figsize=(7.5, 4))
    height = 0.38
    styles = zip(results, (height / 2, -height / 2), ("#2a6", "#888"), strict=True)
    for tables, offset, color in styles:
        costs = [results[tables][name] * 1000 for name in names]
        label = f"schema of {tables} table{'s' if tables > 1 else ''}"
        bars = axes.barh(
            [i + offset for i in range(len(names))], costs, height, color=color, label=label
        )
        axes.bar_label(bars, labels=[f"{cost:.2f} ms" for cost in costs], padding=3, fontsize=8)
    axes.set_yticks(range(len(names)), names)
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
    axes.set_xlim(0.3, max(max(costs.values()) for costs in results.values()) * 1000 * 4)
    axes.set_xlabel("cost per test (ms, log scale), lower is better")
    axes.set_title("Isolating each test's database", loc="left")
    axes.legend(loc="lower right", fontsize=8)
    figure.text(0.01, 0.01, caption, fontsize=7, color="#555")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(CHART, dpi=120)


def main() -> None:
    postgres = find_postgres(None)
    caption = (
        f"{machine()}, PostgreSQL {postgres.version}; "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d}; best of {REPEATS} rounds"
    )
    results = {tables: measure(tables) for tables in (1, TABLES)}
    print(f"{caption}\n")
    report(results)
    chart(results, caption)
    print(f"chart: {CHART.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
