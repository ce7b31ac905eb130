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

The last case, a wide result (WIDE_ROWS rows of eight columns: int, text with
NULLs, numeric, timestamptz, bool, jsonb, int[], date), weighs reading and drawing
the cells rather than compiling and formatting; it runs WIDE_CALLS calls a round.
benchmarks/bench_before_after.py runs this file from two source trees and compares.
"""

from __future__ import annotations

import datetime
import decimal
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy
from machine import machine  # benchmarks/machine.py
from sqlalchemy import (
    ARRAY,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from snapq import RecordMode, assert_query
from snapq._config import Setting, resolve_settings
from snapq._context import enter_test, leave_test
from snapq._database.isolation import Baseline, isolated_connection, prepare_engine
from snapq._database.provision import Provisioner
from snapq._database.run import Run
from snapq._snapshots.recorder import Recorder
from snapq._sql.compile import _TEMPLATES
from snapq._sql.execute import execute
from snapq._sql.format import display_sql, pretty_sql
from snapq._sql.render import render_result

ROUNDS = 15
CALLS = 100
WIDE_ROWS = 200
WIDE_CALLS = 10
WIDE = f"wide: {WIDE_ROWS} x 8"


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


class Wide(Base):
    __tablename__ = "wide"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(12, 2))
    created: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool]
    data: Mapped[dict[str, object]] = mapped_column(JSONB)
    tags: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    day: Mapped[datetime.date]


WIDE_ROWS_SQL = f"""
INSERT INTO wide (name, price, created, active, data, tags, day)
SELECT CASE WHEN n % 10 = 0 THEN NULL ELSE 'item ' || n END,
       n * 12.25,
       timestamptz '2024-01-01 00:00:00+00' + n * interval '97 minutes',
       n % 3 = 0,
       jsonb_build_object('n', n, 'label', 'row ' || n, 'even', n % 2 = 0),
       ARRAY[n, n * 2, n * 3],
       date '2024-01-01' + n
FROM generate_series(1, {WIDE_ROWS}) AS n
"""

STATEMENTS = {
    "select with where": select(Book.id, Book.title).where(Book.author_id == 1).order_by(Book.id),
    "join and aggregate": select(Author.name, func.count(Book.id).label("books"))
    .join(Book)
    .group_by(Author.name)
    .order_by(Author.name),
    "ORM entity": select(Author).order_by(Author.id).limit(5),
    WIDE: select(*Wide.__table__.c).order_by(Wide.id),
}


def build(connection: Connection) -> None:
    Base.metadata.create_all(connection)
    connection.execute(insert(Author), [{"name": f"author {n}"} for n in range(10)])
    connection.execute(
        insert(Book), [{"author_id": n % 10 + 1, "title": f"book {n}"} for n in range(50)]
    )
    connection.exec_driver_sql(WIDE_ROWS_SQL.replace("%", "%%"))  # % is psycopg's marker


class BenchContext:
    """The test context assert_query sees, without pytest."""

    def __init__(self, mode: RecordMode, connection: Connection) -> None:
        self.nodeid = "bench"
        self.record = Setting(mode, "benchmark")
        self.inline_max_lines = 1000
        self.recorder = Recorder()
        self.started = datetime.datetime.now(datetime.UTC)
        self._connection = connection

    def run_masks(self) -> tuple[Any, ...]:
        return ()

    def default_connection(self) -> Connection:
        return self._connection

    def default_async_connection(self) -> Any:
        raise NotImplementedError

    def watched_connections(self) -> tuple[Any, ...]:
        return (self._connection,)

    def track(self, pending: Any) -> None:
        raise NotImplementedError

    def file_assertion(self, snapshot: Any) -> Any:
        raise NotImplementedError

    def note(self, message: str) -> None:
        raise AssertionError(message)

    def builds_schema(self) -> bool:
        return True


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


def median_per_call(run: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def compare(
    name: str, statement: Any, connection: Connection, mode: RecordMode, *, first: bool
) -> None:
    cache = connection.engine._compiled_cache
    if first:
        connection.execution_options(compiled_cache=None)  # changes the connection itself
    execution = execute(connection, statement)
    sql = display_sql(execution.sent).text
    results = render_result(execution.result)
    calls = WIDE_CALLS if name == WIDE else CALLS
    context = BenchContext(mode, connection)
    enter_test(context)
    try:

        def checked() -> None:
            if first:
                pretty_sql.cache_clear()
                _TEMPLATES.clear()
            assert_query(statement, sql=sql, results=results)

        def plain() -> None:
            connection.execute(statement).fetchall()

        checked()  # warm caches: compiled SQL, formatting, call site
        plain()
        asserted, executed = [], []
        for _ in range(ROUNDS):
            asserted.append(median_per_call(checked, calls))
            executed.append(median_per_call(plain, calls))
    finally:
        leave_test(context)
        connection.execution_options(compiled_cache=cache)
    a_ms, e_ms = statistics.median(asserted) * 1000, statistics.median(executed) * 1000
    kind = "first" if first else "repeat"
    print(
        f"  {name:<19} {mode.value:<8} {kind:<7} assert_query {a_ms:5.3f} ms  "
        f"execute+fetchall {e_ms:5.3f} ms  extra {a_ms - e_ms:5.3f} ms  ratio {a_ms / e_ms:3.1f}"
    )


def main() -> None:
    print(f"date:       {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine:    {machine()}")
    print(f"python:     {platform.python_version()}, sqlalchemy {sqlalchemy.__version__}")
    print(
        f"rounds:     {ROUNDS} x {CALLS} calls ({WIDE_CALLS} for {WIDE!r}), median per call "
        "(target: <= 1 ms extra)"
    )
    with database() as connection:
        for first in (True, False):
            for mode in (RecordMode.NEVER, RecordMode.MISSING):
                for name, statement in STATEMENTS.items():
                    compare(name, statement, connection, mode, first=first)


if __name__ == "__main__":
    main()
