"""Give each test a connection inside a transaction that is rolled back afterwards.

Per test: check out a connection, BEGIN, put sequences back to their template
values (sequences ignore ROLLBACK), run the test, check deferred constraints (which
would otherwise never be checked, as nothing commits), ROLLBACK.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from snapq._errors import IsolationError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

TEST_CONNECTION = "snapq_test_connection"  # key in Connection.info

_SEQUENCES = """
SELECT format('%I.%I', schemaname, sequencename),
       coalesce(last_value, start_value),
       last_value IS NOT NULL
FROM pg_catalog.pg_sequences
ORDER BY 1
"""
_RESET = """
SELECT pg_catalog.setval(name::regclass, value, called)
FROM unnest(%(names)s::text[], %(values)s::bigint[], %(called)s::boolean[])
    AS sequences(name, value, called)
"""


@dataclass(frozen=True)
class Baseline:
    """The state every test starts from: each sequence's value in the template."""

    sequences: tuple[tuple[str, int, bool], ...]

    @classmethod
    def capture(cls, engine: Engine) -> Baseline:
        """Read the sequences of a fresh copy of the template."""
        with engine.connect() as connection:
            rows = connection.connection.driver_connection.execute(_SEQUENCES).fetchall()  # type: ignore[union-attr]
            connection.rollback()
        return cls(tuple((str(name), int(value), bool(called)) for name, value, called in rows))

    def restore(self, connection: Connection) -> None:
        """Put every sequence back to its template value, in one round trip."""
        if not self.sequences:
            return
        names, values, called = zip(*self.sequences, strict=True)
        driver: Any = connection.connection.driver_connection
        driver.execute(
            _RESET, {"names": list(names), "values": list(values), "called": list(called)}
        )


def refuse_commit(connection: Connection) -> None:
    """Stop a test from committing the transaction that isolates it (a ``commit`` event)."""
    if connection.info.get(TEST_CONNECTION):
        msg = (
            "snapq_connection is rolled back after each test, so it must not be committed. "
            "Use connection.begin_nested() for a savepoint you can commit, or the "
            "snapq_session fixture, whose commit() releases a savepoint."
        )
        raise IsolationError(msg)


def install_commit_guard(engine: Engine) -> None:
    """Make ``engine`` refuse commits on test connections."""
    from sqlalchemy import event

    if not event.contains(engine, "commit", refuse_commit):
        event.listen(engine, "commit", refuse_commit)


@contextmanager
def isolated_connection(engine: Engine, baseline: Baseline) -> Iterator[Connection]:
    """Yield a connection in a transaction that is rolled back when the block ends."""
    with engine.connect() as connection:
        connection.info[TEST_CONNECTION] = True
        transaction = connection.begin()
        try:
            baseline.restore(connection)
            yield connection
            check_deferred_constraints(connection)
        finally:
            connection.info.pop(TEST_CONNECTION, None)
            if transaction.is_active:
                transaction.rollback()
            else:
                connection.rollback()


def check_deferred_constraints(connection: Connection) -> None:
    """Check deferred constraints now, as a commit would, and fail the test if one breaks."""
    import psycopg

    if connection.closed or connection.invalidated:
        return
    driver: Any = connection.connection.driver_connection
    if driver.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        return  # nothing ran, or the transaction already failed
    try:
        driver.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except psycopg.Error as error:
        msg = (
            "a deferred constraint is violated at the end of the test, so this data could "
            f"never be committed:\n  {str(error).strip()}"
        )
        raise IsolationError(msg) from error
