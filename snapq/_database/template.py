"""The template database that every worker's database is copied from.

A ``Template`` names a database and makes sure it exists before a copy is made;
the first process to need it builds it, the others wait. ``RunTemplate`` lives for
one run. ``KeptTemplate`` (see ``kept``) outlives it, and is reused while what the
schema is built from is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from snapq._config import PINNED_SESSION_SETTINGS
from snapq._database.databases import (
    ClosingWatch,
    Server,
    create_database,
    database_exists,
    database_name,
    drop_database,
    lock_key,
    rename_database,
)
from snapq._database.isolation import pin_settings
from snapq._errors import SetupHookError

if TYPE_CHECKING:
    from sqlalchemy import Connection

TEMPLATE_BUILD_LOCK = 0x736E6171  # with the run's key: one builder at a time

Setup = Callable[["Connection"], None]


class Template(Protocol):
    """Where worker databases are copied from."""

    @property
    def name(self) -> str: ...

    @property
    def lock(self) -> int:
        """The advisory lock that one builder at a time holds."""
        ...

    def ensure(self, admin: Connection) -> None:
        """Make sure the template exists; called holding ``lock``."""


class RunTemplate:
    """The template of one run, ``snapq_<run id>_template``, built by ``setup`` once."""

    def __init__(self, server: Server, *, run_id: str, setup: Setup) -> None:
        self.server = server
        self.run_id = run_id
        self.setup = setup
        self.name = database_name(run_id, "template")
        self.lock = lock_key(run_id)

    def ensure(self, admin: Connection) -> None:
        if not database_exists(admin, self.name):
            building = database_name(self.run_id, "building")
            build_database(self.server, admin, building, self.setup)
            rename_database(admin, building, self.name)


def build_database(server: Server, admin: Connection, building: str, setup: Setup) -> None:
    """Create ``building`` afresh and run ``setup`` in it, in one committed transaction.

    It is built under a name of its own, renamed by the caller when done: a half-built
    template is never found under a template's name.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    drop_database(admin, building)  # left by a builder that crashed
    create_database(admin, building, strategy=server.copy_strategy)
    engine = create_engine(
        server.url_for(building), poolclass=NullPool, connect_args=server.connect_args
    )
    pin_settings(engine, PINNED_SESSION_SETTINGS)  # the hook's data as the tests see it
    closing = ClosingWatch()
    try:
        try:
            with engine.begin() as connection:
                closing.watch(connection)
                setup(connection)
        except SetupHookError:
            engine.dispose()
            drop_database(admin, building)
            raise
        except Exception as error:  # the commit after the hooks (a deferred constraint)
            engine.dispose()
            drop_database(admin, building)
            msg = (
                "committing what pytest_snapq_setup_database built failed, so no template "
                f"database was made:\n  {type(error).__name__}: {error}"
            )
            raise SetupHookError(msg) from error
        engine.dispose()
        # The caller renames or copies it next, which PostgreSQL refuses while a session
        # is still in it, and waits for in steps of 100 ms: the builder's session, closed
        # just now, is gone only once its server process is.
        closing.wait()
    finally:
        closing.close()


def copy_template(server: Server, template: Template, *, name: str) -> str:
    """Create ``name`` afresh as a copy of ``template``; return its URL.

    The build lock makes the first process build the template while the others wait.
    """
    from sqlalchemy.exc import DBAPIError

    with server.connect() as admin:
        admin.exec_driver_sql(f"SELECT pg_advisory_lock({TEMPLATE_BUILD_LOCK}, {template.lock})")
        try:
            template.ensure(admin)
            drop_database(admin, name)
            create_database(admin, name, template=template.name, strategy=server.copy_strategy)
        except DBAPIError as error:
            raise server.refused(error) from None
        finally:
            admin.exec_driver_sql(
                f"SELECT pg_advisory_unlock({TEMPLATE_BUILD_LOCK}, {template.lock})"
            )
    return server.url_for(name)
