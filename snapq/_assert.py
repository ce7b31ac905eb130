"""``assert_query``: check a statement's SQL and its results against snapshots."""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from snapq._arguments import check_ignore, check_snapshots
from snapq._context import CURRENT, TestContext
from snapq._snapshots.compare import check_file, check_inline
from snapq._snapshots.locations import call_site, where
from snapq._sql.execute import execute
from snapq._sql.format import display_sql
from snapq._sql.render import render_result

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

MISSING_SCHEMA = {"42P01", "3F000"}  # undefined_table, invalid_schema_name


def assert_query(
    statement: Any,
    *,
    sql: str | None = None,
    results: str | None = None,
    snapshot: Any = None,
    connection: Connection | Session | None = None,
    ignore: Collection[str] = (),
) -> None:
    """Run ``statement`` and check its SQL and its results against snapshots.

    ``statement`` is any SQLAlchemy executable or a SQL string. It runs on
    ``connection`` (a ``Connection`` or ``Session``; by default the test's
    ``snapq_session`` if it uses one, else ``snapq_connection``) inside a savepoint.
    ``sql=`` and ``results=`` are inline snapshots: left out, they are recorded into
    the test's source (record mode permitting); different, the test fails with a
    diff. ``snapshot=`` (syrupy's ``snapshot`` fixture) keeps both in a file instead.
    Columns named in ``ignore`` show ``<ignored>`` instead of their values, for
    values that change from run to run.
    """
    __tracebackhide__ = True
    check_snapshots("assert_query", sql=sql, results=results)
    if snapshot is not None and (sql is not None or results is not None):
        msg = "assert_query takes snapshot= or sql=/results=, not both"
        raise TypeError(msg)
    ignore = check_ignore(ignore)
    context = CURRENT.get()
    if connection is None:
        connection = default_connection(context)
    execution = execute(connection, statement, ignore=ignore)
    frame = sys._getframe(1)
    unknown = ignore - execution.names
    if unknown:
        msg = (
            f"ignore= names {', '.join(sorted(unknown))}, which is neither a result column "
            f"nor a parameter of this statement; they are: {', '.join(sorted(execution.names))}"
        )
        raise ValueError(msg)
    error = execution.result.error
    if error is not None and error.sqlstate in MISSING_SCHEMA and context is not None:
        if context.builds_schema():
            advice = "if the schema lacks it, build it in pytest_snapq_setup_database"
        else:
            advice = (
                "no pytest_snapq_setup_database hook is implemented, so the database "
                "starts empty: build the schema there (see the docs' Database page)"
            )
        context.note(f"{where(frame)}: the statement failed with {error.message!r}; {advice}")
    shown = display_sql(execution.sent)
    if shown.problem and context is not None:
        context.note(f"{where(frame)}: SQL {shown.problem}")
    actual_results = render_result(execution.result)
    if snapshot is not None:
        check_file(context, snapshot, {"sql": shown.text, "results": actual_results})
        return
    check_inline(
        context,
        lambda: call_site(frame),
        {"sql": (sql, shown.text), "results": (results, actual_results)},
    )


def default_connection(context: TestContext | None) -> Connection | Session:
    """Return the running test's connection (or session), or explain what to pass."""
    __tracebackhide__ = True
    if context is None:
        msg = (
            "snapq finds the test's connection only inside a running test (not at module "
            "level, in a session fixture or in another thread): pass connection="
        )
        raise TypeError(msg)
    return context.default_connection()
