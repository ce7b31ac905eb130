"""A run's databases on one server, by name: plain create, copy, drop and list.

Names are ``snapq_<run id>_<role>`` (``template``, ``main``, ``gw0``...); snapq never
touches a database outside that pattern. Every statement here runs on an *admin*
connection to the server's maintenance database (``postgres``, whatever database
the URL names), in autocommit: ``CREATE DATABASE`` cannot run in a transaction,
and advisory locks (see ``liveness``) are per database, so every run must meet
every other run's locks in the same one.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import time
from typing import TYPE_CHECKING, Any

from snapq._database.remedies import USE_THE_EMBEDDED_SERVER, WAIT_LONGER
from snapq._database.urls import describe_url, with_database
from snapq._errors import ProvisioningError, ServerUnreachableError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.exc import DBAPIError

MAINTENANCE_DATABASE = "postgres"
NAME_PATTERN = re.compile(r"snapq_([0-9a-f]{8})_[a-z0-9_]+")
SAFE_PART = re.compile(r"[a-z0-9_]+")
RUN_ID = re.compile(r"[0-9a-f]{8}")
CLOSE_WAIT_SECONDS = 5.0  # as long as PostgreSQL waits for sessions to leave a database


def database_name(run_id: str, role: str) -> str:
    """Compose a database name from a run id and a role (``template``, ``gw0``, ...)."""
    name = f"snapq_{run_id}_{role}"
    if not (RUN_ID.fullmatch(run_id) and SAFE_PART.fullmatch(role)):
        msg = f"cannot name a database after run {run_id!r} and role {role!r}"
        raise ValueError(msg)
    return name


def lock_key(run_id: str) -> int:
    """Map a run id (8 hex digits) onto PostgreSQL's signed 32-bit lock key."""
    return int(run_id, 16) - 2**31


class Server:
    """The server at a URL, as snapq administers it: admin connections, database URLs."""

    def __init__(
        self, url: str, *, connect_args: dict[str, Any], copy_strategy: str | None = None
    ) -> None:
        self.admin_url = with_database(url, MAINTENANCE_DATABASE)
        self.connect_args = connect_args
        # How CREATE DATABASE copies (None: the server's default, WAL_LOG since
        # PostgreSQL 15). FILE_COPY copies the files whole, after a checkpoint: several
        # times faster where checkpoints are cheap (the embedded server, fsync off),
        # and many times slower where they are not.
        self.copy_strategy = copy_strategy
        self._engine: Engine | None = None

    def url_for(self, database: str) -> str:
        return with_database(self.admin_url, database)

    def connect(self) -> Connection:
        """Open an admin connection (autocommit), or explain why the server refused."""
        from sqlalchemy.exc import OperationalError

        try:
            return self.admin_engine().connect()
        except OperationalError as error:
            raise self._unreachable(str(error.orig).strip()) from None

    def admin_engine(self) -> Engine:
        """Return the engine of admin connections, made when first needed."""
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        if self._engine is None:
            self._engine = create_engine(
                self.admin_url,
                isolation_level="AUTOCOMMIT",
                poolclass=NullPool,
                connect_args=self.connect_args,
            )
        return self._engine

    def _unreachable(self, reason: str) -> ServerUnreachableError:
        # psycopg says "connection timeout expired", libpq "timeout expired".
        if "timeout expired" in reason:
            seconds = self.connect_args.get("connect_timeout")
            fix = (
                f"the server did not answer within the connect timeout ({seconds} s; libpq "
                "waits at least 2): check that PostgreSQL listens at the URL's host and port, "
                f"or {WAIT_LONGER}"
            )
        else:
            fix = (
                "check that the server is running and that the URL's host, port, user "
                "and password are right (the user needs the CREATEDB privilege)"
            )
        msg = (
            f"snapq could not connect to {describe_url(self.admin_url)}:\n  {reason}\n"
            f"Fix: {fix}; or {USE_THE_EMBEDDED_SERVER}."
        )
        return ServerUnreachableError(msg)

    def refused(self, error: DBAPIError) -> ProvisioningError:
        """Explain a server that will not create or drop snapq's databases."""
        reason = str(error.orig).strip().splitlines()[0]
        msg = (
            f"snapq could not create its databases on {describe_url(self.admin_url)}:\n"
            f"  {reason}\n"
            "Fix: snapq creates and drops databases named snapq_<run id>_*, so the URL's "
            "user needs the CREATEDB privilege (ALTER ROLE <user> CREATEDB) and the right "
            f"to drop what it created; or {USE_THE_EMBEDDED_SERVER}."
        )
        return ProvisioningError(msg)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def create_database(
    admin: Connection, name: str, *, template: str | None = None, strategy: str | None = None
) -> None:
    """Create database ``name``, empty or as a copy of ``template``, copied by
    ``strategy`` (``FILE_COPY`` or ``WAL_LOG``) where given."""
    copy = f" TEMPLATE {_quote(admin, template)}" if template else ""
    if strategy is not None:
        copy += f" STRATEGY {strategy}"
    admin.exec_driver_sql(f"CREATE DATABASE {_quote(admin, name)}{copy}")


def rename_database(admin: Connection, name: str, new_name: str) -> None:
    admin.exec_driver_sql(
        f"ALTER DATABASE {_quote(admin, name)} RENAME TO {_quote(admin, new_name)}"
    )


def drop_database(admin: Connection, name: str) -> None:
    """Drop ``name`` if it exists, ending the sessions still connected to it."""
    admin.exec_driver_sql(f"DROP DATABASE IF EXISTS {_quote(admin, name)} WITH (FORCE)")


def drop_databases(server: Server, names: list[str]) -> None:
    """Drop ``names`` (as ``drop_database``), each on a connection of its own, all at once.

    Each DROP DATABASE ends with a checkpoint, which writes every dirty page on the
    server, those of the databases about to be dropped too: one at a time, the first
    drop writes out the pages of all the others. Together, each has discarded its
    own pages before the checkpoints come (measured with fsync on: two databases in
    about 0.4 to 1.7 s one after the other, 0.01 to 0.1 s together). What could not
    be dropped on a connection of its own is dropped afterwards on one; errors are
    raised from there.
    """
    import threading

    left: list[str] = []

    def drop(name: str) -> None:
        try:
            with server.connect() as admin:
                drop_database(admin, name)
        except Exception:  # e.g. no connection slot free: tried again below
            left.append(name)

    server.admin_engine()  # made once, before the threads use it
    threads = [threading.Thread(target=drop, args=(name,)) for name in names[1:]]
    for thread in threads:
        thread.start()
    if names:
        drop(names[0])
    for thread in threads:
        thread.join()
    if left:
        with server.connect() as admin:
            for name in left:
                drop_database(admin, name)


def database_exists(admin: Connection, name: str) -> bool:
    from sqlalchemy import text

    query = text("SELECT 1 FROM pg_database WHERE datname = :name")
    return admin.execute(query, {"name": name}).first() is not None


def all_databases(admin: Connection) -> list[str]:
    """Return the server's databases but the maintenance one and the two templates."""
    rows = admin.exec_driver_sql(
        "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'"
    )
    return [name for (name,) in rows]


def databases_by_run(admin: Connection) -> dict[str, list[str]]:
    """Return the names of every run's databases on the server, by run id."""
    runs: dict[str, list[str]] = {}
    for (name,) in admin.exec_driver_sql(
        "SELECT datname FROM pg_database WHERE datname LIKE 'snapq\\_%%'"
    ):
        match = NAME_PATTERN.fullmatch(name)
        if match:
            runs.setdefault(match.group(1), []).append(name)
    return runs


def droppable_databases(admin: Connection) -> set[str]:
    """Return the names of snapq's databases that this role may drop: those whose
    owner's privileges it has (its own; a superuser has every role's)."""
    return {
        name
        for (name,) in admin.exec_driver_sql(
            "SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE 'snapq\\_%%' "
            "AND pg_catalog.pg_has_role(datdba, 'USAGE')"
        )
    }


class ClosingWatch:
    """Tell when the server process of a connection that snapq closed has exited.

    PostgreSQL closes a session's socket only after the session has left its
    database, so the end of the stream on a duplicate of the socket says that the
    database is free (to rename, or to copy). Without one (no socket, another
    platform), ``wait`` returns at once.
    """

    def __init__(self) -> None:
        self._fd: int | None = None

    def watch(self, connection: Connection) -> None:
        """Keep a duplicate of ``connection``'s socket, to wait on once it is closed."""
        with contextlib.suppress(Exception):  # not psycopg, or no socket: nothing to wait on
            self._fd = os.dup(connection.connection.driver_connection.fileno())  # type: ignore[union-attr]

    def wait(self, timeout: float = CLOSE_WAIT_SECONDS) -> None:
        """Wait, at most ``timeout`` seconds, until the server has closed the socket."""
        fd, deadline = self._fd, time.monotonic() + timeout
        if fd is None:
            return
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            while (left := deadline - time.monotonic()) > 0:
                # The end of the stream reads as b""; what arrives before it is moot.
                if poller.poll(left * 1000) and not os.read(fd, 65536):
                    break
        except (OSError, AttributeError):  # reset by the server: closed too; no poll()
            pass
        finally:
            self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)
