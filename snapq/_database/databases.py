"""The databases of one test run on one server: a template and a copy per worker.

Names are ``snapq_<run id>_template`` and ``snapq_<run id>_<worker>``; snapq never
touches a database outside that pattern. While a process uses a run's databases it
holds a shared advisory lock on the run's key in the server's maintenance database
(``postgres``, whatever database the URL names), so another run can tell a live run
from a dead one: if it can take that lock exclusively, the run is gone and its
databases are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snapq._config import describe_url
from snapq._errors import ProvisioningError, ServerUnreachableError, SetupHookError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.exc import DBAPIError

# Two-key advisory locks: the first key says "snapq", the second is the run's id.
RUN_ALIVE_LOCK = 0x736E6170
TEMPLATE_BUILD_LOCK = 0x736E6171
MAINTENANCE_DATABASE = "postgres"
NAME_PATTERN = re.compile(r"snapq_([0-9a-f]{8})_[a-z0-9_]+")
SAFE_PART = re.compile(r"[a-z0-9_]+")
RUN_ID = re.compile(r"[0-9a-f]{8}")

Setup = Callable[["Connection"], None]


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


class RunDatabases:
    """Create, copy and drop one run's databases on the server at ``admin_url``."""

    def __init__(self, server_url: str, *, run_id: str, connect_args: dict[str, Any]) -> None:
        from sqlalchemy.engine import make_url

        # Always the maintenance database, whatever database the URL names: advisory
        # locks are per database, and every run must see every other run's locks.
        url = make_url(server_url).set(database=MAINTENANCE_DATABASE)
        self.admin_url = url.render_as_string(hide_password=False)
        self.run_id = run_id
        self.connect_args = connect_args
        self.template = database_name(run_id, "template")
        self._engine: Engine | None = None
        self._alive: Connection | None = None

    def url_for(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self.admin_url).set(database=database)
        return url.render_as_string(hide_password=False)

    def attach(self) -> None:
        """Mark this run alive on the server and drop the databases of dead runs."""
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self._engine = create_engine(
            self.admin_url,
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
            connect_args=self.connect_args,
        )
        self._alive = self._connect()
        self._alive.exec_driver_sql(
            f"SELECT pg_advisory_lock_shared({RUN_ALIVE_LOCK}, {lock_key(self.run_id)})"
        )
        self._drop_dead_runs()

    def detach(self) -> None:
        """Release this process's hold on the run (its databases stay until ``drop_all``)."""
        if self._alive is not None:
            self._alive.close()
            self._alive = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def provide(self, role: str, setup: Setup) -> str:
        """Return the URL of this process's database, a fresh copy of the run's template.

        The first process to get here builds the template by calling ``setup``; the
        others wait for it.
        """
        from sqlalchemy.exc import DBAPIError

        name = database_name(self.run_id, role)
        with self._connect() as admin:
            admin.exec_driver_sql(
                f"SELECT pg_advisory_lock({TEMPLATE_BUILD_LOCK}, {lock_key(self.run_id)})"
            )
            try:
                if not self._exists(admin, self.template):
                    self._build_template(admin, setup)
                _drop(admin, name)
                admin.exec_driver_sql(
                    f"CREATE DATABASE {_quote(admin, name)} TEMPLATE {_quote(admin, self.template)}"
                )
            except DBAPIError as error:
                raise self._refused(error) from None
            finally:
                admin.exec_driver_sql(
                    f"SELECT pg_advisory_unlock({TEMPLATE_BUILD_LOCK}, {lock_key(self.run_id)})"
                )
        return self.url_for(name)

    def drop_all(self) -> None:
        """Drop every database of this run (the run's owner does this at the end)."""
        with self._connect() as admin:
            for name in self._run_databases(admin).get(self.run_id, []):
                _drop(admin, name)

    def _build_template(self, admin: Connection, setup: Setup) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        building = database_name(self.run_id, "building")
        _drop(admin, building)  # left by a builder of this run that crashed
        admin.exec_driver_sql(f"CREATE DATABASE {_quote(admin, building)}")
        engine = create_engine(
            self.url_for(building), poolclass=NullPool, connect_args=self.connect_args
        )
        try:
            with engine.begin() as connection:
                setup(connection)
        except SetupHookError:
            engine.dispose()
            _drop(admin, building)
            raise
        except Exception as error:  # the commit after the hooks (a deferred constraint)
            engine.dispose()
            _drop(admin, building)
            msg = (
                "committing what pytest_snapq_setup_database built failed, so no template "
                f"database was made:\n  {type(error).__name__}: {error}"
            )
            raise SetupHookError(msg) from error
        engine.dispose()
        admin.exec_driver_sql(
            f"ALTER DATABASE {_quote(admin, building)} RENAME TO {_quote(admin, self.template)}"
        )

    def _drop_dead_runs(self) -> None:
        assert self._alive is not None
        for run_id, names in self._run_databases(self._alive).items():
            if run_id == self.run_id:
                continue
            key = lock_key(run_id)
            got = self._alive.exec_driver_sql(
                f"SELECT pg_try_advisory_lock({RUN_ALIVE_LOCK}, {key})"
            ).scalar()
            if not got:
                continue  # another run is using them right now
            try:
                for name in names:
                    _drop(self._alive, name)
            finally:
                self._alive.exec_driver_sql(f"SELECT pg_advisory_unlock({RUN_ALIVE_LOCK}, {key})")

    def _run_databases(self, admin: Connection) -> dict[str, list[str]]:
        runs: dict[str, list[str]] = {}
        for (name,) in admin.exec_driver_sql(
            "SELECT datname FROM pg_database WHERE datname LIKE 'snapq\\_%%'"
        ):
            match = NAME_PATTERN.fullmatch(name)
            if match:
                runs.setdefault(match.group(1), []).append(name)
        return runs

    @staticmethod
    def _exists(admin: Connection, name: str) -> bool:
        from sqlalchemy import text

        query = text("SELECT 1 FROM pg_database WHERE datname = :name")
        return admin.execute(query, {"name": name}).first() is not None

    def _refused(self, error: DBAPIError) -> ProvisioningError:
        """Explain a server that will not create or drop snapq's databases."""
        reason = str(error.orig).strip().splitlines()[0]
        msg = (
            f"snapq could not create its databases on {describe_url(self.admin_url)}:\n"
            f"  {reason}\n"
            "Fix: snapq creates and drops databases named snapq_<run id>_*, so the URL's "
            "user needs the CREATEDB privilege (ALTER ROLE <user> CREATEDB) and the right "
            "to drop what it created; or unset --snapq-url to use snapq's embedded server."
        )
        return ProvisioningError(msg)

    def _connect(self) -> Connection:
        from sqlalchemy.exc import OperationalError

        assert self._engine is not None, "attach() first"
        try:
            return self._engine.connect()
        except OperationalError as error:
            msg = (
                f"snapq could not connect to {describe_url(self.admin_url)}:\n"
                f"  {str(error.orig).strip()}\n"
                "Fix: check that the server is running and that the URL's host, port, user "
                "and password are right (the user needs the CREATEDB privilege); or unset "
                "--snapq-url (ini snapq_url, env SNAPQ_URL) to use snapq's embedded server."
            )
            raise ServerUnreachableError(msg) from None


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _drop(admin: Connection, name: str) -> None:
    admin.exec_driver_sql(f"DROP DATABASE IF EXISTS {_quote(admin, name)} WITH (FORCE)")
