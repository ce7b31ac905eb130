"""Turn the settings into a database for this process: server, template, worker copy.

One ``Provisioner`` per pytest process. It starts nothing until a test asks for the
database. It knows nothing of pytest: the plugin hands it the run and a callable
that builds the schema.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from snapq._config import Settings
from snapq._database.background import Background
from snapq._database.binaries import PostgresInstall, find_postgres
from snapq._database.databases import (
    Server,
    all_databases,
    database_name,
    databases_by_run,
    drop_database,
    drop_databases,
)
from snapq._database.datadir import (
    keep_data_dir,
    kept_data_dir,
    private_cache,
    remove_unused_kept_data_dirs,
)
from snapq._database.embedded import ServerInfo, stop_server
from snapq._database.kept import (
    KEPT_PREFIX,
    KeptTemplate,
    SchemaSource,
    kept_templates,
)
from snapq._database.liveness import Liveness
from snapq._database.passfile import write_passfile
from snapq._database.run import Run
from snapq._database.template import RunTemplate, Setup, copy_template
from snapq._database.urls import describe_url, split_password, with_passfile
from snapq._database.users import server_user
from snapq._errors import ConfigError, ProvisioningError, SnapqError


class Provisioner:
    """Provide this process's database, and clean up what the run created."""

    def __init__(self, settings: Settings, run: Run, *, checkout: str = "") -> None:
        self.settings = settings
        self.run = run
        self.checkout = checkout  # the kept templates and their data directory are its own
        self.used_database = False
        self._install: PostgresInstall | None = None
        self._server: Server | None = None
        self._liveness: Liveness | None = None
        self._url_without_password: str | None = None
        # Databases of dead runs that this role may not drop, left as they were.
        self.left_databases: list[str] = []
        # Whether the kept template was built or reused, and how long it took.
        self.template_notes: list[str] = []
        self._copy: tuple[RunTemplate | KeptTemplate, str] | None = None
        self._starting: Background[ServerInfo] | None = None  # see prepare()

    @property
    def connect_args(self) -> dict[str, Any]:
        """psycopg arguments for every connection snapq opens (timeouts, a name).

        No server-side prepared statements: psycopg forgets its own only on a
        ROLLBACK it sees, and snapq rolls each test back below it, so a statement
        prepared in one test would outlive the types that test created ("cache lookup
        failed for type" in the next test that creates them again).
        """
        return {
            "options": self.settings.server_options(),
            "application_name": "snapq",
            "connect_timeout": self.settings.connect_timeout.value,
            "prepare_threshold": None,
        }

    @property
    def notes(self) -> list[str]:
        """Say how the template came about, and what this process left alone that the
        user may want to clean up."""
        if not self.left_databases:
            return list(self.template_notes)
        names = ", ".join(self.left_databases)
        return [
            *self.template_notes,
            f"left databases of dead runs that the server's user may not drop (another role "
            f"owns them, or uses them): {names}. Drop them as their owner or as a superuser.",
        ]

    def install(self) -> PostgresInstall:
        if self._install is None:
            self._install = find_postgres(
                self.settings.pg_bin.value, extensions=self.settings.extensions.value
            )
        return self._install

    def prepare(self) -> None:
        """Start the run's embedded server in the background, for a test that will
        need it: the start mostly waits, and so overlaps the imports the first
        connection needs. With ``--snapq-url``, there is nothing to start."""
        if self.settings.url.value is None and self._starting is None:
            self._starting = Background(self._start_embedded, name="snapq-server-start")

    def _start_embedded(self, cancelled: threading.Event | None = None) -> ServerInfo:
        kept = self.checkout if self.settings.schema_files.value else None
        return self.run.server(self.install, kept=kept, cancelled=cancelled)

    def _embedded_server(self) -> ServerInfo:
        """Return the run's embedded server: the one being started in the background
        (raising what that start raised), else one found or started now."""
        starting = self._starting
        if starting is None:
            return self._start_embedded()
        _import_driver()  # meanwhile
        try:
            info = starting.result()
        except Exception:  # what the start raised, raised once: a later call starts anew
            self._starting = None
            raise
        # Not on a Ctrl-C while waiting: then release() cancels the start.
        self._starting = None
        return info

    def _run_server(self) -> Server:
        if self.settings.url.value is not None:
            url = self._connection_url(self.settings.url.value)
            return Server(url, connect_args=self.connect_args)
        info = self._embedded_server()
        return Server(
            info.url(), connect_args=self.connect_args, copy_strategy=_copy_strategy(info.version)
        )

    def database_url(self, role: str, setup: Setup, schema: SchemaSource | None = None) -> str:
        """Return the URL of this process's own copy of the run's template: one kept
        across runs where ``schema`` says what it is built from."""
        self._let_go()
        server = self._run_server()
        self._server = server
        self._liveness = Liveness(server, self.run.run_id)
        self._liveness.hold()
        self.used_database = True  # from here on there may be databases to drop
        self.left_databases = self._liveness.drop_dead_runs()
        template: RunTemplate | KeptTemplate
        if schema is None:
            template = RunTemplate(server, run_id=self.run.run_id, setup=setup)
        else:
            template = self._kept_template(server, setup, schema)
        name = database_name(self.run.run_id, role)
        url = copy_template(server, template, name=name)
        self._copy = (template, name)
        if isinstance(template, KeptTemplate) and template.outcome is not None:
            self.template_notes.append(template.outcome)
        return url

    def _kept_template(self, server: Server, setup: Setup, schema: SchemaSource) -> KeptTemplate:
        with server.connect() as admin:
            version = admin.exec_driver_sql("SHOW server_version").scalar()
        identity = f"PostgreSQL {version}" + (
            f" ({self.install().bindir})" if self.settings.url.value is None else ""
        )
        fingerprint = schema.fingerprint(server=identity, settings=self.settings.server_options())
        return KeptTemplate(
            server,
            checkout=self.checkout,
            fingerprint=fingerprint,
            setup=setup,
            run_id=self.run.run_id,
            rebuild=schema.rebuild,
        )

    def restore_database(self) -> None:
        """Make this process's database a fresh copy of the template again, ending
        every session still connected to it."""
        if self._server is None or self._copy is None:
            return
        template, name = self._copy
        copy_template(self._server, template, name=name)

    def release(self) -> None:
        """Let go of the run's databases (this process's tests are done), and stop a
        start of the server that no test waited for."""
        if self._starting is not None:
            if self.run.owner_pid == os.getpid():
                self._starting.cancel()  # the run ends here: no one will use it
            else:
                # An xdist worker: another worker may be waiting for this very start,
                # and the run's owner stops the server at the end.
                with contextlib.suppress(Exception):
                    self._starting.result()
            self._starting = None
        self._let_go()

    def _let_go(self) -> None:
        if self._liveness is not None:
            self._liveness.release()
            self._liveness = None
        if self._server is not None:
            self._server.close()
            self._server = None

    def close_run(self, *, databases_used: bool) -> None:
        """End the run: drop its databases on an external server, stop the embedded one
        (keeping its data directory first, where it holds a new kept template)."""
        try:
            self.release()  # a start still under way ends first, so that it is stopped too
            if databases_used and self.settings.url.value is not None:
                self._drop_run_databases()
            elif databases_used and self.settings.schema_files.value:
                # Not kept, the next run builds it again: slower, never wrong.
                with contextlib.suppress(Exception):
                    self._keep_templates()
        finally:
            self.run.close()

    def _keep_templates(self) -> None:
        """Keep the embedded server's data directory, with only the kept templates in
        it, when it holds one that the cached directory does not."""
        info = self.run.started_server()
        if info is None:
            return
        user = server_user()
        cache = private_cache()
        remove_unused_kept_data_dirs(cache, now=time.time())
        target = kept_data_dir(self.install(), cache, user, checkout=self.checkout)
        saved = target.with_name(f"{target.name}.json")
        server = Server(info.url(), connect_args=self.connect_args)
        try:
            with server.connect() as admin:
                kept = kept_templates(admin)
                if not kept or (
                    saved.is_file()
                    and json.loads(saved.read_text()) == kept
                    and (target / "PG_VERSION").is_file()
                ):
                    return
                for name in all_databases(admin):
                    if not name.startswith(KEPT_PREFIX):
                        drop_database(admin, name)
        finally:
            server.close()
        stop_server(info, clean=True)
        keep_data_dir(Path(info.data_dir), target)
        saved.write_text(json.dumps(kept))

    def _drop_run_databases(self) -> None:
        # Clean-up must not end the run with a traceback: the tests reported the
        # problem, and a later run drops what is left.
        with contextlib.suppress(Exception):
            server = self._run_server()
            liveness = Liveness(server, self.run.run_id)
            try:
                liveness.hold()
                with server.connect() as admin:
                    names = databases_by_run(admin).get(self.run.run_id, [])
                drop_databases(server, names)
            finally:
                liveness.release()
                server.close()

    def _connection_url(self, url: str) -> str:
        """Return ``url`` as snapq connects with it: its password, if any, moved into a
        password file in the run directory (see ``passfile``)."""
        if self._url_without_password is None:
            bare, password = split_password(url)
            if password is None:
                self._url_without_password = bare
            else:
                if os.environ.get("PGPASSWORD", password) != password:
                    # libpq prefers PGPASSWORD to a password file: it would log in with it.
                    msg = (
                        "PGPASSWORD is set, and differs from the password in "
                        f"{describe_url(url)}; libpq would use PGPASSWORD. Unset one of them."
                    )
                    raise ConfigError(msg)
                self.run.ensure()
                # As a SnapqError, shown without the traceback, whose frames hold the password.
                try:
                    passfile = write_passfile(self.run.run_dir, password)
                except OSError as error:
                    msg = f"snapq could not write its password file: {error}"
                    raise ProvisioningError(msg) from None
                self._url_without_password = with_passfile(bare, str(passfile))
        return self._url_without_password


def _copy_strategy(version: str) -> str | None:
    """Copy databases whole on the embedded server (fsync off: its checkpoints cost
    little), from PostgreSQL 15 on, which has the choice; older ones always do."""
    major = version.split(".", maxsplit=1)[0]
    return "FILE_COPY" if major.isdigit() and int(major) >= 15 else None


def _import_driver() -> None:
    """Import what the first connection needs (SQLAlchemy's psycopg dialect and
    psycopg, which that dialect imports only at its first engine), while the embedded
    server starts in the background."""
    import psycopg  # noqa: F401
    import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401


def describe_server(settings: Settings) -> str:
    """Say which server the run uses, for the report header; start nothing."""
    url = settings.url
    if url.value is not None:
        return f"{describe_url(url.value)} (from {url.source})"
    try:
        install = find_postgres(settings.pg_bin.value, extensions=settings.extensions.value)
    except SnapqError:
        return "embedded PostgreSQL, but no binaries found (the first database test says why)"
    return f"embedded {install.describe()}"
