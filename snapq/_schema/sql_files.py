"""Load a SQL file into the database being built: a schema, or a plain ``pg_dump``.

The statements run on the hook's own connection, in its transaction, so a file that
fails leaves nothing behind. The session settings a dump changes (``search_path``
to '' among them) are put back afterwards, so the rest of the hook, and the tests,
run as before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapq._errors import SchemaError
from snapq._schema.inputs import record_inputs
from snapq._schema.sql_script import (
    CopyData,
    MetaCommand,
    ScriptError,
    Statement,
    split_script,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

# psql commands that a plain pg_dump writes and that change nothing in the database:
# \restrict and \unrestrict (PostgreSQL 17.6 and later) guard psql against the dump.
IGNORED_META_COMMANDS = frozenset({"restrict", "unrestrict"})
_SHOWN_STATEMENT = 200  # characters of a failing statement shown in the error


def load_sql(connection: Connection, path: str | os.PathLike[str]) -> None:
    """Run the SQL file at ``path`` on ``connection``: statements, COPY data and all.

    A relative ``path`` is read from the directory pytest runs in.
    """
    file = Path(path)
    record_inputs([file])
    try:
        script = file.read_text(encoding="utf-8")
    except OSError as error:
        msg = (
            f"load_sql could not read {str(file)!r} ({error.strerror}; looked at "
            f"{file.absolute()}): a relative path is read from the directory pytest runs "
            "in; to name one beside the conftest, use Path(__file__).parent / 'schema.sql'"
        )
        raise SchemaError(msg) from None
    try:
        pieces = split_script(script)
    except ScriptError as error:
        raise SchemaError(f"load_sql could not read {file}: {error}") from None
    driver = _psycopg_of(connection)
    settings = _session_settings(driver)
    for piece in pieces:
        _run(driver, piece, file)
    _restore(driver, settings)


def _psycopg_of(connection: Connection) -> Any:
    from snapq._database.libpq import is_psycopg

    driver = connection.connection.driver_connection
    if not is_psycopg(driver):
        msg = "load_sql needs a psycopg connection: pass the hook's own connection"
        raise SchemaError(msg)
    return driver


def _run(driver: Any, piece: CopyData | MetaCommand | Statement, file: Path) -> None:
    import psycopg

    if isinstance(piece, MetaCommand):
        _check_meta_command(piece, file)
        return
    statement = piece.statement if isinstance(piece, CopyData) else piece
    try:
        with driver.cursor() as cursor:
            if isinstance(piece, CopyData):
                with cursor.copy(statement.text) as copy:
                    copy.write(piece.data)
            else:
                cursor.execute(statement.text)
    except psycopg.Error as error:
        shown = statement.text[:_SHOWN_STATEMENT] + (
            "…" if len(statement.text) > _SHOWN_STATEMENT else ""
        )
        msg = (
            f"{file}:{statement.line}: this statement failed, so nothing of the file was "
            f"loaded:\n  {shown}\n  {type(error).__name__}: {str(error).strip()}"
        )
        raise SchemaError(msg) from None


def _check_meta_command(command: MetaCommand, file: Path) -> None:
    if command.name in IGNORED_META_COMMANDS:
        return
    msg = (
        f"{file}:{command.line}: {command.text!r} is a psql command, not SQL, and load_sql "
        "runs SQL only"
    )
    if command.name in ("connect", "c"):
        msg += (
            ": a dump of several databases (pg_dumpall, or pg_dump --create) cannot load "
            "into one; dump the one database without --create"
        )
    raise SchemaError(msg)


def _session_settings(driver: Any) -> dict[str, str]:
    """Return the session's settings that a statement may change with SET."""
    with driver.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name) FROM pg_settings"
            " WHERE context IN ('user', 'superuser')"
        )
        return dict(cursor.fetchall())


def _restore(driver: Any, before: dict[str, str]) -> None:
    """Set back each setting that the file changed."""
    after = _session_settings(driver)
    with driver.cursor() as cursor:
        for name, value in before.items():
            if after.get(name) != value:
                cursor.execute("SELECT set_config(%s, %s, false)", (name, value))
