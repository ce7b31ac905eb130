"""``assert_query``: check a statement's SQL and results against inline snapshots."""

from __future__ import annotations

import ast
import difflib
import sys
import types
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from snapq._config import RecordMode
from snapq._context import CURRENT, TestContext
from snapq._execute import execute
from snapq._format import pretty_sql
from snapq._inline import normalize
from snapq._recorder import CONFLICT_ADVICE, Observation, display_path
from snapq._render import render_result

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

ACCEPT = "Accept the change with --snapshot-update (or --snapq-record=failed)."


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
    if snapshot is not None and (sql is not None or results is not None):
        msg = "assert_query takes snapshot= or sql=/results=, not both"
        raise TypeError(msg)
    context = CURRENT.get()
    if connection is None:
        connection = _default_connection(context)
    execution = execute(connection, statement, ignore=ignore)
    formatted = pretty_sql(execution.sent.sql)
    actual_sql = formatted.text + "".join(
        f"\n-- {name} = {value!r}" for name, value in execution.sent.parameters
    )
    if formatted.problem and context is not None:
        context.note(f"{_where(sys._getframe(1))}: SQL {formatted.problem}")
    if snapshot is not None:
        _check_file(context, snapshot, actual_sql, render_result(execution.result))
        return
    _check(
        context,
        sys._getframe(1),
        {"sql": (sql, actual_sql), "results": (results, render_result(execution.result))},
    )


@dataclass(frozen=True)
class _Verdict:
    name: str
    expected: str | None
    actual: str


def _check(
    context: TestContext | None,
    frame: types.FrameType,
    snapshots: dict[str, tuple[str | None, str]],
) -> None:
    __tracebackhide__ = True
    mode = context.record.value if context is not None else RecordMode.NEVER
    failures: list[_Verdict] = []
    clashes: list[str] = []
    for name, (expected, actual_text) in snapshots.items():
        actual = normalize(actual_text)
        if expected is not None and normalize(expected) == actual:
            change = mode is RecordMode.ALL
        elif expected is None:
            change = mode.records_missing
        else:
            change = mode.records_different
        if context is not None and mode.records_missing:
            clash = _observe(context, frame, name, actual, change=change)
            if clash is not None:
                clashes.append(clash)
                continue
        if not change and (expected is None or normalize(expected) != actual):
            failures.append(_Verdict(name, expected, actual))
    if clashes or failures:
        raise AssertionError(_failure_message(context, failures, clashes))


def _check_file(
    context: TestContext | None, snapshot: Any, actual_sql: str, actual_results: str
) -> None:
    """Compare with (or record) the snapshot file through syrupy's assertion."""
    from snapq._files import parse, serialize

    __tracebackhide__ = True
    if context is None:
        msg = "assert_query(snapshot=...) works inside a pytest run with snapq"
        raise TypeError(msg)
    mode = context.record.value
    data = serialize(normalize(actual_sql), normalize(actual_results))
    snapshot = context.file_assertion(snapshot)
    snapshot.update_snapshots = mode.records_different
    snapshot.update_new_snapshots_only = mode.records_missing
    matched = snapshot == data
    outcome = snapshot.executions[snapshot.num_executions - 1]
    if outcome.created or outcome.updated:
        context.recorder.files.append(outcome.snapshot_location)
    if matched:
        return
    if outcome.exception is not None:
        raise outcome.exception
    location = display_path(outcome.snapshot_location)
    if outcome.recalled_data is None:
        msg = (
            f"snapq: the snapshot file {location} is missing, and record mode "
            f"{mode.value} ({context.record.source}) writes nothing. Record it by running "
            f"locally (not on CI) or with --snapq-record=missing; it would hold:\n{_indent(data)}"
        )
        raise AssertionError(msg)
    stored_sql, stored_results = parse(outcome.recalled_data, location=location)
    failures = [
        _Verdict(name, stored, normalize(actual))
        for name, stored, actual in (
            ("sql", stored_sql, actual_sql),
            ("results", stored_results, actual_results),
        )
        if normalize(stored) != normalize(actual)
    ]
    raise AssertionError(f"{location}:\n" + _failure_message(context, failures, []))


def _observe(
    context: TestContext, frame: types.FrameType, name: str, actual: str, *, change: bool
) -> str | None:
    """Queue the observation; return a message if this call site already saw another value."""
    __tracebackhide__ = True
    path, line, column = _call_site(frame)
    earlier = context.recorder.observe(
        Observation(path, line, column, name, actual, change, context.nodeid)
    )
    if earlier is None:
        return None
    return (
        f"snapq: this assert_query call ({display_path(path)}:{line}) was reached with "
        f"different {name}= values in one run (first in {earlier.nodeid}), so snapq "
        "writes nothing for it.\n"
        f"{CONFLICT_ADVICE}"
    )


def _call_site(frame: types.FrameType) -> tuple[str, int, int]:
    import executing

    __tracebackhide__ = True
    source = executing.Source.executing(frame)
    node = cast("ast.expr | None", source.node)
    if node is None:
        msg = (
            f"snapq: cannot find this assert_query call in {_where(frame)} to record its "
            "snapshots (is the source available?). Write sql= and results= by hand, or "
            "use snapshot=snapshot."
        )
        raise AssertionError(msg)
    line_text = source.source.lines[node.lineno - 1]
    column = len(line_text.encode("utf-8")[: node.col_offset].decode("utf-8"))
    return (frame.f_code.co_filename, node.lineno, column)


def _failure_message(
    context: TestContext | None, failures: list[_Verdict], clashes: list[str]
) -> str:
    parts = list(clashes)
    mode = (
        f"record mode {context.record.value.value} ({context.record.source})"
        if context
        else ("outside a pytest run with snapq, nothing is recorded")
    )
    for verdict in failures:
        if verdict.expected is None:
            parts.append(
                f"snapq: {verdict.name}= is missing, and {mode} writes nothing. Record it "
                "by running locally (not on CI) or with --snapq-record=missing; it would be:\n"
                + _indent(verdict.actual)
            )
        else:
            diff = difflib.unified_diff(
                normalize(verdict.expected).splitlines(),
                verdict.actual.splitlines(),
                f"{verdict.name} (snapshot)",
                f"{verdict.name} (actual)",
                lineterm="",
            )
            what = "SQL differs" if verdict.name == "sql" else f"{verdict.name} differ"
            parts.append(f"snapq: the {what} from the snapshot:\n" + "\n".join(diff))
    if any(verdict.expected is not None for verdict in failures):
        parts.append(ACCEPT)
    return "\n\n".join(parts)


def _default_connection(context: TestContext | None) -> Connection | Session:
    __tracebackhide__ = True
    if context is None:
        msg = (
            "assert_query needs connection= outside a pytest test run with snapq "
            "(inside one, it uses the test's snapq_connection)"
        )
        raise TypeError(msg)
    return context.default_connection()


def _where(frame: types.FrameType) -> str:
    return f"{display_path(frame.f_code.co_filename)}:{frame.f_lineno}"


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())
