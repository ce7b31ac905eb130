"""Benchmark what ``assert_query`` costs on top of running the statement.

Run from the repository root::

    .venv/bin/python benchmarks/bench_assert_query.py

On snapq's embedded PostgreSQL, for a few typical selects, it times
``assert_query(stmt, sql=..., results=...)`` on passing snapshots against
``connection.execute(stmt).fetchall()``, alternating the two in rounds, and prints
the median per call of each, the difference in ms and the ratio. Two record modes:
``never`` (CI: compare only) and ``missing`` (local: also find the call site and
queue the observation). "first" runs without SQLAlchemy's compiled cache and clears
snapq's caches (formatted and compiled SQL) before every call, on both sides, as for
a statement the run has not seen yet; "repeat" keeps them, as for a parametrized
test or a loop. Target (from the issue): at most 1 ms extra per call.
"""

from __future__ import annotations

import datetime
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy
from sqlalchemy import (
    Connection,
    ForeignKey,
    String,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from snapq import RecordMode, assert_query
from snapq._config import Setting, resolve_settings
from snapq._context import CURRENT
from snapq._database.isolation import Baseline, isolated_connection, prepare_engine
from snapq._database.provision import Provisioner
from snapq._database.run import Run
from snapq._snapshots.recorder import Recorder
from snapq._sql.compile import _TEMPLATES
from snapq._sql.execute import execute
from snapq._sql.format import pretty_sql
from snapq._sql.render import render_result

ROUNDS = 15
CALLS = 100


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


STATEMENTS = {
    "select with where": select(Book.id, Book.title).where(Book.author_id == 1).order_by(Book.id),
    "join and aggregate": select(Author.name, func.count(Book.id).label("books"))
    .join(Book)
    .group_by(Author.name)
    .order_by(Author.name),
    "ORM entity": select(Author).order_by(Author.id).limit(5),
}


def build(connection: Connection) -> None:
    Base.metadata.create_all(connection)
    connection.execute(insert(Author), [{"name": f"author {n}"} for n in range(10)])
    connection.execute(
        insert(Book), [{"author_id": n % 10 + 1, "title": f"book {n}"} for n in range(50)]
    )


class BenchContext:
    """The test context assert_query sees, without pytest."""

    def __init__(self, mode: RecordMode, connection: Connection) -> None:
        self.nodeid = "bench"
        self.record = Setting(mode, "benchmark")
        self.recorder = Recorder()
        self._connection = connection

    def default_connection(self) -> Connection:
        return self._connection

    def note(self, message: str) -> None:
        raise AssertionError(message)


@contextmanager
def database() -> Iterator[Connection]:
    settings = resolve_settings(options={}, environ={}, ini={})
    provisioner = Provisioner(settings, Run.create())
    try:
        url = provisioner.database_url("main", build)
        engine = create_engine(url, connect_args=provisioner.connect_args)
        prepare_engine(engine)
        try:
            with isolated_connection(engine, Baseline.capture(engine)) as connection:
                yield connection
        finally:
            engine.dispose()
    finally:
        provisioner.release()
        provisioner.close_run(databases_used=True)


def median_per_call(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    for _ in range(CALLS):
        run()
    return (time.perf_counter() - start) / CALLS


def compare(
    name: str, statement: Any, connection: Connection, mode: RecordMode, *, first: bool
) -> None:
    cache = connection.engine._compiled_cache
    if first:
        connection.execution_options(compiled_cache=None)  # changes the connection itself
    execution = execute(connection, statement)
    sql = pretty_sql(execution.sent.sql).text
    results = render_result(execution.result)
    token = CURRENT.set(BenchContext(mode, connection))
    try:

        def checked() -> None:
            if first:
                pretty_sql.cache_clear()
                _TEMPLATES.clear()
            assert_query(statement, sql=sql, results=results)

        def plain() -> None:
            connection.execute(statement).fetchall()

        checked(), plain()  # warm caches: compiled SQL, formatting, call site
        asserted, executed = [], []
        for _ in range(ROUNDS):
            asserted.append(median_per_call(checked))
            executed.append(median_per_call(plain))
    finally:
        CURRENT.reset(token)
        connection.execution_options(compiled_cache=cache)
    a_ms, e_ms = statistics.median(asserted) * 1000, statistics.median(executed) * 1000
    calls = "first" if first else "repeat"
    print(
        f"  {name:<19} {mode.value:<8} {calls:<7} assert_query {a_ms:5.3f} ms  "
        f"execute+fetchall {e_ms:5.3f} ms  extra {a_ms - e_ms:5.3f} ms  ratio {a_ms / e_ms:3.1f}"
    )


def main() -> None:
    print(f"date:       {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"python:     {platform.python_version()}, sqlalchemy {sqlalchemy.__version__}")
    print(f"rounds:     {ROUNDS} x {CALLS} calls, median per call (target: <= 1 ms extra)")
    with database() as connection:
        for first in (True, False):
            for mode in (RecordMode.NEVER, RecordMode.MISSING):
                for name, statement in STATEMENTS.items():
                    compare(name, statement, connection, mode, first=first)


if __name__ == "__main__":
    main()
