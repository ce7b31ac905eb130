"""Run a statement for real, inside a savepoint, and capture what reached the cursor.

The statement runs with its own bound parameters (never the display text). A
database error becomes part of the result, and the savepoint keeps the test's
transaction usable after it; a statement that succeeds keeps its effects.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from snapq._database.libpq import says_the_run_is_unwell, simple_query
from snapq._errors import IsolationError, SnapqError, UnshowableValueError
from snapq._sql import pg_text
from snapq._sql.asyncpg_text import asyncpg_text, error_details, refused_column, status_of
from snapq._sql.bound_columns import bound_columns
from snapq._sql.compile import CompiledSQL, compile_execution, compile_for_display
from snapq._sql.connection import connection_of
from snapq._sql.result import Cell, Column, QueryError, QueryResult

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session


@dataclass
class _Capture:
    """What the cursor saw during one execution."""

    compiled: Any = None
    parameters: dict[str, Any] | None = None
    statement: str | None = None
    status: str | None = None
    type_oids: tuple[int | None, ...] = ()
    # The rows as PostgreSQL's text: read from psycopg's result (None: from the
    # cursor's rows, as asyncpg loaded them).
    text_rows: tuple[tuple[Cell, ...], ...] | None = None


SAVEPOINT = "snapq_assert"
# Errors that say the test run is unwell (see libpq.says_the_run_is_unwell) fail the
# test and are never a result. A lock not available (55P03) is the statement's own
# result when it asked not to wait (NOWAIT), and the run's trouble when the lock
# timeout ran out.
LOCK_NOT_AVAILABLE = "55P03"
_UNWELL_NOTE = (
    "snapq: this error says that the test run is unwell, not what the statement "
    "gives, so it is not a result: it is neither recorded nor compared with a snapshot."
)
_ASYNCPG_COULD_NOT_LOAD = (
    "snapq: asyncpg could not load a value of this result as a Python value ({error}), so "
    "snapq cannot show it: run this test with --snapq-async-driver=psycopg, which gives "
    "snapq PostgreSQL's own text"
)
_NOT_STREAMED = {"stream_results": False, "yield_per": None}
_CAPTURE: contextvars.ContextVar[_Capture | None] = contextvars.ContextVar(
    "snapq_capture", default=None
)


@dataclass(frozen=True)
class Execution:
    """A statement's outcome, the SQL that was sent for it, and the names ``ignore=``
    may use (result columns, bound parameters and, where ``ignore=`` was given, the
    columns those are bound to)."""

    result: QueryResult
    sent: CompiledSQL
    names: frozenset[str] = frozenset()


def execute(
    target: Connection | Session, statement: Any, *, ignore: Collection[str] = ()
) -> Execution:
    """Execute ``statement`` on ``target`` in a savepoint; return rows or error, and SQL."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    connection = connection_of(target, flush=True)
    if isinstance(statement, str):
        # Plain SQL: every colon is SQL's own (casts, JSON, times), never a parameter.
        statement = text(statement.replace(":", "\\:"))
    _capture_on(connection.engine)
    capture = _Capture()
    end_savepoint = _savepoint(connection)
    token = _CAPTURE.set(capture)  # only the statement itself, not the savepoint's SQL
    try:
        # snapq reads the rows from the result the statement produced, where a
        # server-side cursor (stream_results, yield_per) would hold none of them yet.
        cursor_result = connection.execute(statement, execution_options=_NOT_STREAMED)
        result = _read(statement, cursor_result, capture, frozenset(ignore))
    except DBAPIError as error:
        _CAPTURE.reset(token)
        if run_is_unwell(error):
            with contextlib.suppress(Exception):  # the connection may be gone too
                end_savepoint(False)
            error.add_note(_UNWELL_NOTE)
            raise
        server_side = getattr(error.orig, "sqlstate", None) is not None
        end_savepoint(not server_side)  # a client-side error: the statement did run
        result = QueryResult(error=query_error(error))
    except BaseException as error:
        _CAPTURE.reset(token)
        end_savepoint(False)
        if _asyncpg_could_not_load(error, connection):
            raise UnshowableValueError(_ASYNCPG_COULD_NOT_LOAD.format(error=error)) from error
        raise
    else:
        _CAPTURE.reset(token)
        end_savepoint(True)
    parameters = set(capture.parameters or ())
    # Only ignore= needs the columns parameters are bound to (a walk of the statement).
    bound = bound_columns(capture.compiled) if ignore and capture.compiled is not None else {}
    names = {column.name for column in result.columns} | parameters | set(bound.values())
    # ignore= names what users see: a parameter goes with the column it is bound to.
    ignored = set(ignore) | {name for name in parameters if bound.get(name) in ignore}
    return Execution(result, _sent_sql(statement, capture, connection, ignored), frozenset(names))


def _savepoint(connection: Connection) -> Callable[[bool], None]:
    """Set a savepoint; return how to end it (release on success, else roll back to it).

    On a psycopg connection inside a transaction, straight through libpq, one round
    trip each way: SQLAlchemy's begin_nested() costs as much again in Python.
    """
    import psycopg

    driver = connection.connection.driver_connection
    if isinstance(driver, psycopg.Connection) and connection.in_transaction():
        status = driver.info.transaction_status
        if status in (psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS):
            begin = "BEGIN; " if status == psycopg.pq.TransactionStatus.IDLE else ""
            simple_query(driver, f"{begin}SAVEPOINT {SAVEPOINT}")

            def end(success: bool) -> None:
                if driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    msg = (
                        "the statement ended the test's transaction (a COMMIT or ROLLBACK): "
                        "assert_query runs statements inside it, so it cannot assert these"
                    )
                    raise IsolationError(msg)
                if success:
                    simple_query(driver, f"RELEASE SAVEPOINT {SAVEPOINT}")
                else:
                    simple_query(
                        driver, f"ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
                    )

            return end
    nested = connection.begin_nested()
    return lambda success: nested.commit() if success else nested.rollback()


def _read(
    statement: Any, cursor_result: Any, capture: _Capture, ignored: frozenset[str]
) -> QueryResult:
    # DML returns rows only with an explicit RETURNING; the one SQLAlchemy adds itself
    # to learn a new primary key is not the statement's result.
    implicit = getattr(statement, "is_dml", False) and not getattr(
        statement, "returning_column_descriptions", None
    )
    if implicit or not cursor_result.returns_rows:
        return QueryResult(returns_rows=False, status=capture.status)
    names = list(cursor_result.keys())
    rows = capture.text_rows
    if rows is None:  # asyncpg's: its own values, read below SQLAlchemy's processing
        rows = _asyncpg_rows(names, cursor_result.cursor.fetchall(), capture.type_oids, ignored)
    return rows_result(names, rows, capture.type_oids, ignored=ignored)


def _asyncpg_could_not_load(error: BaseException, connection: Connection) -> bool:
    """Tell whether ``error`` is asyncpg failing to decode a value Python cannot hold
    (a BC date, year 10000, 24:00, an interval past timedelta's range)."""
    return (
        isinstance(error, ValueError | OverflowError)
        and not isinstance(error, SnapqError)
        and pg_text.is_asyncpg_connection(connection.connection.driver_connection)
    )


def _asyncpg_rows(
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    type_oids: Sequence[int | None],
    ignored: frozenset[str],
) -> tuple[tuple[Cell, ...], ...]:
    """Return asyncpg's ``rows`` as PostgreSQL's text; a column that ``ignored``
    names is left out, so asyncpg's form of it does not matter."""
    shown = [name not in ignored for name in names]
    for name, oid, show in zip(names, type_oids, shown, strict=True):
        if show and (error := refused_column(name, oid)) is not None:
            raise error
    return tuple(
        tuple(
            asyncpg_text(value, oid) if show else None
            for value, oid, show in zip(row, type_oids, shown, strict=True)
        )
        for row in rows
    )


def rows_result(
    names: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    type_oids: Sequence[int | None],
    *,
    ignored: frozenset[str] = frozenset(),
) -> QueryResult:
    """Return the result of a statement that returned ``rows`` under ``names``.

    The type OIDs are the cursor's description's; where they do not match the
    columns (a driver that reports none), every column's type is unknown.
    """
    oids = type_oids if len(type_oids) == len(names) else (None,) * len(names)
    columns = tuple(Column(name, oid) for name, oid in zip(names, oids, strict=True))
    return QueryResult(
        columns=columns, rows=tuple(tuple(row) for row in rows), returns_rows=True, ignored=ignored
    )


def run_is_unwell(error: DBAPIError) -> bool:
    """Tell whether ``error`` says the test run is unwell (a timeout, a lost
    connection, a deadlock...) rather than what the statement itself gives."""
    import psycopg

    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is None:  # raised by the driver: a lost connection, or a value it cannot load
        return isinstance(error.orig, psycopg.OperationalError | psycopg.InterfaceError)
    if sqlstate == LOCK_NOT_AVAILABLE:
        return "lock timeout" in str(error.orig)
    return says_the_run_is_unwell(sqlstate)


def query_error(error: DBAPIError) -> QueryError:
    """Return the database error that SQLAlchemy wrapped, as PostgreSQL reported it;
    ``(client)`` stands for the SQLSTATE of an error raised by the driver itself."""
    original = error.orig
    diag = getattr(original, "diag", None)
    message = getattr(diag, "message_primary", None) or str(original).strip()
    if diag is None:  # asyncpg's, below SQLAlchemy's adapter
        detail, hint = error_details(original)
    else:
        detail, hint = diag.message_detail, diag.message_hint
    return QueryError(
        sqlstate=getattr(original, "sqlstate", None) or "(client)",
        message=message,
        detail=detail,
        hint=hint,
    )


def _sent_sql(
    statement: Any, capture: _Capture, connection: Connection, ignore: Collection[str]
) -> CompiledSQL:
    if capture.compiled is not None and capture.parameters is not None and capture.statement:
        try:
            return compile_execution(
                capture.compiled, capture.parameters, sent=capture.statement, ignore=ignore
            )
        except Exception:  # noqa: S110 - fall back to the statement alone
            pass
    try:
        return compile_for_display(statement, dialect=connection.dialect)
    except Exception:
        return CompiledSQL(capture.statement or str(statement))


def _capture_on(engine: Engine) -> None:
    """Listen to ``engine``'s cursors, for the executions that ``_CAPTURE`` is set for."""
    from sqlalchemy import event

    if not event.contains(engine, "before_cursor_execute", _capture_statement):
        event.listen(engine, "before_cursor_execute", _capture_statement)
        event.listen(engine, "after_cursor_execute", _capture_outcome)


def _capture_statement(  # noqa: PLR0917 - SQLAlchemy's event signature
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    capture = _CAPTURE.get()
    if capture is None or context is None:
        return
    capture.statement = statement
    capture.compiled = context.compiled
    below = getattr(cursor, "_cursor", None)  # below SQLAlchemy's async adapter
    if below is not None and pg_text.is_psycopg_cursor(below):
        # The adapter loads every row as it executes; snapq reads PostgreSQL's text
        # instead, so nothing needs loading (and a value Python cannot hold must not
        # fail the statement).
        pg_text.load_nothing(below)
    compiled_parameters = getattr(context, "compiled_parameters", None)
    if compiled_parameters and not executemany:
        capture.parameters = dict(compiled_parameters[0])


def _capture_outcome(  # noqa: PLR0917 - SQLAlchemy's event signature
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    capture = _CAPTURE.get()
    if capture is None:
        return
    below = getattr(cursor, "_cursor", None) or cursor  # below SQLAlchemy's async adapter
    capture.status = getattr(below, "statusmessage", None) or status_of(cursor, statement)
    description = cursor.description or ()
    # DBAPI's description: a sequence of 7-item sequences, the type code second.
    capture.type_oids = tuple(column[1] for column in description)
    if pg_text.is_psycopg_cursor(below):
        capture.text_rows = pg_text.rows_of(below)
