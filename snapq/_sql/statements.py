"""Log the statements a block of code sends on one connection, shown as snapshots show SQL.

A listener on the engine sees each statement that reaches the cursor of the logged
DBAPI connection (Core executions, ORM flushes, lazy loads), leaves out the
savepoints that isolation uses, and keeps each as display SQL with its first
parameter set as literals.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snapq._sql.compile import CompiledSQL, compile_execution
from snapq._sql.format import display_sql

if TYPE_CHECKING:
    from sqlalchemy import Connection

_SAVEPOINT = re.compile(r"\s*(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO\s+SAVEPOINT)\b", re.I)


@dataclass
class StatementLog:
    """The statements sent on one DBAPI connection while a block runs."""

    dbapi_connection: Any
    ignore: frozenset[str]
    statements: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    parameter_names: set[str] = field(default_factory=set)


_LOG: contextvars.ContextVar[StatementLog | None] = contextvars.ContextVar(
    "snapq_query_log", default=None
)


@contextmanager
def logging_statements(connection: Connection, *, ignore: frozenset[str]) -> Iterator[StatementLog]:
    """Log what ``connection``'s DBAPI connection is sent while the block runs."""
    from sqlalchemy import event

    if not event.contains(connection.engine, "before_cursor_execute", _log_statement):
        event.listen(connection.engine, "before_cursor_execute", _log_statement)
    log = StatementLog(connection.connection.dbapi_connection, ignore)
    token = _LOG.set(log)
    try:
        yield log
    finally:
        _LOG.reset(token)


def render_statements(statements: list[str]) -> str:
    """Number the statements and count them."""
    count = len(statements)
    blocks = [f"-- {number}\n{text}" for number, text in enumerate(statements, start=1)]
    blocks.append(f"-- {count} {'query' if count == 1 else 'queries'}")
    return "\n\n".join(blocks)


def _log_statement(  # noqa: PLR0917 - SQLAlchemy's event signature
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    log = _LOG.get()
    if log is None or conn.connection.dbapi_connection is not log.dbapi_connection:
        return
    if _SAVEPOINT.match(statement):
        return
    parameter_sets = getattr(context, "compiled_parameters", None) or ()
    if parameter_sets:
        log.parameter_names.update(parameter_sets[0])
    shown = display_sql(_sent(statement, context, log.ignore))
    if shown.problem:
        log.problems.append(shown.problem)
    more = (
        f"\n-- and {len(parameter_sets) - 1} more parameter sets" if len(parameter_sets) > 1 else ""
    )
    log.statements.append(shown.text + more)


def _sent(statement: str, context: Any, ignore: frozenset[str]) -> CompiledSQL:
    """Return what was sent, with its first parameter set as literals."""
    compiled = getattr(context, "compiled", None)
    parameter_sets = getattr(context, "compiled_parameters", None) or []
    if compiled is None or not parameter_sets:
        return CompiledSQL(statement)
    try:
        return compile_execution(compiled, parameter_sets[0], sent=statement, ignore=ignore)
    except Exception:  # show what the driver got rather than fail the test
        return CompiledSQL(statement)
