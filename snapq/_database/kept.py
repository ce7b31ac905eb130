"""A template kept across runs, reused while what its schema is built from holds.

Its name carries the checkout and the fingerprint (``snapq_kept_<checkout>_<fp>``):
the declared schema files, the setup hooks' modules, the server and its settings,
snapq's version. The files that ``alembic_upgrade`` and ``load_sql`` read while it
was built are written in its comment with their digests, and checked on each later
run. Another checkout's kept templates are never touched, and a run only ever uses
one that was completely built: it is built under another name and renamed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapq._database.databases import Server, database_exists, drop_database, rename_database
from snapq._database.template import Setup, build_database
from snapq._errors import ConfigError
from snapq._schema.inputs import declared_files, digests, fingerprint, recording_inputs

if TYPE_CHECKING:
    from sqlalchemy import Connection

KEPT_PREFIX = "snapq_kept_"


def checkout_key(root: Path) -> str:
    """Return 8 hex digits that stand for the checkout at ``root``."""
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]


@dataclass
class KeptTemplate:
    """The run's template, kept for later runs; see the module's docstring."""

    server: Server
    checkout: str
    fingerprint: str
    setup: Setup
    run_id: str
    rebuild: bool = False  # --snapq-rebuild: build anew, once in this run
    outcome: str | None = field(default=None, init=False)  # for the run's summary

    @property
    def name(self) -> str:
        return f"{KEPT_PREFIX}{self.checkout}_{self.fingerprint}"

    @property
    def lock(self) -> int:
        """One builder at a time per kept template, across every run on the server."""
        return int(self.fingerprint[:8], 16) - 2**31

    def ensure(self, admin: Connection) -> None:
        manifest = _manifest(admin, self.name)
        built_here = manifest is not None and manifest.get("run") == self.run_id
        if manifest is not None and (built_here or not self.rebuild) and _holds(manifest):
            if not built_here:
                self.outcome = f"template {self.name} reused (built {manifest.get('at', '?')})"
            return
        started = time.monotonic()
        building = f"{self.name}_new"
        with recording_inputs() as read:
            build_database(self.server, admin, building, self.setup)
        at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        _comment(admin, building, {"run": self.run_id, "at": at, "inputs": digests(read)})
        drop_database(admin, self.name)
        rename_database(admin, building, self.name)
        self._drop_stale(admin)
        seconds = time.monotonic() - started
        self.outcome = f"template {self.name} built in {seconds:.2f} s, kept for later runs"

    def _drop_stale(self, admin: Connection) -> None:
        """Drop this checkout's other kept templates, where no run is copying them."""
        from sqlalchemy.exc import DBAPIError

        pattern = f"{KEPT_PREFIX}{self.checkout}_%".replace("_", "\\_")
        rows = admin.exec_driver_sql(
            "SELECT datname FROM pg_database WHERE datname LIKE %(pattern)s",
            {"pattern": pattern},
        )
        for (name,) in rows.all():
            if name != self.name:
                try:
                    admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                except DBAPIError:  # in use: the next build drops it
                    continue


def kept_templates(admin: Connection) -> dict[str, str]:
    """Return every kept template's comment (its manifest), by name."""
    rows = admin.exec_driver_sql(
        "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '')"
        " FROM pg_database WHERE datname LIKE 'snapq\\_kept\\_%%'"
    )
    return dict(rows.all())


def _manifest(admin: Connection, name: str) -> dict[str, Any] | None:
    if not database_exists(admin, name):
        return None
    try:
        manifest = json.loads(kept_templates(admin).get(name) or "null")
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) else None


def _holds(manifest: dict[str, Any]) -> bool:
    """Tell whether the files the template was built from are still as they were."""
    inputs = manifest.get("inputs")
    return isinstance(inputs, dict) and digests(Path(path) for path in inputs) == inputs


def _comment(admin: Connection, name: str, manifest: dict[str, Any]) -> None:
    from psycopg import sql

    driver = admin.connection.driver_connection
    statement = sql.SQL("COMMENT ON DATABASE {} IS {}").format(
        sql.Identifier(name), sql.Literal(json.dumps(manifest, sort_keys=True))
    )
    driver.execute(statement)  # type: ignore[union-attr]


@dataclass(frozen=True)
class SchemaSource:
    """What a run declares its schema is built from (``snapq_schema_files``)."""

    root: Path
    patterns: tuple[str, ...]
    hook_files: tuple[Path, ...]  # the modules of the setup hooks
    rebuild: bool = False

    def fingerprint(self, *, server: str, settings: str) -> str:
        """Return the fingerprint of the declared files, the hooks' modules, the server
        (``server``: its version), its ``settings`` and snapq's version."""
        from importlib.metadata import version

        files = []
        for pattern in self.patterns:
            matched = declared_files(self.root, [pattern])
            if not matched:
                msg = (
                    f"snapq_schema_files names {pattern!r}, which matches no file under "
                    f"{self.root}: fix the pattern (globs are relative to the rootdir)"
                )
                raise ConfigError(msg)
            files += matched
        return fingerprint(
            {
                "files": digests([*files, *self.hook_files]),
                "server": server,
                "settings": settings,
                "snapq": version("snapq"),
            }
        )
