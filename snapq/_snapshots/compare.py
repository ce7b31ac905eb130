"""Compare actual text with snapshots, inline or in files, and decide what to record.

Shared by ``assert_query`` and ``assert_queries``: the record mode decides whether
a missing or different snapshot is recorded or fails; recording queues an
observation (inline) or lets syrupy write (files); a failure shows a diff and
names the flag that accepts it.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from snapq._config import SPECS, RecordMode
from snapq._context import TestContext
from snapq._snapshots.cells import cell_changes, changed_cells
from snapq._snapshots.inline import normalize
from snapq._snapshots.locations import display_path
from snapq._snapshots.masks import volatile_kinds
from snapq._snapshots.recorder import CONFLICT_ADVICE, Observation
from snapq._snapshots.sections import section

ACCEPT = "Accept the change with --snapshot-update (or --snapq-record=failed)."
OUTSIDE_A_TEST = (
    "snapq records only inside a running test (not at module level or in a session "
    "fixture): call it from the test, or change the snapshot by hand."
)

CallSite = Callable[[], tuple[str, int, int]]  # (path, line, column), found when needed


@dataclass(frozen=True)
class _Verdict:
    name: str
    expected: str | None
    actual: str
    too_long: bool = False  # to be recorded, but too long to write inline


def check_inline(
    context: TestContext | None,
    site: CallSite,
    snapshots: dict[str, tuple[str | None, str]],
) -> None:
    """Compare inline snapshots (name: (literal, actual)); queue what to record; fail."""
    __tracebackhide__ = True
    mode = context.record.value if context is not None else RecordMode.NEVER
    verdicts = {
        name: _judge(mode, expected, normalize(actual))
        for name, (expected, actual) in snapshots.items()
    }
    too_long = [
        _Verdict(name, snapshots[name][0], actual, too_long=True)
        for name, (actual, change) in verdicts.items()
        if change
        and context is not None
        and _changes(snapshots[name][0], actual)
        and _too_long(actual, context.inline_max_lines)
    ]
    if too_long:  # nothing of this call is recorded, not even what would fit
        raise AssertionError(failure_message(context, too_long, []))
    failures: list[_Verdict] = []
    clashes: list[str] = []
    for name, (actual, change) in verdicts.items():
        expected = snapshots[name][0]
        if context is not None and mode.records_missing:
            clash = _observe(context, site, name, actual, change=change)
            if clash is not None:
                clashes.append(clash)
                continue
        if not change and (expected is None or normalize(expected) != actual):
            failures.append(_Verdict(name, expected, actual))
    if clashes or failures:
        raise AssertionError(failure_message(context, failures, clashes))


def _judge(mode: RecordMode, expected: str | None, actual: str) -> tuple[str, bool]:
    """Return the normalized actual text, and whether the mode records it."""
    if expected is not None and normalize(expected) == actual:
        return actual, mode is RecordMode.ALL
    if expected is None:
        return actual, mode.records_missing
    return actual, mode.records_different


def check_file(context: TestContext | None, snapshot: Any, sections: dict[str, str]) -> None:
    """Compare with (or record) a snapshot file through syrupy's assertion."""
    from snapq._snapshots.files import parse, serialize

    __tracebackhide__ = True
    if context is None:
        msg = "snapshot= works inside a pytest run with snapq"
        raise TypeError(msg)
    mode = context.record.value
    data = serialize({name: normalize(text) for name, text in sections.items()})
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
    stored = parse(outcome.recalled_data, location=location, names=list(sections))
    failures = [
        _Verdict(name, stored[name], normalize(actual))
        for name, actual in sections.items()
        if normalize(stored[name]) != normalize(actual)
    ]
    raise AssertionError(f"{location}:\n" + failure_message(context, failures, []))


def _observe(
    context: TestContext, site: CallSite, name: str, actual: str, *, change: bool
) -> str | None:
    """Queue the observation; return a message if this call site already saw another value."""
    __tracebackhide__ = True
    path, line, column = site()
    earlier = context.recorder.observe(
        Observation(path, line, column, name, actual, change, context.nodeid)
    )
    if earlier is None:
        return None
    return (
        f"snapq: this call ({display_path(path)}:{line}) was reached with "
        f"different {name}= values in one run (first in {earlier.nodeid}), so snapq "
        "writes nothing for it.\n"
        f"{CONFLICT_ADVICE}"
    )


def failure_message(
    context: TestContext | None, failures: list[_Verdict], clashes: list[str]
) -> str:
    parts = list(clashes)
    for verdict in failures:
        if verdict.too_long:
            assert context is not None
            lines = verdict.actual.count("\n") + 1
            parts.append(
                f"snapq: {verdict.name}= would be {lines} lines ({len(verdict.actual)} "
                f"characters), more than snapq writes inline ({context.inline_max_lines} "
                f"lines, {SPECS['inline_max_lines'].spellings}), so nothing was written. "
                "Keep the result small with a LIMIT or a narrower WHERE, or keep it in a "
                "file with snapshot=snapshot (syrupy's fixture)."
            )
        elif verdict.expected is not None:
            diff = difflib.unified_diff(
                normalize(verdict.expected).splitlines(),
                verdict.actual.splitlines(),
                f"{verdict.name} (snapshot)",
                f"{verdict.name} (actual)",
                lineterm="",
            )
            cells = (
                changed_cells(normalize(verdict.expected), verdict.actual)
                if section(verdict.name).table
                else _changed_count(normalize(verdict.expected), verdict.actual)
            )
            parts.append(
                f"snapq: {section(verdict.name).differs} from the snapshot:\n"
                + "".join(f"  {cell}\n" for cell in cells)
                + _capped(diff)
            )
        elif context is None:
            parts.append(
                f"snapq: {verdict.name}= is missing, and snapq records only inside a running "
                "test (not at module level or in a session fixture). "
                "Call it from the test, or write it by hand; it would be:\n"
                + _indent(verdict.actual)
            )
        else:
            mode = f"record mode {context.record.value.value} ({context.record.source})"
            parts.append(
                f"snapq: {verdict.name}= is missing, and {mode} writes nothing. Record it "
                "by running locally (not on CI) or with --snapq-record=missing; it would be:\n"
                + _indent(verdict.actual)
            )
    differing = [
        verdict for verdict in failures if verdict.expected is not None and not verdict.too_long
    ]
    if differing:
        volatile = _volatile_advice(differing)
        parts.append(volatile or (ACCEPT if context is not None else OUTSIDE_A_TEST))
    return "\n\n".join(parts)


_QUERY_COUNT = re.compile(r"^-- ([0-9]+) quer(?:y|ies)$", re.MULTILINE)


def _changed_count(expected: str, actual: str) -> list[str]:
    """Return ``2 queries → 6 queries`` where two statement logs count differently."""
    before, after = _QUERY_COUNT.findall(expected), _QUERY_COUNT.findall(actual)
    if len(before) != 1 or len(after) != 1 or before == after:
        return []
    return [f"{_queries(before[0])} → {_queries(after[0])}"]


def _queries(count: str) -> str:
    return f"{count} {'query' if count == '1' else 'queries'}"


def _volatile_advice(differing: list[_Verdict]) -> str | None:
    """Advise a mask, not --snapshot-update, where the snapshots differ only in values
    that change on every run: accepting them would fail again on the next run."""
    kinds: set[str] = set()
    columns: list[str] = []
    for verdict in differing:
        assert verdict.expected is not None
        expected = normalize(verdict.expected)
        # A table's column widths change with its values: compare it cell by cell.
        cells = cell_changes(expected, verdict.actual) if section(verdict.name).table else None
        pairs = [(old, new) for _, _, old, new in cells] if cells else [(expected, verdict.actual)]
        for old, new in pairs:
            found = volatile_kinds(old, new)
            if not found:
                return None
            kinds.update(found)
        columns += [column for _, column, _, _ in cells or []]
    what = " and ".join(
        {"uuid": "UUIDs", "now": "timestamps"}[kind] for kind in sorted(kinds, reverse=True)
    )
    names = sorted(set(columns))
    masks = " ".join(sorted(kinds, reverse=True))
    listed = ", ".join(f'"{kind}"' for kind in sorted(kinds, reverse=True))
    where = f" (column {', '.join(names)})" if names else ""
    ignore = f", or leave the columns out with ignore={names!r}" if names else ""
    return (
        f"snapq: the snapshot differs only in {what}{where}, values that change on every "
        "run: accepting the change would fail again on the next run. Mask them "
        f"({SPECS['mask'].ini_key} = {masks} in the ini file for the whole run, or mask=[{listed}] "
        f"for this call){ignore}."
    )


DIFF_LINES = 200  # the most of a diff, or of a text, that a failure shows
CHARACTERS_PER_LINE = 200  # a long line counts as this many, toward inline_max_lines


def _changes(expected: str | None, actual: str) -> bool:
    return expected is None or normalize(expected) != actual


def _too_long(text: str, max_lines: int) -> bool:
    return text.count("\n") + 1 > max_lines or len(text) > max_lines * CHARACTERS_PER_LINE


def _capped(lines: Iterable[str]) -> str:
    """Join at most DIFF_LINES lines, and say how many more were left out."""
    remaining = iter(lines)
    shown = list(itertools.islice(remaining, DIFF_LINES))
    left_out = sum(1 for _ in remaining)
    if left_out:
        shown.append(f"... and {left_out} more lines, left out")
    return "\n".join(shown)


def _indent(text: str) -> str:
    return _capped("    " + line if line else "" for line in text.splitlines())
