"""Benchmark snapq's start-up: from launching pytest until its first test is ready.

Run from the repository root (Alembic is in the dev group)::

    .venv/bin/python benchmarks/bench_startup.py

The snapq measured is the one this script imports (the tree first on
``PYTHONPATH``, else the installed one); every run checks where it imported snapq
from. Each run is ``python -m pytest -p no:cacheprovider -q`` on a generated project
holding one trivial test (``SELECT 1``), and its start-up is the run's wall time,
minus nothing: the test itself takes a few ms, and the session's end holds snapq's
teardown (the server stopped, the kept data directory saved), which a user waits for
too. Projects:

- 1 table: ``pytest_snapq_setup_database`` runs ``create_all`` on one table; the
  test uses ``snapq_connection``.
- 200 tables: made by ``alembic init`` (its default ``env.py``), with MIGRATIONS
  revisions that each create two tables (a few columns, a unique constraint, a
  foreign key, an index); the hook calls ``alembic_upgrade(connection,
  "alembic.ini")``, and ``pytest.ini`` declares ``snapq_schema_files =
  alembic/versions/*.py``. First: a run with ``--snapq-rebuild``, which builds the
  template and keeps it (its server starts from the kept data directory of the run
  before, which holds the old template); reused: a later run.
- plain: pytest without snapq (``-p no:snapq``) and a hand-written psycopg fixture:
  one connection for the session to an already running server, ``BEGIN`` before
  the test and ``ROLLBACK`` after it, in a database that holds the table.
- SQLAlchemy by hand, for scale: without snapq too; the 1-table schema's table, an
  engine for the session, and the usual fixture (``engine.connect()``, ``begin()``,
  roll back), on the embedded server. Over it, snapq's overhead is snapq's own; over
  plain, it includes SQLAlchemy's imports and exit, which an SQLAlchemy project pays
  anyway.

Servers. Embedded: every snapq run starts its own; the plain run connects to one the
benchmark started (snapq's ``start_server``: the same binaries and settings).
External: a PostgreSQL the benchmark starts from the binaries snapq finds, as a user
runs one (TCP on 127.0.0.1, PostgreSQL's default settings, fsync on, data on disk),
given to snapq as ``--snapq-url``; the plain run connects to it too. Runs use a
private ``SNAPQ_CACHE_DIR``, filled by a warm-up run of each case, and cache byte
code in a private ``PYTHONPYCACHEPREFIX``, as on a developer's machine; one pair
runs with ``PYTHONDONTWRITEBYTECODE=1`` instead, as some environments set it
(snapq's modules are then compiled, and rewritten by pytest's assertion rewriter,
in every run).

The cases alternate within each of ROUNDS rounds (the order reversed every other
round). It prints, in seconds, each case's median wall time and the time until its
test starts (from timestamps that the conftest takes); the differences as the
difference of the medians, the median of the rounds' differences (a round's runs
share the machine's load) and the difference of the fastest rounds; then, in ms, the
runs' phases between those timestamps. Then where the time of snapq's runs goes:
imports by package (``python -X importtime``, which slows imports down itself;
median of PROFILE_RUNS runs), and snapq's steps, timed two ways: by a timer wrapped
around each step's function where it is looked up (median of STEP_RUNS runs, each
run's figures beside the ones that vary most), and cumulative under cProfile
(median of PROFILE_RUNS runs; the profiler slows Python code down, not the waits for
PostgreSQL). Targets (issue 14) are printed beside the results; nothing is asserted.

With ``--versus TREE`` (another snapq tree, such as a worktree of main), the targets'
cases also run with TREE's snapq, in the same rounds, and their medians and the
median of the rounds' differences are printed side by side: on a shared machine
that compares two versions better than two separate runs of the benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import json
import os
import platform
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

import psycopg
from machine import machine, tree_commit  # benchmarks/machine.py
from sqlalchemy.engine import make_url

import snapq
from snapq._config import resolve_settings
from snapq._database.binaries import find_postgres
from snapq._database.datadir import private_cache, relocated
from snapq._database.provision import Provisioner
from snapq._database.run import Run, run_bases
from snapq._database.users import server_user, traversable_by

ROUNDS = 9
STEP_RUNS = 5
PROFILE_RUNS = 3
MIGRATIONS = 100
TOP = 10
TREE = Path(snapq.__file__).resolve().parents[1]  # the snapq source tree measured
PLAIN_DATABASE = "bench_plain"
INITDB_ARGS = ("--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
TARGET_REUSED_OVER_ONE_TABLE = 0.3
TARGET_REUSED = 0.5
TARGET_OVERHEAD = 0.3

# In every conftest: when the run reaches each stage (the parent knows when it
# launched the run), and where snapq was imported from.
TIMING_HOOKS = """
import json
import os
import sys
import time
from pathlib import Path

import pytest

MARKS = {"conftest": time.time()}


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    MARKS["configured"] = time.time()


def pytest_collection_finish(session):
    MARKS["collected"] = time.time()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    MARKS["test"] = time.time()


def pytest_runtest_logfinish(nodeid, location):
    MARKS["torn down"] = time.time()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    MARKS["finished"] = time.time()


@pytest.hookimpl(wrapper=True)
def pytest_unconfigure(config):
    result = yield
    MARKS["unconfigured"] = time.time()
    module = sys.modules.get("snapq")
    where = str(Path(module.__file__).resolve()) if module else None
    Path(os.environ["BENCH_TIMES"]).write_text(json.dumps({"marks": MARKS, "snapq": where}))
    return result
"""
CONFTEST_IMPORTED = '\nMARKS["conftest imported"] = time.time()\n'
ONE_TABLE_CONFTEST = """
from sqlalchemy import Column, Integer, MetaData, Table, Text

METADATA = MetaData()
Table("items", METADATA, Column("id", Integer, primary_key=True), Column("name", Text))


def pytest_snapq_setup_database(connection):
    METADATA.create_all(connection)
"""
MIGRATIONS_CONFTEST = """
from snapq import alembic_upgrade


def pytest_snapq_setup_database(connection):
    alembic_upgrade(connection, "alembic.ini")
"""
PLAIN_CONFTEST = """
import psycopg


@pytest.fixture(scope="session")
def connection():
    with psycopg.connect(os.environ["BENCH_URL"], autocommit=True) as connection:
        yield connection


@pytest.fixture
def conn(connection):
    connection.execute("BEGIN")
    yield connection
    connection.execute("ROLLBACK")
"""
# The usual hand-written fixture of an SQLAlchemy project, for scale: the same table
# as the 1-table schema (created in the plain database already), a connection in a
# transaction rolled back after each test.
SQLALCHEMY_CONFTEST = (
    ONE_TABLE_CONFTEST.split("\n\ndef pytest_snapq_setup_database", maxsplit=1)[0]
    + """
import os

import pytest
from sqlalchemy import create_engine


@pytest.fixture(scope="session")
def engine():
    engine = create_engine(os.environ["BENCH_SQLALCHEMY_URL"])
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(engine):
    with engine.connect() as connection, connection.begin() as transaction:
        yield connection
        transaction.rollback()
"""
)
SNAPQ_TEST = """
def test_one(snapq_connection):
    assert snapq_connection.exec_driver_sql("SELECT 1").scalar() == 1
"""
PLAIN_TEST = """
def test_one(conn):
    assert conn.execute("SELECT 1").fetchone() == (1,)
"""
PYTEST_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
REVISION = '''"""create customer_{n} and order_{n}

Revision ID: {revision}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = {revision!r}
down_revision: Union[str, Sequence[str], None] = {down!r}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "customer_{n}",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "order_{n}",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customer_{n}.id"), nullable=False),
        sa.Column("total", sa.Numeric(10, 2), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_order_{n}_customer_id", "order_{n}", ["customer_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_order_{n}_customer_id", table_name="order_{n}")
    op.drop_table("order_{n}")
    op.drop_table("customer_{n}")
'''
# Runs pytest in-process under cProfile, from before pytest is imported.
PROFILED = """
import cProfile
import sys

profile = cProfile.Profile()
profile.enable()
import pytest

code = pytest.main(sys.argv[2:])
profile.disable()
profile.dump_stats(sys.argv[1])
sys.exit(code)
"""
# Loaded with -p: wraps each step's function where it is looked up (counting only the
# calls from the step's caller, where it names one), and writes the times when the
# interpreter exits (after snapq's pytest_unconfigure).
STEP_TIMER = """
import atexit
import importlib
import json
import os
import sys
import time
from pathlib import Path

TIMES = {}


def timer(label, original, caller):
    def timed(*args, **kwargs):
        if caller and sys._getframe(1).f_code.co_name != caller:
            return original(*args, **kwargs)
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TIMES[label] = TIMES.get(label, 0.0) + time.perf_counter() - start

    return timed


for label, (targets, caller) in json.loads(os.environ["BENCH_STEPS"]).items():
    for target in targets:
        module, _, attribute = target.partition(":")
        owner = importlib.import_module(module)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, timer(label, getattr(owner, name), caller))

atexit.register(lambda: Path(os.environ["BENCH_STEP_TIMES"]).write_text(json.dumps(TIMES)))
"""
# The stages of a run, between the conftest's timestamps: (label, from, to).
PHASES = (
    ("interpreter, pytest, plugins (snapq's too)", "launch", "conftest"),
    ("the conftest's own imports", "conftest", "conftest imported"),
    ("pytest_configure (snapq: settings, old runs)", "conftest imported", "configured"),
    ("collection", "configured", "collected"),
    ("fixtures: server, template, copy", "collected", "test"),
    ("the test and its teardown", "test", "torn down"),
    ("pytest_sessionfinish", "torn down", "finished"),
    ("summary, unconfigure (snapq ends the run)", "finished", "unconfigured"),
    ("interpreter exit", "unconfigured", "exit"),
)


@dataclass(frozen=True)
class Step:
    """One of snapq's steps: its function, ``module:attribute`` where it is looked
    up (``where``, comma-separated: each wrapped by the timer), or the first step's
    time minus the others' (``derived``). The profile counts the function of the
    first place. With ``caller``, both count only its calls from that function.
    ``timed=False``: a hook or pytest's own, for the profile alone."""

    label: str
    where: str = ""
    caller: str = ""
    derived: tuple[str, ...] = ()
    timed: bool = True


DB = "snapq._database"
URL = "Provisioner.database_url (snapq_url)"
WAIT = "  Background.result: waiting for the server"
SERVER = "  Run.server: the embedded server (started in the background)"
HOLD = "  Liveness.hold: the first connection"
DEAD = "  Liveness.drop_dead_runs"
FINGERPRINT = "  _kept_template: fingerprint"
COPY = "  copy_template: template and copy"
RUN_TEMPLATE = "    RunTemplate.ensure: built"
KEPT_TEMPLATE = "    KeptTemplate.ensure: checked"
RUN_CLOSE = "  Run.close"
STEPS = (
    Step("pytest.main in all", "_pytest.config:main", timed=False),
    Step("pytest_configure, snapq's", "snapq.plugin:pytest_configure", timed=False),
    Step("  remove_stale_runs: old runs' directories", "snapq.plugin:remove_stale_runs"),
    Step(URL, f"{DB}.provision:Provisioner.database_url"),
    Step(WAIT, f"{DB}.background:Background.result"),
    Step(SERVER, f"{DB}.run:Run.server"),
    Step("    find_postgres", f"{DB}.provision:find_postgres"),
    Step("    fill_data_dir: data directory copied", f"{DB}.embedded:fill_data_dir"),
    Step("    _start_watchdog", f"{DB}.embedded:_start_watchdog"),
    Step("    _wait_until_ready: postgres starts", f"{DB}.embedded:_wait_until_ready"),
    Step(HOLD, f"{DB}.liveness:Liveness.hold", f"{DB}.provision:Provisioner.database_url"),
    Step(DEAD, f"{DB}.liveness:Liveness.drop_dead_runs"),
    Step(FINGERPRINT, f"{DB}.provision:Provisioner._kept_template"),
    Step(COPY, f"{DB}.provision:copy_template"),
    Step(RUN_TEMPLATE, f"{DB}.template:RunTemplate.ensure"),
    Step(KEPT_TEMPLATE, f"{DB}.kept:KeptTemplate.ensure"),
    Step(
        "      build_database: the hooks", f"{DB}.template:build_database,{DB}.kept:build_database"
    ),
    Step("      rename_database", f"{DB}.template:rename_database,{DB}.kept:rename_database"),
    Step("      ClosingWatch.wait: the builder's session ends", f"{DB}.template:ClosingWatch.wait"),
    Step("    the worker's copy (and the lock)", derived=(COPY, RUN_TEMPLATE, KEPT_TEMPLATE)),
    Step(
        "  the rest: imports on the way (sqlalchemy)",
        derived=(URL, WAIT, HOLD, DEAD, FINGERPRINT, COPY),
    ),
    Step("  Server.connect: every admin connection", f"{DB}.databases:Server.connect"),
    Step("Baseline.capture (_snapq_baseline)", f"{DB}.isolation:Baseline.capture"),
    Step("Provisioner.close_run (pytest_unconfigure)", f"{DB}.provision:Provisioner.close_run"),
    Step("  _keep_templates: kept data directory", f"{DB}.provision:Provisioner._keep_templates"),
    Step("  _drop_run_databases (external)", f"{DB}.provision:Provisioner._drop_run_databases"),
    Step(RUN_CLOSE, f"{DB}.run:Run.close"),
    Step("    stop_server", f"{DB}.run:stop_server", f"{DB}.run:Run.close"),
    Step("    rmtree: the run directory", derived=(RUN_CLOSE, "    stop_server")),
)
# The runs whose steps the breakdown shows, by their column.
BROKEN_DOWN = {
    "1 table": "1 table",
    "200 reused": "200 tables, reused",
    "1 tbl ext": "1 table, ext",
}


@dataclass(frozen=True)
class Timing:
    """One run: its wall time, when it reached each stage (s from the launch), and
    what it wrote to stderr."""

    wall: float
    marks: dict[str, float]
    stderr: str = field(repr=False)


@dataclass(frozen=True)
class Case:
    """A run to measure: a project, its options and environment."""

    name: str  # in the tables
    column: str  # its column in the phases table
    project: Path
    options: tuple[str, ...]
    env: dict[str, str]
    snapq: bool  # whether the run loads snapq (from TREE)
    tree: Path = TREE  # where its snapq comes from (another one with --versus)

    def run(self, *extra: str, python: tuple[str, ...] = ("-m", "pytest")) -> Timing:
        """Run pytest on the project once; return its wall time and timestamps."""
        times = self.project / "times.json"
        times.unlink(missing_ok=True)
        env = dict(self.env, BENCH_TIMES=str(times))
        command = [sys.executable, *python, "-p", "no:cacheprovider", "-q", *self.options]
        launched = time.time()
        start = time.perf_counter()
        result = subprocess.run(
            [*command, *extra],
            cwd=self.project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        if result.returncode != 0 or "1 passed" not in result.stdout:
            output = (result.stdout + result.stderr)[-3000:]
            raise RuntimeError(f"{self.name} {' '.join(extra)} failed:\n{output}")
        run = json.loads(times.read_text())
        expected = str(self.tree / "snapq" / "__init__.py") if self.snapq else None
        if run["snapq"] != expected:
            raise RuntimeError(f"{self.name}: snapq imported from {run['snapq']}, not {expected}")
        marks = {name: at - launched for name, at in run["marks"].items()}
        return Timing(wall, marks | {"launch": 0.0, "exit": wall}, result.stderr)


# ----------------------------------------------------------------------------------------
# Projects and servers


def write_project(directory: Path, conftest: str, test: str, ini: str = PYTEST_INI) -> Path:
    directory.mkdir()
    (directory / "pytest.ini").write_text(ini)
    hooks = textwrap.dedent(TIMING_HOOKS) + textwrap.dedent(conftest) + CONFTEST_IMPORTED
    (directory / "conftest.py").write_text(hooks)
    (directory / "test_one.py").write_text(textwrap.dedent(test))
    return directory


def write_migrations_project(directory: Path, env: dict[str, str]) -> Path:
    """Write the Alembic project: ``alembic init``, then MIGRATIONS revisions."""
    ini = PYTEST_INI + "snapq_schema_files = alembic/versions/*.py\n"
    write_project(directory, MIGRATIONS_CONFTEST, SNAPQ_TEST, ini)
    alembic = [sys.executable, "-m", "alembic", "init", "alembic"]
    subprocess.run(alembic, cwd=directory, env=env, capture_output=True, check=True)
    down = None
    for n in range(1, MIGRATIONS + 1):
        revision = f"{n:012x}"
        text = REVISION.format(n=n, revision=revision, down=down)
        (directory / "alembic" / "versions" / f"{revision}_tables_{n}.py").write_text(text)
        down = revision
    return directory


@contextlib.contextmanager
def embedded_server() -> Iterator[str]:
    """Start snapq's embedded server, as a run does, with the plain database; yield
    its URL."""
    provisioner = Provisioner(resolve_settings(options={}, environ={}, ini={}), Run.create())
    try:
        url = provisioner.run.server(provisioner.install).url()
        create_plain_database(url)
        yield url
    finally:
        provisioner.close_run(databases_used=False)


@contextlib.contextmanager
def external_server(directory: Path) -> Iterator[str]:
    """Start a PostgreSQL of the binaries snapq finds, as a user runs one: TCP on
    127.0.0.1, default settings (fsync on), data on disk; yield its URL."""
    user = server_user()  # as root: PostgreSQL refuses root, so run it as snapq does
    install = find_postgres(None)
    if user is not None and not traversable_by(install.bindir, user):
        install = relocated(install, private_cache())
    data = directory / "data"
    data.mkdir(mode=0o700)
    if user is not None:
        os.chown(data, user.pw_uid, user.pw_gid)
    uid, gid = (user.pw_uid, user.pw_gid) if user is not None else (None, None)
    initdb = [str(install.tool("initdb")), "-D", str(data), "--username=postgres", *INITDB_ARGS]
    subprocess.run(initdb, capture_output=True, check=True, user=uid, group=gid)
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(install.tool("postgres")), "-D", str(data), "-p", str(port)]
    command += ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]
    with open(directory / "postgres.log", "ab") as log:
        server = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=uid,
            group=gid,
        )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(libpq_url(url, "postgres")).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        create_plain_database(url)
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def create_plain_database(url: str) -> None:
    with psycopg.connect(libpq_url(url, "postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {PLAIN_DATABASE}")
    with psycopg.connect(libpq_url(url, PLAIN_DATABASE), autocommit=True) as connection:
        connection.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")


def libpq_url(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


def make_cases(directory: Path, embedded_url: str, external_url: str) -> list[Case]:
    """Write the projects; return the cases, in the order of a round."""
    unset = ("CI", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SNAPQ_") and name not in unset
    }
    env["SNAPQ_CACHE_DIR"] = os.environ["SNAPQ_CACHE_DIR"]
    cached = dict(env, PYTHONPYCACHEPREFIX=str(directory / "pycache"))
    uncached = dict(env, PYTHONDONTWRITEBYTECODE="1")
    one = write_project(directory / "one_table", ONE_TABLE_CONFTEST, SNAPQ_TEST)
    many = write_migrations_project(directory / "migrations", cached)
    plain = write_project(directory / "plain", PLAIN_CONFTEST, PLAIN_TEST)
    by_hand = write_project(
        directory / "sqlalchemy",
        SQLALCHEMY_CONFTEST,
        SNAPQ_TEST.replace("snapq_connection", "conn"),
    )
    on_embedded = {"BENCH_URL": libpq_url(embedded_url, PLAIN_DATABASE)}
    sqlalchemy_url = make_url(libpq_url(embedded_url, PLAIN_DATABASE)).set(
        drivername="postgresql+psycopg"
    )
    on_embedded_by_hand = {"BENCH_SQLALCHEMY_URL": sqlalchemy_url.render_as_string(False)}
    on_external = {"BENCH_URL": libpq_url(external_url, PLAIN_DATABASE)}
    no_snapq = ("-p", "no:snapq")
    external = (f"--snapq-url={external_url}",)
    return [
        Case("plain", "plain", plain, no_snapq, cached | on_embedded, snapq=False),
        Case("1 table", "1 table", one, (), cached, snapq=True),
        Case(
            "SQLAlchemy by hand",
            "SA hand",
            by_hand,
            no_snapq,
            cached | on_embedded_by_hand,
            snapq=False,
        ),
        Case("200 tables, first", "200 1st", many, ("--snapq-rebuild",), cached, snapq=True),
        Case("200 tables, reused", "200 reuse", many, (), cached, snapq=True),
        Case("plain, external", "plain ext", plain, no_snapq, cached | on_external, snapq=False),
        Case("1 table, ext", "1 tbl ext", one, external, cached, snapq=True),
        Case("plain, no .pyc", "plain npc", plain, no_snapq, uncached | on_embedded, snapq=False),
        Case("1 table, no .pyc", "1 tbl npc", one, (), uncached, snapq=True),
    ]


VERSUS = " [versus]"  # the name of a case's twin run with --versus's tree
VERSUS_CASES = ("1 table", "200 tables, reused", "1 table, ext")


def versus_cases(cases: list[Case], tree: Path) -> list[Case]:
    """Return the twins of the cases that the targets compare, run with ``tree``'s snapq."""
    path = os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])
    return [
        replace(
            case,
            name=case.name + VERSUS,
            column=f"{case.column[:6]} vs",
            env=dict(case.env, PYTHONPATH=path),
            tree=tree,
        )
        for case in cases
        if case.name in VERSUS_CASES
    ]


def report_versus(timings: dict[str, list[Timing]], tree: Path) -> None:
    print(f"\nthis tree against --versus {tree} ({tree_commit(tree)}), same rounds (s, wall)")
    print(f"{'case':<26}{'this':>7}{'versus':>8}   {'of rounds':>10}{'ratio':>8}")
    for name in VERSUS_CASES:
        ours, theirs = _walls(timings[name]), _walls(timings[name + VERSUS])
        medians = statistics.median(ours), statistics.median(theirs)
        print(
            f"{name:<26}{medians[0]:>7.3f}{medians[1]:>8.3f}   {_paired(ours, theirs):>+10.3f}"
            f"{medians[0] / medians[1]:>7.2f}x"
        )
    for server, (case, plain) in {
        "embedded": ("1 table", "plain"),
        "external": ("1 table, ext", "plain, external"),
    }.items():
        extra = _paired(_walls(timings[case + VERSUS]), _walls(timings[plain]))
        print(f"versus: overhead on the {server} server {extra:+.3f} s (of rounds)")
    reused = statistics.median(_walls(timings["200 tables, reused" + VERSUS]))
    print(f"versus: reused {reused:.3f} s")


def measure(cases: list[Case], rounds: int) -> dict[str, list[Timing]]:
    """Run every case once a round, alternating, after one warm-up run of each."""
    for case in cases:  # pycs, snapq's cache (initdb, the kept template), the OS's caches
        case.run()
    timings: dict[str, list[Timing]] = {case.name: [] for case in cases}
    for round_ in range(rounds):
        for case in cases[:: 1 if round_ % 2 == 0 else -1]:
            timings[case.name].append(case.run())
        print(f"  round {round_ + 1}/{rounds} done", file=sys.stderr)
    return timings


# ----------------------------------------------------------------------------------------
# Where the time goes: imports, and snapq's steps

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_times(case: Case) -> tuple[dict[str, float], dict[str, float]]:
    """Run the case under ``-X importtime``; return the imports' own ms by top-level
    package (their total as "all"), and by module of snapq."""
    # -s: with the output captured, what the conftest imports would not reach stderr.
    timing = case.run("-s", python=("-X", "importtime", "-m", "pytest"))
    packages: dict[str, float] = {"all": 0.0}
    modules: dict[str, float] = {}
    for line in timing.stderr.splitlines():
        if match := IMPORT_LINE.match(line):
            own, name = int(match[1]) / 1000, match[4]
            package = name.split(".")[0]
            packages[package] = packages.get(package, 0.0) + own
            packages["all"] += own
            if package == "snapq":
                modules[name] = own
    return packages, modules


def timed_steps(case: Case) -> dict[str, float]:
    """Run the case with the step timer loaded; return each step's ms."""
    (case.project / "bench_step_timer.py").write_text(STEP_TIMER)
    output = case.project / "steps.json"
    steps = {
        step.label: (step.where.split(","), step.caller.rpartition(".")[2].rpartition(":")[2])
        for step in STEPS
        if step.timed and step.where
    }
    env = dict(case.env, BENCH_STEPS=json.dumps(steps), BENCH_STEP_TIMES=str(output))
    replace(case, env=env).run("-p", "bench_step_timer")
    seconds: dict[str, float] = json.loads(output.read_text())
    return _derive({label: seconds.get(label, 0.0) * 1000 for label in steps})


ProfileKey = tuple[str, int, str]  # pstats: file, first line, function


def profiled_steps(case: Case, output: Path) -> dict[str, float]:
    """Run the case under cProfile; return each step's cumulative ms."""
    case.run(python=("-c", PROFILED, str(output)))
    entries = pstats.Stats(str(output)).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for step in STEPS:
        if step.where:
            entry = entries.get(_code_key(step.where.split(",")[0]))
            if entry is None:
                seconds = 0.0
            elif step.caller:
                seconds = sum(s[3] for key, s in entry[4].items() if key == _code_key(step.caller))
            else:
                seconds = entry[3]
            found[step.label] = seconds * 1000
    return _derive(found)


def _code_key(where: str) -> ProfileKey:
    """Return the profile's key of the function looked up at ``module:attribute``."""
    module, _, attribute = where.partition(":")
    found: object = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    if isinstance(found, types.MethodType):  # a classmethod
        found = found.__func__
    code: types.CodeType = found.__code__  # type: ignore[attr-defined]
    return code.co_filename, code.co_firstlineno, code.co_name


def _derive(found: dict[str, float]) -> dict[str, float]:
    for step in STEPS:
        if step.derived:
            first, *others = step.derived
            found[step.label] = found[first] - sum(found[label] for label in others)
    return found


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    names = {name for run in runs for name in run}
    return {name: statistics.median(run.get(name, 0.0) for run in runs) for name in names}


def breakdown(cases: dict[str, Case], directory: Path) -> None:
    """Where the time of snapq's runs goes: imports, then snapq's steps."""
    plain = [import_times(cases["plain"])[0] for _ in range(PROFILE_RUNS)]
    ours = [import_times(cases["1 table"]) for _ in range(PROFILE_RUNS)]
    report_imports(median_of(plain), median_of([packages for packages, _ in ours]))
    report_snapq_modules(median_of([modules for _, modules in ours]))
    broken_down = {column: cases[name] for column, name in BROKEN_DOWN.items()}
    timed: dict[str, list[dict[str, float]]] = {column: [] for column in broken_down}
    for _ in range(STEP_RUNS):
        for column, case in broken_down.items():
            timed[column].append(timed_steps(case))
    profiled = {
        column: median_of(
            [profiled_steps(case, directory / f"{n}.prof") for n in range(PROFILE_RUNS)]
        )
        for column, case in broken_down.items()
    }
    report_steps(timed, profiled)


# ----------------------------------------------------------------------------------------
# Reports


def header(rounds: int) -> None:
    postgres = find_postgres(None)
    load = " ".join(f"{load:.2f}" for load in os.getloadavg())
    packages = ("pytest", "sqlalchemy", "psycopg", "alembic", "syrupy", "pytest-asyncio")
    print(f"date:        {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(f"machine:     {machine()}")
    print(f"load:        {load} (1/5/15 min, before the run)")
    print(f"postgresql:  {postgres.version} ({postgres.origin}), embedded and external")
    print(f"python:      {platform.python_version()}")
    print("packages:    " + ", ".join(f"{name} {version(name)}" for name in packages))
    print(f"snapq:       {TREE}: {tree_commit(TREE)}")
    print(
        f"method:      {rounds} rounds of one run of each case, alternating; wall time of "
        "`pytest -p no:cacheprovider -q`, one test"
    )


def servers(external: Path) -> None:
    print(
        f"servers:     embedded: snapq's settings (fsync off), data in {run_bases()[0]}; "
        f"external: PostgreSQL's defaults (fsync on), TCP, data in {external}"
    )


def _walls(timings: list[Timing]) -> list[float]:
    return [timing.wall for timing in timings]


def _paired(values: list[float], base: list[float]) -> float:
    """The median of the rounds' differences."""
    return statistics.median(a - b for a, b in zip(values, base, strict=True))


def _differences(values: list[float], base: list[float]) -> str:
    medians = statistics.median(values) - statistics.median(base)
    paired, best = _paired(values, base), min(values) - min(base)
    return f"{medians:>+10.3f}{paired:>+11.3f}{best:>+9.3f}"


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report_startup(timings: dict[str, list[Timing]]) -> None:
    base = _walls(timings["1 table"])
    print("\nstart-up, embedded server, one test (s; wall: the run; first test: until it starts)")
    columns = f"{'vs 1 table':>10}{'of rounds':>11}{'best':>9}"
    print(f"{'schema':<26}{'wall':>7}{'first test':>12}   {columns}")
    for name in ("1 table", "200 tables, first", "200 tables, reused"):
        walls = _walls(timings[name])
        first = statistics.median(timing.marks["test"] for timing in timings[name])
        cells = f"{statistics.median(walls):>7.3f}{first:>12.3f}"
        print(f"{name:<26}{cells}   {_differences(walls, base) if name != '1 table' else ''}")
    reused = timings["200 tables, reused"]
    extra, wall = _paired(_walls(reused), base), statistics.median(_walls(reused))
    first = statistics.median(timing.marks["test"] for timing in reused)
    target = TARGET_REUSED_OVER_ONE_TABLE
    print(f"target: reused within +{target} s of 1 table: {extra:+.3f} s: {_met(extra <= target)}")
    print(
        f"target: reused at most {TARGET_REUSED} s in all: {wall:.3f} s ({first:.3f} s until the "
        f"test starts): {_met(wall <= TARGET_REUSED)}"
    )


def report_overhead(timings: dict[str, list[Timing]]) -> None:
    print("\nstart-up overhead over plain pytest and a psycopg fixture, one test (s, wall)")
    columns = f"{'extra':>10}{'of rounds':>11}{'best':>9}{'ratio':>8}"
    print(f"{'server':<26}{'snapq':>7}{'plain':>7}   {columns}")
    pairs = {
        "embedded": ("1 table", "plain"),
        "external": ("1 table, ext", "plain, external"),
        "embedded, no .pyc": ("1 table, no .pyc", "plain, no .pyc"),
        "over SQLAlchemy by hand": ("1 table", "SQLAlchemy by hand"),
    }
    for server, (ours, theirs) in pairs.items():
        snapq_walls, plain_walls = _walls(timings[ours]), _walls(timings[theirs])
        medians = statistics.median(snapq_walls), statistics.median(plain_walls)
        print(
            f"{server:<26}{medians[0]:>7.3f}{medians[1]:>7.3f}   "
            f"{_differences(snapq_walls, plain_walls)}{medians[0] / medians[1]:>7.2f}x"
        )
    for server in ("embedded", "external"):
        ours, theirs = pairs[server]
        extra = _paired(_walls(timings[ours]), _walls(timings[theirs]))
        print(
            f"target: +{TARGET_OVERHEAD} s at most on the {server} server: {extra:+.3f} s "
            f"(of rounds): {_met(extra <= TARGET_OVERHEAD)}"
        )
    print(
        "extra: difference of the medians; of rounds: median of the rounds' differences; best: "
        "of the\nfastest rounds; no .pyc: PYTHONDONTWRITEBYTECODE=1 in both runs"
    )


def report_rounds(cases: list[Case], timings: dict[str, list[Timing]]) -> None:
    print("\nper round, wall (s):")
    for case in cases:
        print(f"  {case.name:<22}" + " ".join(f"{wall:.3f}" for wall in _walls(timings[case.name])))


def report_phases(cases: list[Case], timings: dict[str, list[Timing]]) -> None:
    print("\nphases of the same runs (ms, medians; from the conftest's timestamps)")
    print(f"{'phase':<46}" + "".join(f"{case.column:>10}" for case in cases))
    for label, start, end in PHASES:
        spans = [[t.marks[end] - t.marks[start] for t in timings[case.name]] for case in cases]
        print(f"{label:<46}" + "".join(f"{statistics.median(s) * 1000:>10.0f}" for s in spans))
    walls = [statistics.median(_walls(timings[case.name])) for case in cases]
    print(f"{'wall':<46}" + "".join(f"{wall * 1000:>10.0f}" for wall in walls))


def report_imports(plain: dict[str, float], ours: dict[str, float]) -> None:
    print(
        "\nimports of the embedded 1-table run and of plain (own ms by top-level package, "
        f"-X importtime,\nmedian of {PROFILE_RUNS}; the {TOP} that snapq's run adds most)"
    )
    print(f"{'package':<26}{'snapq run':>10}{'plain':>8}{'extra':>8}")
    added = sorted(
        (name for name in ours if name != "all"), key=lambda n: plain.get(n, 0) - ours[n]
    )
    for name in ["all", *added[:TOP]]:
        theirs = plain.get(name, 0.0)
        print(f"{name:<26}{ours[name]:>10.1f}{theirs:>8.1f}{ours[name] - theirs:>+8.1f}")


def report_snapq_modules(modules: dict[str, float]) -> None:
    print(f"\nsnapq's modules, heaviest (own import ms, median of {PROFILE_RUNS})")
    for name, ms in sorted(modules.items(), key=lambda item: -item[1])[:TOP]:
        print(f"  {ms:>6.1f}  {name}")
    print(f"  {sum(modules.values()):>6.1f}  all {len(modules)} modules")


def report_steps(
    timed: dict[str, list[dict[str, float]]], profiled: dict[str, dict[str, float]]
) -> None:
    print(
        f"\nsnapq's steps (ms; timed: median of {STEP_RUNS} runs; profiled: cumulative under "
        f"cProfile,\nmedian of {PROFILE_RUNS} runs; indented: part of the step above)"
    )
    names = "".join(f"{name:>11}" for name in timed)
    print(f"{'step':<44}{names}  |{names}")
    medians = [median_of(runs) for runs in timed.values()]
    for step in STEPS:
        cells = [_cell(found, step, step.timed) for found in medians]
        cells += ["  |"] + [_cell(found, step, True) for found in profiled.values()]
        print(f"{step.label:<44}{''.join(cells)}")
    labels = [step.label for step in _leaves() if step.timed and step.where]
    varying = sorted(
        ((name, label) for name in timed for label in labels),
        key=lambda key: (
            min(run[key[1]] for run in timed[key[0]]) - max(run[key[1]] for run in timed[key[0]])
        ),
    )
    print("\nthe timed steps that vary most from run to run (ms, each run):")
    for name, label in varying[:4]:
        runs = " ".join(f"{run[label]:.1f}" for run in timed[name])
        print(f"  {name:<11}{label.strip():<42}{runs}")


def _leaves() -> list[Step]:
    """The steps that no step below is a part of."""
    depth = [len(step.label) - len(step.label.lstrip()) for step in STEPS]
    return [
        step
        for step, here, below in zip(STEPS, depth, [*depth[1:], 0], strict=True)
        if below <= here
    ]


def _cell(found: dict[str, float], step: Step, measured: bool) -> str:
    return f"{found[step.label]:>11.1f}" if measured and step.label in found else f"{'-':>11}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"default {ROUNDS}")
    parser.add_argument(
        "--versus",
        type=Path,
        help="another snapq tree (a worktree of main, say): its runs of the targets' cases "
        "alternate with this tree's, in the same rounds",
    )
    arguments = parser.parse_args()
    header(arguments.rounds)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="snapq-bench-startup-") as path:
        directory = Path(path)
        directory.chmod(0o755)  # as root, the servers' user traverses it
        for name in ("cache", "external"):
            (directory / name).mkdir(mode=0o755)
        os.environ["SNAPQ_CACHE_DIR"] = str(directory / "cache")
        with embedded_server() as embedded, external_server(directory / "external") as external:
            servers(directory / "external")
            cases = make_cases(directory, embedded, external)
            if arguments.versus is not None:
                cases += versus_cases(cases, arguments.versus.resolve())
            timings = measure(cases, arguments.rounds)
            report_startup(timings)
            report_overhead(timings)
            if arguments.versus is not None:
                report_versus(timings, arguments.versus.resolve())
            report_rounds(cases, timings)
            report_phases(cases, timings)
            breakdown({case.name: case for case in cases}, directory)
    load = " ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"\nbenchmark time: {time.perf_counter() - start:.0f} s, load after: {load}")


if __name__ == "__main__":
    main()
