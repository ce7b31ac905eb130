"""Tell live runs from dead ones on a shared server, and drop what dead runs left.

While a process uses a run's databases it holds a shared advisory lock on the
run's key, on a connection of its own. Another run that can take that lock
exclusively knows the run is gone, and drops its databases: those this role may
drop. Another role's are left, and named, so that they never block this run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapq._database.databases import (
    Server,
    databases_by_run,
    drop_database,
    droppable_databases,
    lock_key,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

# Two-key advisory locks: the first key says "snapq", the second is the run's id.
RUN_ALIVE_LOCK = 0x736E6170


class Liveness:
    """This process's hold on its run, on the server's maintenance database."""

    def __init__(self, server: Server, run_id: str) -> None:
        self.server = server
        self.run_id = run_id
        self._connection: Connection | None = None

    def hold(self) -> None:
        """Mark the run alive for as long as this process holds it."""
        self._connection = self.server.connect()
        self._connection.exec_driver_sql(
            f"SELECT pg_advisory_lock_shared({RUN_ALIVE_LOCK}, {lock_key(self.run_id)})"
        )

    def drop_dead_runs(self) -> list[str]:
        """Drop the databases of every other run that no process holds any more; return
        the names of those left because this role may not drop them."""
        from sqlalchemy.exc import DBAPIError

        assert self._connection is not None, "hold() first"
        connection = self._connection
        droppable = droppable_databases(connection)
        left: list[str] = []
        for run_id, names in databases_by_run(connection).items():
            if run_id == self.run_id:
                continue
            key = lock_key(run_id)
            got = connection.exec_driver_sql(
                f"SELECT pg_try_advisory_lock({RUN_ALIVE_LOCK}, {key})"
            ).scalar()
            if not got:
                continue  # another run is using them right now
            try:
                for name in names:
                    if name not in droppable:
                        left.append(name)  # another role's
                        continue
                    try:
                        drop_database(connection, name)
                    except DBAPIError as error:
                        if error.connection_invalidated:
                            raise
                        left.append(name)  # a session of another role's is in it
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({RUN_ALIVE_LOCK}, {key})")
        return left

    def release(self) -> None:
        """Let go of the run (its databases stay until its owner drops them)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
