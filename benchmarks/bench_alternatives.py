"""Benchmark snapq's isolation against the other ways to isolate test databases.

Run from the repository root (matplotlib is in the dev group)::

    .venv/bin/python benchmarks/bench_alternatives.py

One generated suite, each test inserting three rows and checking a query on them,
runs four ways on one PostgreSQL server (snapq's embedded one):

- snapq: ``snapq_connection`` (a transaction rolled back after each test);
- database per test: a fresh database cloned from a template for every test, as
  pytest-postgresql does;
- TRUNCATE: one database, the test commits, ``TRUNCATE ... RESTART IDENTITY`` after;
- floor: the same statements in a plain psycopg loop, without pytest.

Each pytest way runs with SMALL and LARGE tests; the per-test cost is the difference
divided by the number of extra tests, so start-up cancels out (median of REPEATS).
It prints wall times, per-test costs and ratios to snapq, and draws
docs/benchmark.png. The server is snapq's embedded one, fsync off, for every way.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from snapq._config import resolve_settings
from snapq._provision import Provisioner
from snapq._run import Run

SMALL, LARGE = 30, 300
REPEATS = 3
ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "docs" / "benchmark.png"

SCHEMA = "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL)"
TEST_BODY = """
    for n in range(3):
        conn.execute(text("INSERT INTO items (name, qty) VALUES (:name, :qty)"),
                     {"name": f"item {n}", "qty": n + 1})
    count, total = conn.execute(text("SELECT count(*), sum(qty) FROM items")).one()
    assert (count, total) == (3, 6)
"""

SNAPQ_CONFTEST = f"""
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text({SCHEMA!r}))
"""
SNAPQ_TEST = (
    """
import pytest
from sqlalchemy import text

@pytest.mark.parametrize("case", range({n}))
def test_case(snapq_connection, case):
    conn = snapq_connection
"""
    + TEST_BODY
)

DATABASE_PER_TEST_CONFTEST = """
import os, uuid
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SERVER = make_url(os.environ["BENCH_URL"])
ADMIN = create_engine(SERVER, isolation_level="AUTOCOMMIT", poolclass=NullPool)

@pytest.fixture
def conn():
    name = "bench_" + uuid.uuid4().hex[:12]
    with ADMIN.connect() as admin:
        admin.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE bench_template")
    engine = create_engine(SERVER.set(database=name), poolclass=NullPool)
    with engine.begin() as connection:
        yield connection
    engine.dispose()
    with ADMIN.connect() as admin:
        admin.exec_driver_sql(f"DROP DATABASE {name}")
"""
TRUNCATE_CONFTEST = """
import os
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ENGINE = create_engine(make_url(os.environ["BENCH_URL"]).set(database="bench_truncate"))

@pytest.fixture
def conn():
    with ENGINE.begin() as connection:
        yield connection
    with ENGINE.begin() as connection:
        connection.execute(text("TRUNCATE items RESTART IDENTITY"))
"""
PLAIN_TEST = (
    """
import pytest
from sqlalchemy import text

@pytest.mark.parametrize("case", range({n}))
def test_case(conn, case):
"""
    + TEST_BODY
)


@contextmanager
def server() -> Iterator[str]:
    """Start snapq's embedded server; yield a URL to its maintenance database."""
    provisioner = Provisioner(resolve_settings(options={}, environ={}, ini={}), Run.create())
    try:
        url = provisioner.run.server(provisioner.install).url()
        admin = _admin(url)
        admin.execute("CREATE DATABASE bench_template")
        admin.execute("CREATE DATABASE bench_truncate")
        admin.execute("CREATE DATABASE bench_floor")
        admin.close()
        for database in ("bench_template", "bench_truncate", "bench_floor"):
            with _connect(url, database) as connection:
                connection.execute(SCHEMA)
        yield url
    finally:
        provisioner.close_run(databases_used=False)


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_conninfo(url, "postgres"), autocommit=True)


def _connect(url: str, database: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_conninfo(url, database), autocommit=True)


def _conninfo(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


def run_pytest(project: Path, conftest: str, test: str, tests: int, env: dict[str, str]) -> float:
    """Write the suite with ``tests`` tests, run it, and return the wall time in seconds."""
    (project / "conftest.py").write_text(textwrap.dedent(conftest))
    (project / "test_suite.py").write_text(textwrap.dedent(test.replace("{n}", str(tests))))
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
    """The same statements in a plain psycopg loop: the cost of the work itself."""
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


def measure(url: str) -> dict[str, tuple[float, float]]:
    """Return, for each way, (wall time of the LARGE suite, per-test cost) in seconds."""
    env = {**os.environ, "BENCH_URL": url, "CI": "true"}
    env.pop("SNAPQ_URL", None)
    ways = {
        "snapq": (SNAPQ_CONFTEST, SNAPQ_TEST, env),
        "database per test": (DATABASE_PER_TEST_CONFTEST, PLAIN_TEST, env),
        "TRUNCATE": (TRUNCATE_CONFTEST, PLAIN_TEST, env),
    }
    results = {}
    for name, (conftest, test, way_env) in ways.items():
        runs = []
        with tempfile.TemporaryDirectory() as project:
            for _ in range(REPEATS):
                small = run_pytest(Path(project), conftest, test, SMALL, way_env)
                large = run_pytest(Path(project), conftest, test, LARGE, way_env)
                runs.append((large, (large - small) / (LARGE - SMALL)))
        results[name] = sorted(runs, key=lambda run: run[1])[REPEATS // 2]  # the median
    runs = []
    for _ in range(REPEATS):
        small, large = floor(url, SMALL), floor(url, LARGE)
        runs.append((large, (large - small) / (LARGE - SMALL)))
    results["floor (psycopg loop)"] = sorted(runs, key=lambda run: run[1])[REPEATS // 2]
    return results


def chart(results: dict[str, tuple[float, float]], caption: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    costs = [results[name][1] * 1000 for name in names]
    figure, axes = plt.subplots(figsize=(7, 3.2))
    bars = axes.barh(names[::-1], costs[::-1], color=["#888"] * (len(names) - 1) + ["#2a6"])
    axes.bar_label(bars, labels=[f"{cost:.2f} ms" for cost in costs[::-1]], padding=3)
    axes.set_xlabel("cost per test (ms), lower is better")
    axes.set_title("Isolating each test's database", loc="left")
    axes.set_xlim(0, max(costs) * 1.25)
    figure.text(0.01, 0.01, caption, fontsize=7, color="#555")
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(CHART, dpi=120)


def main() -> None:
    cpu = platform.processor() or platform.machine()
    caption = (
        f"{os.cpu_count()} cores, {cpu}, {platform.system()}; "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d}; {LARGE} tests each"
    )
    with server() as url:
        results = measure(url)
    snapq_cost = results["snapq"][1]
    print(f"{caption}\n")
    print(f"{'way':<22}{'wall (s)':>10}{'per test (ms)':>16}{'vs snapq':>10}")
    for name, (wall, cost) in results.items():
        print(f"{name:<22}{wall:>10.2f}{cost * 1000:>16.3f}{cost / snapq_cost:>9.1f}x")
    print(
        "\ntargets: snapq >= 10x faster per test than database per test, >= 3x faster "
        "than TRUNCATE, within 3x of the floor"
    )
    chart(results, caption)
    print(f"chart: {CHART.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
