"""Commits that reach the worker's database from connections other than the test's.

Rollback isolation covers the test's own connection. A commit through any other
SQLAlchemy connection to the same database (a ``Session(bind=snapq_engine)``, an
engine the application builds from ``snapq_url``, a thread's) is real: snapq counts
them while a test runs, so that the test which made one fails and the database is
restored before the next. A commit of a transaction that wrote nothing (a SELECT,
``create_all`` finding its tables) is not counted. A test that commits nothing
elsewhere pays nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snapq._database.isolation import TEST_CONNECTION

if TYPE_CHECKING:
    from sqlalchemy import Connection


class CommitWatch:
    """Count the commits on other connections to ``database`` while a test runs."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.commits = 0
        self._watching = False
        self._listening = False

    def start(self) -> None:
        """Count from zero, from now on (a test begins)."""
        if not self._listening:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine

            event.listen(Engine, "commit", self._committed)  # every engine, made when
            self._listening = True
        self.commits, self._watching = 0, True

    def stop(self) -> int:
        """Stop counting (the test ended); return how many commits there were."""
        self._watching = False
        return self.commits

    def close(self) -> None:
        if self._listening:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine

            event.remove(Engine, "commit", self._committed)
            self._listening = False

    def _committed(self, connection: Connection, *_: Any) -> None:
        if (
            self._watching
            and TEST_CONNECTION not in connection.info
            and connection.engine.url.database == self.database
            and _wrote(connection)
        ):
            self.commits += 1


def _wrote(connection: Connection) -> bool:
    """Tell whether the transaction about to commit wrote anything: a read-only one (a
    SELECT, create_all finding its tables) has no transaction id. Asked through the
    DBAPI, so that no statement log sees it; where it cannot be told, it counts."""
    try:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("SELECT txid_current_if_assigned()")
            row = cursor.fetchone()
        finally:
            cursor.close()
    except Exception:  # a failed check must not hide the commit
        return True
    return row is None or row[0] is not None
