"""Run a project's Alembic migrations into the database being built, with its own env.py.

Both common env.py shapes work unchanged: the connection-sharing recipe finds the
hook's connection in ``config.attributes["connection"]``; the default one builds an
engine from ``sqlalchemy.url``, which snapq sets to the same database. While the
migrations run, every new connection is checked to be that database: an env.py that
takes its URL from elsewhere (the application's settings) would migrate another
database, and is stopped before it runs anything there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapq._errors import SchemaError
from snapq._schema.inputs import record_inputs

if TYPE_CHECKING:
    from sqlalchemy import Connection

_OTHER_DATABASE = (
    "alembic_upgrade: env.py connected to {found}, not to the database snapq is "
    "building ({expected}), so snapq stopped it before it ran anything there. Make "
    "env.py use the connection snapq passes, config.attributes['connection'], or the "
    "URL it sets, config.get_main_option('sqlalchemy.url'): set the application's URL "
    "only when config.attributes has no 'connection' (see the Schema page of the docs)."
)


def alembic_upgrade(
    connection: Connection, config: str | os.PathLike[str] = "alembic.ini", revision: str = "head"
) -> None:
    """Upgrade the database of ``connection`` to ``revision`` with the project's
    migrations, as ``alembic -c config upgrade revision`` would.

    A relative ``config`` is read from the directory pytest runs in.
    """
    command, alembic_config = _alembic()
    path = Path(config)
    if not path.is_file():
        msg = (
            f"alembic_upgrade found no Alembic configuration at {str(path)!r} (looked at "
            f"{path.absolute()}): a relative path is read from the directory pytest runs in"
        )
        raise SchemaError(msg)
    settings = alembic_config(str(path))
    record_inputs(_migration_files(path, settings))
    settings.attributes["connection"] = connection
    driver = _psycopg(connection)
    # configparser reads % as the start of an interpolation.
    settings.set_main_option("sqlalchemy.url", _url(driver).replace("%", "%%"))
    with _only_connections_to(_identity(driver)), _logging_kept():
        try:
            command.upgrade(settings, revision)
        except SchemaError:
            raise
        except Exception as error:
            raise SchemaError(_failure(error, revision)) from error


def _migration_files(path: Path, settings: Any) -> list[Path]:
    """The files the upgrade reads: the configuration, env.py and every migration."""
    script_location = settings.get_main_option("script_location")
    scripts = Path(script_location) if script_location else path.parent / "alembic"
    if not scripts.is_absolute():
        scripts = path.parent / scripts
    found = [path, *(file for file in scripts.rglob("*.py") if "__pycache__" not in file.parts)]
    return sorted(found)


def _alembic() -> tuple[Any, Any]:
    try:
        from alembic import command
        from alembic.config import Config
    except ImportError:
        msg = "alembic_upgrade needs Alembic: pip install alembic"
        raise SchemaError(msg) from None
    return command, Config


def _psycopg(connection: Connection) -> Any:
    from snapq._database.libpq import psycopg_of

    driver = psycopg_of(connection)
    if driver is None:
        msg = "alembic_upgrade needs a psycopg connection: pass the hook's own connection"
        raise SchemaError(msg)
    return driver


def _identity(driver: Any) -> tuple[str, str, int]:
    """The database a psycopg connection is on: its name, host and port."""
    info = driver.info
    return info.dbname, info.host, info.port


def _url(driver: Any) -> str:
    """Return a URL to the database of ``driver``, from libpq's parameters (all but
    the password: snapq's is in a password file)."""
    from sqlalchemy.engine import URL

    where = driver.info.get_parameters()
    query = {name: value for name, value in where.items() if name not in ("dbname", "user")}
    url = URL.create(
        "postgresql+psycopg", username=where.get("user"), database=driver.info.dbname, query=query
    )
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def _only_connections_to(expected: tuple[str, str, int]) -> Iterator[None]:
    """Refuse any connection, on any engine, to another database than ``expected``."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    def check(dbapi_connection: Any, connection_record: Any) -> None:
        from snapq._database.libpq import is_psycopg

        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if not is_psycopg(driver):
            found = f"a database through {type(driver).__module__.split('.')[0]}"
            raise SchemaError(_OTHER_DATABASE.format(found=found, expected=expected[0]))
        info = driver.info
        if _identity(driver) != expected:
            found = f"database {info.dbname!r} at {info.host}:{info.port}"
            raise SchemaError(_OTHER_DATABASE.format(found=found, expected=expected[0]))

    event.listen(Pool, "connect", check)
    try:
        yield
    finally:
        event.remove(Pool, "connect", check)


@contextlib.contextmanager
def _logging_kept() -> Iterator[None]:
    """Undo what env.py's ``fileConfig`` does to logging: it disables every logger
    that exists, the application's and pytest's included, for the rest of the run."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, level
        for name, (disabled, logger_level, logger_handlers, propagate) in loggers.items():
            logger = logging.getLogger(name)
            logger.disabled, logger.level, logger.propagate = disabled, logger_level, propagate
            logger.handlers[:] = logger_handlers


_ENV_PY_OWN_URL = (
    "  env.py failed at line {line}, before any migration ran. If it reads its URL from "
    "the application's settings, it must leave that out when snapq passes a connection: "
    "set it only when config.attributes has no 'connection' (see the Schema page of the "
    "docs)."
)
_ENV_PY_CONNECTING = (
    "  This happened while connecting: env.py connects to a server of its own instead "
    "of using the connection snapq passes, config.attributes['connection'] (see the "
    "Schema page of the docs)."
)


def _failure(error: Exception, revision: str) -> str:
    """Name the migration that failed, its statement, and the database's error; or,
    for a failure in env.py itself, the usual cause."""
    from sqlalchemy.exc import DBAPIError

    migration = _failing_migration(error)
    where = f"migration {migration}" if migration else f"the upgrade to {revision!r}"
    lines = [f"alembic_upgrade: {where} failed, so no template database was made:"]
    if isinstance(error, DBAPIError):
        if error.statement:
            lines.append(f"  {str(error.statement).strip()}")
        lines.append(f"  {type(error.orig).__name__}: {str(error.orig).strip()}")
    else:
        lines.append(f"  {type(error).__name__}: {error}")
    if migration is None:
        if isinstance(error, DBAPIError) and not error.statement:
            lines.append(_ENV_PY_CONNECTING)
        elif (line := _env_py_line(error)) is not None:
            lines.append(_ENV_PY_OWN_URL.format(line=line))
    return "\n".join(lines)


def _env_py_line(error: Exception) -> int | None:
    """Return the line of env.py nearest to where ``error`` was raised, if it passed
    through env.py."""
    frames = list(traceback.walk_tb(error.__traceback__))
    for frame, line in reversed(frames):
        if Path(frame.f_code.co_filename).name == "env.py":
            return line
    return None


def _failing_migration(error: Exception) -> str | None:
    """Return the revision and file of the migration whose code raised ``error``."""
    for frame, _ in reversed(list(traceback.walk_tb(error.__traceback__))):
        names = frame.f_globals
        if "revision" in names and "down_revision" in names:
            return f"{names['revision']} ({Path(frame.f_code.co_filename).name})"
    return None
