"""Benchmark the two isolations: what ``transaction=True`` costs per test, and what
the check for commits elsewhere costs the tests that make none.

Run from the repository root::

    .venv/bin/python benchmarks/bench_transaction.py

It measures, on snapq's embedded PostgreSQL, in rounds that alternate:

1. ``restore``: what snapq does after a ``transaction=True`` test
   (``Provisioner.restore_database``: the worker's database dropped and copied from
   the template), against a database per test done by hand on the same server
   (``CREATE DATABASE … TEMPLATE`` and ``DROP DATABASE``, on one admin connection).
2. ``watch``: the commit check of an ordinary test (``CommitWatch.start`` and
   ``stop``), with the listener on every Engine installed, against nothing; and what
   the listener adds to a commit on a connection.

Targets (from the issue) are printed beside the results; nothing is asserted.
"""

from __future__ import annotations

import datetime
import platform
import statistics
import time
from collections.abc import Callable

import sqlalchemy
from machine import machine  # benchmarks/machine.py
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from snapq._config import resolve_settings
from snapq._database.commits import CommitWatch
from snapq._database.provision import Provisioner
from snapq._database.run import Run

ROUNDS = 7
RESTORES = 10
WATCHES = 20_000
COMMITS = 2_000
TABLES = 20


def schema(connection: sqlalchemy.Connection) -> None:
    for number in range(TABLES):
        connection.execute(text(f"CREATE TABLE t{number} (id serial PRIMARY KEY, note text)"))
        connection.execute(
            text(f"INSERT INTO t{number} (note) SELECT 'x' FROM generate_series(1, 50)")
        )


def per_call(function: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``function``, over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


def main() -> None:
    settings = resolve_settings(options={}, environ={}, ini={})
    run = Run.create()
    provisioner = Provisioner(settings, run, checkout="bench")
    try:
        url = provisioner.database_url("main", schema)
        admin = create_engine(
            make_url(url).set(database="postgres"),
            isolation_level="AUTOCOMMIT",
            connect_args=provisioner.connect_args,
        )
        template = make_url(url).database.replace("_main", "_template")  # type: ignore[union-attr]

        def by_hand() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "by_hand" TEMPLATE "{template}"'))
                connection.execute(text('DROP DATABASE "by_hand"'))

        watch = CommitWatch(str(make_url(url).database))
        watch.start()
        watch.stop()

        def check() -> None:
            watch.start()
            watch.stop()

        engine = create_engine(url)

        results: dict[str, list[float]] = {
            name: [] for name in ("restore", "by hand", "check", "commit watched", "commit")
        }
        for _ in range(ROUNDS):
            results["restore"].append(per_call(provisioner.restore_database, RESTORES))
            results["by hand"].append(per_call(by_hand, RESTORES))
            results["check"].append(per_call(check, WATCHES))
            engine.dispose()  # its connections ended with the restored database
            with engine.connect() as connection:

                def commit(connection: sqlalchemy.Connection = connection) -> None:
                    connection.execute(text("SELECT 1"))
                    connection.commit()

                results["commit watched"].append(per_call(commit, COMMITS))
                watch.close()
                results["commit"].append(per_call(commit, COMMITS))
                watch.start()
                watch.stop()
        engine.dispose()
        admin.dispose()
    finally:
        provisioner.release()
        provisioner.close_run(databases_used=True)

    median = {name: statistics.median(values) for name, values in results.items()}
    print(f"snapq transaction benchmark, {datetime.date.today()}, {machine()}")
    print(f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}")
    print(f"template: {TABLES} tables of 50 rows; {ROUNDS} rounds, medians")
    print()
    print("| what | per test | against | ratio | target |")
    print("|---|---|---|---|---|")
    restore, hand = median["restore"], median["by hand"]
    print(
        f"| transaction=True (restore after the test) | {restore * 1e3:.1f} ms | "
        f"{hand * 1e3:.1f} ms by hand | {restore / hand:.2f} x | |"
    )
    print(
        f"| commit check, a test that commits nothing | {median['check'] * 1e6:.2f} µs | "
        "nothing | | ≤ 50 µs |"
    )
    extra = median["commit watched"] - median["commit"]
    print(
        f"| the listener, per commit | {extra * 1e6:+.1f} µs | "
        f"{median['commit'] * 1e6:.0f} µs a commit | | |"
    )


if __name__ == "__main__":
    main()
