"""psycopg 3 below SQLAlchemy: a connection's driver, and statements sent in one round trip."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import Connection


def simple_query(driver: psycopg.Connection[Any], sql: str) -> str | None:
    """Send statements in one simple-protocol message, in one round trip; return the
    first value the last one returned, as text.

    Through libpq directly: psycopg's own execute would send its implicit BEGIN
    separately. psycopg reads the transaction status from libpq, so it sees the
    BEGIN or ROLLBACK sent here.
    """
    import psycopg

    result = driver.pgconn.exec_(sql.encode())
    if result.status == psycopg.pq.ExecStatus.TUPLES_OK and result.ntuples:
        value = result.get_value(0, 0)
        return None if value is None else bytes(value).decode()
    if result.status not in (psycopg.pq.ExecStatus.COMMAND_OK, psycopg.pq.ExecStatus.TUPLES_OK):
        message = result.error_message.decode(errors="replace").strip()
        raise error_class(result.error_field(psycopg.pq.DiagnosticField.SQLSTATE))(message)
    return None


def error_class(sqlstate: bytes | None) -> type[psycopg.Error]:
    """Return the class psycopg would raise for ``sqlstate`` (IntegrityError...)."""
    import psycopg

    try:
        return psycopg.errors.lookup(sqlstate.decode()) if sqlstate else psycopg.Error
    except KeyError:  # a code psycopg does not know
        return psycopg.Error


def driver_of(connection: Connection) -> psycopg.Connection[Any]:
    import psycopg

    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection), "snapq connects with psycopg 3"
    return driver
