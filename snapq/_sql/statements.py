"""Log the statements a block of code sends on some connections, shown as snapshots show SQL.

A listener on every engine sees each statement that reaches the cursor of a
logged DBAPI connection (Core executions, ORM flushes, lazy loads, whatever thread
or task sends them), leaves out the savepoints that isolation uses, and keeps each
as display SQL with its first parameter set as literals. Statements on other
connections of snapq's engines are counted, so that a log that stayed empty can say
where they went.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snapq._database.isolation import is_prepared
from snapq._sql.bound_columns import bound_columns
from snapq._sql.compile import CompiledSQL, compile_execution
from snapq._sql.format import display_sql

if TYPE_CHECKING:
    from sqlalchemy import Connection

_SAVEPOINT = re.compile(r"\s*(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO\s+SAVEPOINT)\b", re.I)


@dataclass(eq=False)  # each block's own: nested blocks may log the same so far
class StatementLog:
    """The statements sent on some DBAPI connections while a block runs."""

    dbapi_connections: tuple[Any, ...]
    ignore: frozenset[str]
    statements: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    parameter_names: set[str] = field(default_factory=set)
    elsewhere: int = 0  # statements sent on snapq's other connections meanwhile

    def logs(self, dbapi_connection: Any) -> bool:
        return any(dbapi_connection is logged for logged in self.dbapi_connections)


# The logs of the blocks running now, in this process: a registry rather than a
# context variable, since application code may send statements from another thread
# (a web framework's test client) where the block's context is not.
_ACTIVE: list[StatementLog] = []


@contextmanager
def logging_statements(
    connections: Sequence[Connection], *, ignore: frozenset[str]
) -> Iterator[StatementLog]:
    """Log what the DBAPI connections of ``connections`` are sent while the block runs."""
    from sqlalchemy import Engine, event

    if not event.contains(Engine, "before_cursor_execute", _log_statement):
        event.listen(Engine, "before_cursor_execute", _log_statement)
    log = StatementLog(
        tuple(connection.connection.dbapi_connection for connection in connections), ignore
    )
    _ACTIVE.append(log)
    try:
        yield log
    finally:
        _ACTIVE.remove(log)


def render_statements(statements: list[str]) -> str:
    """Number the statements and count them."""
    count = len(statements)
    blocks = [f"-- {number}\n{text}" for number, text in enumerate(statements, start=1)]
    blocks.append(f"-- {count} {'query' if count == 1 else 'queries'}")
    return "\n\n".join(blocks)


def _log_statement(  # noqa: PLR0917 - SQLAlchemy's event signature
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if not _ACTIVE:
        return
    dbapi_connection = conn.connection.dbapi_connection
    for log in tuple(_ACTIVE):  # blocks on other threads may enter and leave meanwhile
        if not log.logs(dbapi_connection):
            if is_prepared(conn.engine):  # another of snapq's, not the application's own
                log.elsewhere += 1
        elif not _SAVEPOINT.match(statement):
            _append(log, statement, context)


def _append(log: StatementLog, statement: str, context: Any) -> None:
    parameter_sets = getattr(context, "compiled_parameters", None) or ()
    compiled = getattr(context, "compiled", None)
    # Only ignore= needs the columns parameters are bound to (a walk of the statement).
    bound = bound_columns(compiled) if log.ignore and compiled is not None else {}
    ignored = set(log.ignore)
    if parameter_sets:
        log.parameter_names.update(parameter_sets[0])
        log.parameter_names.update(bound.values())
        # ignore= names what users see: a parameter goes with the column it is bound to.
        ignored |= {name for name in parameter_sets[0] if bound.get(name) in log.ignore}
    shown = display_sql(_sent(statement, context, frozenset(ignored)))
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
