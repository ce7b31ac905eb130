"""Give each test a connection inside a transaction that is rolled back afterwards.

Per test: check out a connection, BEGIN, put sequences back to their template
values (sequences ignore ROLLBACK), run the test, check deferred constraints (which
would otherwise never be checked, as nothing commits), ROLLBACK, and check that the
test did not commit the transaction itself. That costs two round trips to the
server besides the test's own statements.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from snapq._database.deadline import watch_statements
from snapq._database.libpq import (
    driver_of,
    is_psycopg,
    psycopg_of,
    says_the_run_is_unwell,
    set_answer_timeout,
    simple_query,
)
from snapq._errors import IsolationError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from snapq._database.libpq import AnyPsycopg

# Key in Connection.info: the fixture whose test transaction the connection holds.
TEST_CONNECTION = "snapq_test_connection"
# Key in the DBAPI connection's info (kept while that connection lives): the names
# of the statements prepared on it.
PREPARED = "snapq_prepared"
INSUFFICIENT_PRIVILEGE = "42501"
IN_FAILED_TRANSACTION = "25P02"
# Assigns the test's transaction an id, so its end can tell if the test committed it.
_TRANSACTION_ID = "SELECT pg_catalog.txid_current()"

# The sequences the test's role can read and set; a sequence of another role's
# could not be reset anyway.
_SEQUENCES = """
SELECT format('%I.%I', schemaname, sequencename),
       coalesce(last_value, start_value),
       last_value IS NOT NULL
FROM pg_catalog.pg_sequences
WHERE pg_catalog.has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'SELECT')
  AND pg_catalog.has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'UPDATE')
ORDER BY 1
"""


@dataclass(frozen=True)
class Baseline:
    """The state every test starts from: each sequence's value in the template."""

    sequences: tuple[tuple[str, int, bool], ...]

    @classmethod
    def capture(cls, engine: Engine) -> Baseline:
        """Read the sequences of a fresh copy of the template."""
        import psycopg

        with engine.connect() as connection:
            driver = driver_of(connection)
            assert isinstance(driver, psycopg.Connection), "a sync engine reads the baseline"
            rows = driver.execute(_SEQUENCES).fetchall()
            connection.rollback()
        return cls(tuple((str(name), int(value), bool(called)) for name, value, called in rows))

    @cached_property
    def restore_sql(self) -> str | None:
        """One statement, without parameters, that puts every moved sequence back.

        Reading a sequence costs about half of setting it (which writes WAL), and a
        test moves few of the schema's sequences: a sequence used in the template is
        set only if its value moved. One never used is always set: its last value
        reads NULL whatever setval(s, n, false) did to it.
        """
        if not self.sequences:
            return None
        baseline = ", ".join(
            f"({_literal(name)}::regclass, {value}::bigint, {str(called).lower()})"
            for name, value, called in self.sequences
        )
        return (
            "SELECT pg_catalog.setval(seq, value, called) "
            f"FROM (VALUES {baseline}) AS baseline (seq, value, called) "
            "WHERE NOT called OR pg_catalog.pg_sequence_last_value(seq) IS DISTINCT FROM value"
        )

    @cached_property
    def _statement_name(self) -> str:
        digest = hashlib.sha256(str(self.restore_sql).encode()).hexdigest()
        return f"snapq_sequences_{digest[:16]}"

    def begin(self, connection: Connection) -> str:
        """Begin the test's transaction and put every moved sequence back: one round
        trip. Return the transaction's id.

        The reset is prepared once per connection: planning it again in every test
        would cost more than running it (about 0.1 ms for 10 sequences).
        """
        import psycopg

        driver = psycopg_of(connection)
        if driver is None:
            return self._begin_through_sqlalchemy(connection)
        if self.restore_sql is None:
            return str(simple_query(driver, f"BEGIN; {_TRANSACTION_ID}"))
        name = self._statement_name
        prepare = f"PREPARE {name} AS {self.restore_sql}; "
        prepared = connection.connection.info.setdefault(PREPARED, set())
        if name not in prepared:  # on its own: a failed reset must not leave it unknown
            simple_query(driver, prepare)
            prepared.add(name)
        begin = f"BEGIN; EXECUTE {name}; {_TRANSACTION_ID}"
        try:
            xid = simple_query(driver, begin)
        except psycopg.errors.InvalidSqlStatementName:
            # The statement is gone: the test before ran DISCARD ALL or DEALLOCATE.
            xid = simple_query(driver, f"ROLLBACK; {prepare}{begin}")
        return str(xid)

    def _begin_through_sqlalchemy(self, connection: Connection) -> str:
        """Begin (asyncpg) as the driver itself does, then reset the sequences and read
        the transaction's id in one statement: its protocol takes one per message."""
        reset = (
            f", (SELECT count(*) FROM ({self.restore_sql}) AS reset)" if self.restore_sql else ""
        )
        return str(connection.exec_driver_sql(f"{_TRANSACTION_ID}{reset}").scalar())


def refuse_commit(connection: Connection) -> None:
    """Stop a test from committing the transaction that isolates it (a ``commit`` event)."""
    fixture = connection.info.get(TEST_CONNECTION)
    if fixture:
        msg = (
            f"{fixture} is rolled back after each test, so it must not be committed. "
            f"Use connection.begin_nested() for a savepoint you can commit, or the "
            f"{_session_of(fixture)} fixture, whose commit() releases a savepoint."
        )
        raise IsolationError(msg)


def _session_of(fixture: str) -> str:
    return fixture.replace("connection", "session")


def prepare_engine(
    engine: Engine,
    *,
    answer_timeout: float | None = None,
    pinned: Mapping[str, str] | None = None,
) -> None:
    """Make ``engine`` refuse commits on test connections, pin how values print, and
    speak English.

    The ``pinned`` settings are set again once connected, on psycopg: libpq sends
    what ``PGTZ`` and ``PGDATESTYLE`` say after the ``options`` that set them first.
    Error messages become part of result snapshots, so their language is pinned too
    where the server allows it (``lc_messages`` needs a superuser). Every statement
    on its psycopg connections waits at most ``answer_timeout`` seconds for an answer
    (asyncpg's own ``command_timeout`` does the same). For an ``AsyncEngine``, pass its
    ``sync_engine``.
    """
    from sqlalchemy import event

    def connected(dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if is_psycopg(driver):
            set_answer_timeout(driver, answer_timeout)

    if not event.contains(engine, "commit", refuse_commit):
        event.listen(engine, "commit", refuse_commit)
        event.listen(engine, "connect", connected)
        pin_settings(engine, pinned or {})
        watch_statements(engine)


def is_prepared(engine: Engine) -> bool:
    """Tell whether ``prepare_engine`` prepared ``engine`` (one of snapq's own)."""
    from sqlalchemy import event

    return bool(event.contains(engine, "commit", refuse_commit))


def pin_settings(engine: Engine, pinned: Mapping[str, str]) -> None:
    """Set ``pinned`` (and ``lc_messages``) on each new connection of ``engine``."""
    from sqlalchemy import event

    def connected(dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        # asyncpg reads no such variables; it takes one statement at a time.
        _set_up(dbapi_connection, pinned if is_psycopg(driver) else {})

    event.listen(engine, "connect", connected)


def _set_up(dbapi_connection: Any, pinned: Mapping[str, str]) -> None:
    """Set ``pinned`` and ``lc_messages`` through the DBAPI alone (this runs for every
    driver), outside a transaction: one round trip on psycopg; ``pinned`` alone where
    ``lc_messages`` is refused."""
    settings = [f"SET {name} TO {_literal(value)}" for name, value in pinned.items()]
    applied = "; ".join([*settings, "SET lc_messages TO 'C'"])
    dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(applied)
    except Exception as error:
        if getattr(error, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
            raise
        applied = "; ".join(settings)
        if applied:
            cursor.execute(applied)
    finally:
        cursor.close()
        dbapi_connection.autocommit = False


@contextmanager
def isolated_connection(engine: Engine, baseline: Baseline) -> Iterator[Connection]:
    """Yield a connection in a transaction that is rolled back when the block ends."""
    with engine.connect() as connection, isolating(connection, baseline):
        yield connection


@contextmanager
def isolating(
    connection: Connection, baseline: Baseline, fixture: str = "snapq_connection"
) -> Iterator[None]:
    """Run the block in a transaction on ``connection`` that is rolled back at its end;
    ``fixture`` names it in messages.

    Synchronous, so that the async fixtures run it through ``run_sync`` and isolate
    exactly as the sync ones do.
    """
    connection.info[TEST_CONNECTION] = fixture
    transaction = connection.begin()
    try:
        xid = baseline.begin(connection)
        yield
        roll_back_test(connection, xid)
    finally:
        connection.info.pop(TEST_CONNECTION, None)
        # After roll_back_test, this reaches no server: the drivers skip ROLLBACK
        # outside a transaction. A connection that was lost (or that snapq closed,
        # its server silent) has nothing to end.
        driver = None if connection.invalidated else connection.connection.driver_connection
        if driver is not None and _closed(driver):
            connection.invalidate()
        if connection.invalidated:
            pass
        elif transaction.is_active:
            transaction.rollback()
        else:
            connection.rollback()


def roll_back_test(connection: Connection, xid: str) -> None:
    """Check deferred constraints, as a commit would, roll back, and make sure the
    test did not commit transaction ``xid`` itself: one round trip.

    Raises ``IsolationError`` if a deferred constraint is violated, or if the test
    committed (a ``COMMIT`` statement, or commit() on the DBAPI connection, which
    SQLAlchemy's commit event does not see).
    """
    if connection.closed or connection.invalidated:
        return
    driver = psycopg_of(connection)
    if driver is None:
        outcome = _roll_back_through_sqlalchemy(connection, xid)
    else:
        outcome = _roll_back_on_psycopg(driver, f"SELECT pg_catalog.txid_status({int(xid)})")
    if outcome == "committed":
        fixture = connection.info.get(TEST_CONNECTION) or "snapq_connection"
        msg = (
            f"the test committed {fixture}'s transaction (a COMMIT statement, or "
            "commit() on the DBAPI connection), so what it wrote before stays in this "
            "worker's database and later tests may see it. Commit inside the test with "
            f"connection.begin_nested() or the {_session_of(fixture)} fixture."
        )
        raise IsolationError(msg)


def _roll_back_on_psycopg(driver: AnyPsycopg, status: str) -> str | None:
    import psycopg

    match driver.info.transaction_status:
        case psycopg.pq.TransactionStatus.INTRANS:
            try:
                outcome = simple_query(driver, f"SET CONSTRAINTS ALL IMMEDIATE; ROLLBACK; {status}")
            except psycopg.Error as error:
                if error.sqlstate is None or says_the_run_is_unwell(error.sqlstate):
                    raise  # a timeout, a lost connection: not the data
                simple_query(driver, "ROLLBACK")
                raise _deferred_violation(error) from None
        case psycopg.pq.TransactionStatus.INERROR:
            outcome = simple_query(driver, f"ROLLBACK; {status}")
        case psycopg.pq.TransactionStatus.IDLE:  # the test ended the transaction
            outcome = simple_query(driver, status)
        case _:  # the connection is broken: nothing more to learn from it
            return None
    return outcome


def _roll_back_through_sqlalchemy(connection: Connection, xid: str) -> str | None:
    """End the test on a driver without libpq (asyncpg): a statement per message.

    The status is read before the rollback: if the test committed, the statement runs
    outside the test's transaction (in none, or in one begun since) and says so; if
    not, that transaction is still in progress.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    transaction = connection.get_transaction()
    if transaction is not None and not transaction.is_valid:  # a refused commit, say
        connection.rollback()
    else:
        try:
            connection.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
        except DBAPIError as error:
            connection.rollback()
            sqlstate = getattr(error.orig, "sqlstate", None)
            if sqlstate is None or says_the_run_is_unwell(str(sqlstate)):
                raise  # a timeout, a lost connection: not the data
            if sqlstate != IN_FAILED_TRANSACTION:  # a constraint, or a deferred trigger
                raise _deferred_violation(error.orig) from None
    # The id as a parameter: one statement, which the driver prepares once.
    status = text("SELECT pg_catalog.txid_status(:xid)").bindparams(xid=int(xid))
    outcome = connection.execute(status).scalar()
    connection.rollback()
    return None if outcome is None else str(outcome)


def _deferred_violation(error: BaseException | None) -> IsolationError:
    return IsolationError(
        "a deferred constraint is violated at the end of the test, so this data "
        f"could never be committed:\n  {str(error).strip()}"
    )


def _closed(driver: Any) -> bool:
    """Tell whether a driver's connection is closed: psycopg's or asyncpg's."""
    is_closed = getattr(driver, "is_closed", None)
    return bool(is_closed() if callable(is_closed) else driver.closed)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
