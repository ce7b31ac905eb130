"""Benchmark snapq's per-test isolation and the embedded server's start-up.

Run from the repository root::

    .venv/bin/python benchmarks/bench_database.py

It measures, on snapq's embedded PostgreSQL:

1. The per-test cycle of the ``snapq_connection`` fixture (``isolated_connection``
   around one ``SELECT 1``, on an engine built as ``snapq_engine`` builds it) against
   a bare psycopg 3 cycle on one open connection: ``BEGIN; SAVEPOINT s; SELECT 1;
   ROLLBACK``. The two alternate in rounds; each reports its median per-cycle time.
2. Start-up, from ``Run.create()`` until ``Provisioner.database_url()`` returns
   (server start, template, worker database): warm (cache populated) and cold (a
   fresh ``SNAPQ_CACHE_DIR``, so initdb and, as root, the binary copy run again).

Targets (from the issue) are printed beside the results; nothing is asserted.
"""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from machine import machine  # benchmarks/machine.py
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url

from snapq._config import resolve_settings
from snapq._database.isolation import Baseline, isolated_connection, prepare_engine
from snapq._database.provision import Provisioner
from snapq._database.run import Run

ROUNDS = 20
CYCLES = 200
WARM_STARTS = 5
COLD_STARTS = 3
SCHEMA = """
CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE book (
    id serial PRIMARY KEY,
    author_id integer NOT NULL REFERENCES author (id) DEFERRABLE INITIALLY DEFERRED,
    title text NOT NULL
);
INSERT INTO author (name) VALUES ('Ursula'), ('Italo');
INSERT INTO book (author_id, title) VALUES (1, 'The Dispossessed'), (2, 'Invisible Cities');
"""


def build_schema(connection: Connection) -> None:
    connection.exec_driver_sql(SCHEMA)


@contextmanager
def provisioned() -> Iterator[tuple[Provisioner, str]]:
    """Start a run as the plugin does and yield its worker database URL; then end the run."""
    settings = resolve_settings(options={}, environ={}, ini={})
    provisioner = Provisioner(settings, Run.create())
    try:
        yield provisioner, provisioner.database_url("main", build_schema)
    finally:
        provisioner.release()
        provisioner.close_run(databases_used=True)


def header(url: str, connect_args: dict[str, Any]) -> None:
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            server = connection.exec_driver_sql("SHOW server_version").scalar()
    finally:
        engine.dispose()
    print(f"date:        {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(f"machine:     {machine()}")
    print(f"load:        {' '.join(f'{load:.2f}' for load in os.getloadavg())} (1/5/15 min)")
    print(f"postgresql:  {server}")
    print(f"python:      {platform.python_version()}")
    print(f"sqlalchemy:  {sqlalchemy.__version__}")
    print(f"psycopg:     {psycopg.__version__} ({psycopg.pq.__impl__})")


def bench_isolation(url: str, connect_args: dict[str, Any]) -> None:
    engine = create_engine(url, connect_args=connect_args)  # as the snapq_engine fixture
    prepare_engine(engine)
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    bare = psycopg.connect(conninfo, autocommit=True, **connect_args)
    try:
        baseline = Baseline.capture(engine)

        def snapq_round() -> float:
            start = time.perf_counter()
            for _ in range(CYCLES):
                with isolated_connection(engine, baseline) as connection:
                    # The test's own statement, sent as the bare cycle sends it, so
                    # the difference is what isolation costs, not SQLAlchemy's execute.
                    connection.connection.driver_connection.execute("SELECT 1")  # type: ignore[union-attr]
            return (time.perf_counter() - start) / CYCLES

        def bare_round() -> float:
            start = time.perf_counter()
            for _ in range(CYCLES):
                bare.execute("BEGIN")
                bare.execute("SAVEPOINT s")
                bare.execute("SELECT 1")
                bare.execute("ROLLBACK")
            return (time.perf_counter() - start) / CYCLES

        snapq_round(), bare_round()  # warm up: pool, statement caches
        snapq_times: list[float] = []
        bare_times: list[float] = []
        for _ in range(ROUNDS):
            snapq_times.append(snapq_round())
            bare_times.append(bare_round())
    finally:
        bare.close()
        engine.dispose()
    snapq_ms = statistics.median(snapq_times) * 1000
    bare_ms = statistics.median(bare_times) * 1000
    print(f"\nper-test isolation ({ROUNDS} rounds x {CYCLES} cycles, median per cycle)")
    print(f"  {len(baseline.sequences)} sequences in the baseline")
    print(f"  snapq isolated_connection:  {snapq_ms:.3f} ms")
    print(f"  bare psycopg BEGIN..ROLLBACK: {bare_ms:.3f} ms")
    print(f"  ratio snapq/bare:           {snapq_ms / bare_ms:.2f}  (target <= 2.0)")


def time_start() -> float:
    """Seconds from Run.create() until the worker database exists (then end the run)."""
    start = time.perf_counter()
    with provisioned():
        return time.perf_counter() - start


def bench_startup() -> None:
    warm = [time_start() for _ in range(WARM_STARTS)]
    cold: list[float] = []
    saved = os.environ.get("SNAPQ_CACHE_DIR")
    try:
        for _ in range(COLD_STARTS):
            cache = Path(tempfile.mkdtemp(prefix="snapq-bench-cache-"))
            cache.chmod(0o755)  # as root the server user must traverse it
            os.environ["SNAPQ_CACHE_DIR"] = str(cache)
            try:
                cold.append(time_start())
            finally:
                shutil.rmtree(cache, ignore_errors=True)
    finally:
        if saved is None:
            os.environ.pop("SNAPQ_CACHE_DIR", None)
        else:
            os.environ["SNAPQ_CACHE_DIR"] = saved
    print("\nstart-up: Run.create() -> server + template + worker database")
    runs = ", ".join(f"{t:.3f}" for t in warm)
    print(f"  warm, median of {WARM_STARTS}: {statistics.median(warm):.3f} s  (target < 0.5 s)")
    print(f"    runs: {runs}")
    runs = ", ".join(f"{t:.3f}" for t in cold)
    print(f"  cold, median of {COLD_STARTS}: {statistics.median(cold):.3f} s  (target < 2 s)")
    print(f"    runs: {runs}")


def main() -> None:
    with provisioned() as (provisioner, url):
        header(url, provisioner.connect_args)
        bench_isolation(url, provisioner.connect_args)
    bench_startup()


if __name__ == "__main__":
    main()
