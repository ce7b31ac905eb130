"""Turn the settings into a database for this process: server, template, worker copy.

One ``Provisioner`` per pytest process. It starts nothing until a test asks for the
database. It knows nothing of pytest: the plugin hands it the run and a callable
that builds the schema.
"""

from __future__ import annotations

from typing import Any

from snapq._config import Settings, describe_url
from snapq._database.binaries import PostgresInstall, find_postgres
from snapq._database.databases import RunDatabases, Setup
from snapq._database.run import Run
from snapq._errors import SnapqError


class Provisioner:
    """Provide this process's database, and clean up what the run created."""

    def __init__(self, settings: Settings, run: Run) -> None:
        self.settings = settings
        self.run = run
        self.used_database = False
        self._install: PostgresInstall | None = None
        self._databases: RunDatabases | None = None

    @property
    def connect_args(self) -> dict[str, Any]:
        """psycopg arguments for every connection snapq opens (timeouts, a name)."""
        return {"options": self.settings.server_options(), "application_name": "snapq"}

    def install(self) -> PostgresInstall:
        if self._install is None:
            self._install = find_postgres(self.settings.pg_bin.value)
        return self._install

    def describe_server(self) -> str:
        """Say which server this run uses, for the report header."""
        url = self.settings.url
        if url.value is not None:
            return f"{describe_url(url.value)} (from {url.source})"
        try:
            install = self.install()
        except SnapqError:
            return "embedded PostgreSQL, but no binaries found (the first database test says why)"
        return f"embedded {install.describe()}"

    def database_url(self, role: str, setup: Setup) -> str:
        """Return the URL of this process's own copy of the run's template."""
        self.release()
        databases = RunDatabases(
            self._admin_url(), run_id=self.run.run_id, connect_args=self.connect_args
        )
        self._databases = databases
        databases.attach()
        self.used_database = True  # from here on there may be databases to drop
        return databases.provide(role, setup)

    def release(self) -> None:
        """Let go of the run's databases (this process's tests are done)."""
        if self._databases is not None:
            self._databases.detach()
            self._databases = None

    def close_run(self, *, databases_used: bool) -> None:
        """End the run: drop its databases on an external server, stop the embedded one."""
        try:
            if databases_used and self.settings.url.value is not None:
                databases = RunDatabases(
                    self.settings.url.value, run_id=self.run.run_id, connect_args=self.connect_args
                )
                try:
                    databases.attach()
                    databases.drop_all()
                except Exception:  # noqa: S110 - clean-up must not end the run with a
                    pass  # traceback; the tests reported the problem, a later run drops leftovers
                finally:
                    databases.detach()
        finally:
            self.run.close()

    def _admin_url(self) -> str:
        if self.settings.url.value is not None:
            return self.settings.url.value
        return self.run.server(self.install).url()
