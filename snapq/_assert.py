"""``assert_query``: check a statement's SQL and its results against snapshots."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from snapq._arguments import MaskArgument, check_ignore, check_mask, check_snapshots
from snapq._context import TestContext, current_test
from snapq._snapshots.compare import CallSite, check_file, check_inline
from snapq._snapshots.locations import call_site, where
from snapq._snapshots.masks import Mask, Masking
from snapq._sql.execute import Execution, execute
from snapq._sql.format import display_sql
from snapq._sql.render import render_result
from snapq._sql.result import QueryResult

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
    mask: MaskArgument = None,
) -> None:
    """Run ``statement`` and check its SQL and its results against snapshots.

    ``statement`` is any SQLAlchemy executable or a SQL string. It runs on
    ``connection`` (a ``Connection`` or ``Session``; by default the test's
    ``snapq_session`` if it uses one, else ``snapq_connection``) inside a savepoint.
    ``sql=`` and ``results=`` are inline snapshots: left out, they are recorded into
    the test's source (record mode permitting); different, the test fails with a
    diff. ``snapshot=`` (syrupy's ``snapshot`` fixture) keeps both in a file instead.
    Columns named in ``ignore`` show ``<ignored>`` instead of their values, and so do
    the parameters bound to them. ``mask`` names the kinds of values that change from
    run to run (``"uuid"``, ``"now"``, or functions), shown as placeholders; by default
    the run's ``snapq_mask``.
    """
    __tracebackhide__ = True
    ignore = check_arguments(
        "assert_query", sql=sql, results=results, snapshot=snapshot, ignore=ignore
    )
    context = current_test()
    if connection is None:
        connection = default_connection(context)
    execution = execute(connection, statement, ignore=ignore)
    frame = sys._getframe(1)
    check_execution(
        context,
        execution,
        Expected(
            sql=sql, results=results, snapshot=snapshot, ignore=ignore, masks=check_mask(mask)
        ),
        CallerLine(where(frame), lambda: call_site(frame)),
    )


@dataclass(frozen=True)
class Expected:
    """What the caller expects: inline snapshots or syrupy's fixture, and the names
    whose values it ignores."""

    sql: str | None
    results: str | None
    snapshot: Any
    ignore: frozenset[str]
    masks: tuple[Mask, ...] | None = None  # None: the run's


@dataclass(frozen=True)
class CallerLine:
    """The caller's line: ``path:line`` for messages, and the call for recording."""

    where: str
    site: CallSite


def check_arguments(
    function: str, *, sql: str | None, results: str | None, snapshot: Any, ignore: Collection[str]
) -> frozenset[str]:
    """Refuse arguments that cannot be right, before anything runs; return ``ignore``."""
    check_snapshots(function, sql=sql, results=results)
    if snapshot is not None and (sql is not None or results is not None):
        msg = f"{function} takes snapshot= or sql=/results=, not both"
        raise TypeError(msg)
    return check_ignore(ignore)


def check_execution(
    context: TestContext | None, execution: Execution, expected: Expected, caller: CallerLine
) -> None:
    """Compare an execution's SQL and results with what the caller expects."""
    __tracebackhide__ = True
    unknown = expected.ignore - execution.names
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
        context.note(f"{caller.where}: the statement failed with {error.message!r}; {advice}")
    shown = display_sql(execution.sent)
    if shown.problem and context is not None:
        context.note(f"{caller.where}: SQL {shown.problem}")
    masking = masking_for(context, expected.masks)
    actual_sql = masking.sql(shown.text)  # first: the SQL comes first in a snapshot
    actual_results = render_result(masked(execution.result, masking))
    if expected.snapshot is not None:
        check_file(context, expected.snapshot, {"sql": actual_sql, "results": actual_results})
        return
    check_inline(
        context,
        caller.site,
        {"sql": (expected.sql, actual_sql), "results": (expected.results, actual_results)},
    )


def masking_for(context: TestContext | None, masks: tuple[Mask, ...] | None) -> Masking:
    """Return the masking of one snapshot: the call's masks, else the run's."""
    if masks is None:
        masks = context.run_masks() if context is not None else ()
    return Masking(masks, since=context.started if context is not None else None)


def masked(result: QueryResult, masking: Masking) -> QueryResult:
    """Return ``result`` with its cells masked (the result itself, without masks)."""
    if not masking.active or not result.rows:
        return result
    rows = tuple(
        tuple(None if cell is None else masking.cell(cell) for cell in row) for row in result.rows
    )
    return dataclasses.replace(result, rows=rows)


def default_connection(context: TestContext | None) -> Connection | Session:
    """Return the running test's connection (or session), or explain what to pass."""
    __tracebackhide__ = True
    return _running(context).default_connection()


def _running(context: TestContext | None) -> TestContext:
    __tracebackhide__ = True
    if context is None:
        raise_outside_a_test()
    return context


def raise_outside_a_test() -> NoReturn:
    """Say that the test's connection is found only in a running test."""
    __tracebackhide__ = True
    msg = (
        "snapq finds the test's connection only inside a running test (not at module "
        "level or in a session fixture): pass connection="
    )
    raise TypeError(msg)
