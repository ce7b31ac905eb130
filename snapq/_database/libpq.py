"""psycopg 3 below SQLAlchemy: a connection's driver, and statements sent in one round trip."""

from __future__ import annotations

import selectors
import time
import weakref
from typing import TYPE_CHECKING, Any

from snapq._errors import ServerSilentError

if TYPE_CHECKING:
    from typing import TypeAlias

    import psycopg
    from sqlalchemy import Connection

    # psycopg's sync and async connections share the libpq connection (pgconn) and
    # its state (info), which is all that snapq uses of them here.
    AnyPsycopg: TypeAlias = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]


# Seconds to wait for the server's answer to snapq's own statements, by DBAPI
# connection (set when an engine connects; see isolation.prepare_engine). None: no limit.
_ANSWER_TIMEOUTS: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
WAKE_SECONDS = 0.1  # how often a wait for an answer wakes up, so that Ctrl-C is seen


def silent_message(seconds: float) -> str:
    """Say that the server did not answer in time, and what snapq did about it."""
    return (
        f"snapq: PostgreSQL did not answer within {seconds:.0f} s (the statement timeout "
        "and a margin), so snapq closed the connection: the server may be frozen "
        "(stopped, or out of resources)."
    )


def set_answer_timeout(driver: AnyPsycopg, seconds: float | None) -> None:
    if seconds is None:
        _ANSWER_TIMEOUTS.pop(driver, None)
    else:
        _ANSWER_TIMEOUTS[driver] = seconds


def answer_timeout(driver: AnyPsycopg) -> float | None:
    """Return how long to wait for the server's answer on ``driver`` (None: no limit)."""
    return _ANSWER_TIMEOUTS.get(driver)


def simple_query(driver: AnyPsycopg, sql: str) -> str | None:
    """Send statements in one simple-protocol message, in one round trip; return the
    first value the last one returned, as text.

    Through libpq directly: psycopg's own execute would send its implicit BEGIN
    separately. psycopg reads the transaction status from libpq, so it sees the
    BEGIN or ROLLBACK sent here. The wait for the answer polls, so Ctrl-C ends it,
    and gives up after the connection's answer timeout, closing the connection.
    """
    import psycopg

    pgconn = driver.pgconn
    pgconn.send_query(sql.encode())
    _wait_for_answer(driver, sql)
    last = None
    while (result := pgconn.get_result()) is not None:
        if result.status not in (psycopg.pq.ExecStatus.COMMAND_OK, psycopg.pq.ExecStatus.TUPLES_OK):
            while pgconn.get_result() is not None:  # drain, so the connection is usable
                pass
            message = result.error_message.decode(errors="replace").strip()
            raise error_class(result.error_field(psycopg.pq.DiagnosticField.SQLSTATE))(message)
        last = result
    if last is not None and last.status == psycopg.pq.ExecStatus.TUPLES_OK and last.ntuples:
        value = last.get_value(0, 0)
        return None if value is None else bytes(value).decode()
    return None


def _wait_for_answer(driver: AnyPsycopg, sql: str) -> None:
    pgconn = driver.pgconn
    timeout = answer_timeout(driver)
    deadline = None if timeout is None else time.monotonic() + timeout
    with selectors.DefaultSelector() as readable:  # select() fails past descriptor 1023
        readable.register(pgconn.socket, selectors.EVENT_READ)
        _wait(driver, readable, deadline, timeout, sql)


def _wait(
    driver: AnyPsycopg,
    readable: selectors.BaseSelector,
    deadline: float | None,
    timeout: float | None,
    sql: str,
) -> None:
    pgconn = driver.pgconn
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return
        if deadline is not None and timeout is not None and time.monotonic() > deadline:
            pgconn.finish()  # psycopg's connection, sync or async, then reads as closed
            msg = f"{silent_message(timeout)} The statement was: {sql[:200]}"
            raise ServerSilentError(msg)
        readable.select(WAKE_SECONDS)


# By SQLSTATE class: connection exceptions, insufficient resources (disk, memory,
# connections), operator intervention (cancelled by a timeout, shutdown); and by
# code: a deadlock, an I/O error, an idle-in-transaction timeout, data or index
# corruption. Other internal errors (XX000) are what extensions raise for bad input.
UNWELL_CLASSES = frozenset({"08", "53", "57"})
UNWELL_STATES = frozenset({"40P01", "58030", "25P03", "XX001", "XX002"})


def says_the_run_is_unwell(sqlstate: str) -> bool:
    """Tell whether an error of ``sqlstate`` says that the test run is unwell (a
    timeout, a lost connection, a deadlock...), not what the statement did."""
    return sqlstate[:2] in UNWELL_CLASSES or sqlstate in UNWELL_STATES


def error_class(sqlstate: bytes | None) -> type[psycopg.Error]:
    """Return the class psycopg would raise for ``sqlstate`` (IntegrityError...)."""
    import psycopg

    try:
        return psycopg.errors.lookup(sqlstate.decode()) if sqlstate else psycopg.Error
    except KeyError:  # a code psycopg does not know
        return psycopg.Error


def is_psycopg(driver: object) -> bool:
    import psycopg

    return isinstance(driver, psycopg.Connection | psycopg.AsyncConnection)


def psycopg_of(connection: Connection) -> AnyPsycopg | None:
    """Return the psycopg connection (sync or async) below ``connection``, or None
    for another driver (asyncpg)."""
    driver = connection.connection.driver_connection
    return driver if is_psycopg(driver) else None


def driver_of(connection: Connection) -> AnyPsycopg:
    driver = psycopg_of(connection)
    assert driver is not None, "snapq's sync engine connects with psycopg 3"
    return driver
