"""Comparing inline snapshots: what each record mode records, and what a failure says."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from snapq._config import SPECS, Origin, RecordMode, Setting
from snapq._snapshots.compare import ACCEPT, CallSite, check_file, check_inline
from snapq._snapshots.recorder import CONFLICT_ADVICE, Recorder
from snapq._sql.render import render_table
from snapq._sql.result import Column

NODEID = "test_a.py::test_it"
RECORDING = [RecordMode.MISSING, RecordMode.FAILED, RecordMode.ALL]


@dataclass
class RunningTest:
    """A test as ``check_inline`` sees it (snapq._context.TestContext), without pytest."""

    record: Setting[RecordMode]
    nodeid: str = NODEID
    inline_max_lines: int = 100
    recorder: Recorder = field(default_factory=Recorder)
    notes: list[str] = field(default_factory=list)

    def default_connection(self) -> Any:
        msg = "comparing snapshots needs no connection"
        raise AssertionError(msg)

    def file_assertion(self, snapshot: Any) -> Any:
        return snapshot

    def note(self, message: str) -> None:
        self.notes.append(message)

    def builds_schema(self) -> bool:
        return False


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work in tmp_path, so that messages name the test file relative to it."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def site(tmp_path: Path) -> CallSite:
    """The call being checked: test_a.py, line 2, column 4."""
    return lambda: (str(tmp_path / "test_a.py"), 2, 4)


def running(mode: RecordMode, origin: Origin = Origin.FLAG) -> RunningTest:
    return RunningTest(Setting.given(mode, origin, SPECS["record"]))


def queued(test: RunningTest) -> list[tuple[str, str, bool]]:
    """Return what the recorder holds: (keyword, value, whether to write it)."""
    return [(seen["name"], seen["value"], seen["change"]) for seen in test.recorder.export()]


def failure(
    test: RunningTest | None, site: CallSite, snapshots: dict[str, tuple[str | None, str]]
) -> str:
    with pytest.raises(AssertionError) as raised:
        check_inline(test, site, snapshots)
    return str(raised.value)


# A matching snapshot ------------------------------------------------------------------


def test_a_matching_snapshot_passes_and_never_mode_records_nothing(site: CallSite) -> None:
    test = running(RecordMode.NEVER)
    check_inline(test, site, {"sql": ("SELECT 1", "SELECT 1")})
    assert queued(test) == []


@pytest.mark.parametrize(
    ("mode", "change"),
    [(RecordMode.MISSING, False), (RecordMode.FAILED, False), (RecordMode.ALL, True)],
)
def test_a_matching_snapshot_passes_and_only_all_rewrites_it(
    site: CallSite, mode: RecordMode, change: bool
) -> None:
    test = running(mode)
    check_inline(test, site, {"sql": ("SELECT 1", "SELECT 1")})
    assert queued(test) == [("sql", "SELECT 1", change)]


def test_an_observation_names_the_call_site_and_the_test(tmp_path: Path, site: CallSite) -> None:
    test = running(RecordMode.ALL)
    check_inline(test, site, {"sql": ("SELECT 1", "SELECT 1")})
    assert test.recorder.export() == [
        {
            "path": str(tmp_path / "test_a.py"),
            "line": 2,
            "column": 4,
            "name": "sql",
            "value": "SELECT 1",
            "change": True,
            "nodeid": NODEID,
        }
    ]


# Whitespace -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        pytest.param("\n    SELECT 1\n    FROM t\n", id="indented-and-blank-ends"),
        pytest.param("\n\n\t\tSELECT 1\n\t\tFROM t\n\n  ", id="tabs-and-several-blank-lines"),
        pytest.param("SELECT 1   \nFROM t\t", id="trailing-spaces"),
        pytest.param("SELECT 1\nFROM t", id="flat"),
    ],
)
def test_common_indentation_and_blank_ends_are_ignored(site: CallSite, literal: str) -> None:
    test = running(RecordMode.NEVER)
    check_inline(test, site, {"sql": (literal, "\n  SELECT 1\n  FROM t\n\n")})


def test_relative_indentation_and_inner_blank_lines_count(site: CallSite) -> None:
    test = running(RecordMode.NEVER)
    with pytest.raises(AssertionError, match="the SQL differs"):
        check_inline(test, site, {"sql": ("SELECT 1\nFROM t", "SELECT 1\n  FROM t")})
    with pytest.raises(AssertionError, match="the SQL differs"):
        check_inline(test, site, {"sql": ("SELECT 1\nFROM t", "SELECT 1\n\nFROM t")})


def test_a_statement_log_that_counts_differently_says_so_first(site: CallSite) -> None:
    test = running(RecordMode.NEVER)
    before = "-- 1\nSELECT 1\n\n-- 1 query"
    after = "-- 1\nSELECT 1\n\n-- 2\nSELECT 2\n\n-- 2 queries"
    with pytest.raises(AssertionError) as raised:
        check_inline(test, site, {"sql": (before, after)})
    assert str(raised.value).splitlines()[1] == "  1 query → 2 queries"


def test_the_value_recorded_is_normalized(site: CallSite) -> None:
    test = running(RecordMode.MISSING)
    check_inline(test, site, {"sql": (None, "\n    SELECT 1  \n      FROM t\n\n")})
    assert queued(test) == [("sql", "SELECT 1\n  FROM t", True)]


# A missing snapshot ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "source"),
    [
        (Origin.FLAG, "--snapq-record"),
        (Origin.ENVIRONMENT, "SNAPQ_RECORD"),
        (Origin.INI, "ini snapq_record"),
        (Origin.CI, "default: CI detected"),
    ],
)
def test_a_missing_snapshot_fails_in_never_mode_naming_the_mode_and_its_source(
    site: CallSite, origin: Origin, source: str
) -> None:
    test = running(RecordMode.NEVER, origin)
    message = failure(test, site, {"sql": (None, "SELECT 1\nFROM t\n\nWHERE x")})
    assert message == (
        f"snapq: sql= is missing, and record mode never ({source}) writes nothing. Record it "
        "by running locally (not on CI) or with --snapq-record=missing; it would be:\n"
        "    SELECT 1\n"
        "    FROM t\n"
        "\n"
        "    WHERE x"
    )
    assert queued(test) == []


def test_never_mode_does_not_look_for_the_call_site() -> None:
    def nowhere() -> tuple[str, int, int]:
        msg = "the call site was looked for"
        raise AssertionError(msg)

    test = running(RecordMode.NEVER)
    check_inline(test, nowhere, {"sql": ("SELECT 1", "SELECT 1")})
    assert "sql= is missing" in failure(test, nowhere, {"sql": (None, "SELECT 1")})


@pytest.mark.parametrize("mode", RECORDING)
def test_a_missing_snapshot_is_queued_in_every_recording_mode(
    site: CallSite, mode: RecordMode
) -> None:
    test = running(mode)
    check_inline(test, site, {"sql": (None, "SELECT 1"), "results": (None, "one\n1")})
    assert queued(test) == [("sql", "SELECT 1", True), ("results", "one\n1", True)]


def test_outside_a_running_test_a_missing_snapshot_says_why_nothing_is_recorded(
    site: CallSite,
) -> None:
    message = failure(None, site, {"results": (None, "one\n  1")})
    assert message == (
        "snapq: results= is missing, and snapq records only inside a running test (not at "
        "module level or in a session fixture). Call it from the test, "
        "or write it by hand; it would be:\n"
        "    one\n"
        "      1"
    )


def test_outside_a_running_test_a_matching_snapshot_passes(site: CallSite) -> None:
    check_inline(None, site, {"sql": ("SELECT 1", "SELECT 1")})


# A different snapshot -------------------------------------------------------------------


@pytest.mark.parametrize("mode", [RecordMode.NEVER, RecordMode.MISSING])
def test_a_different_sql_fails_with_a_diff_and_the_flag_that_accepts_it(
    site: CallSite, mode: RecordMode
) -> None:
    test = running(mode)
    message = failure(test, site, {"sql": ("SELECT 1\nFROM t", "SELECT 2\nFROM t")})
    assert message == (
        "snapq: the SQL differs from the snapshot:\n"
        "--- sql (snapshot)\n"
        "+++ sql (actual)\n"
        "@@ -1,2 +1,2 @@\n"
        "-SELECT 1\n"
        "+SELECT 2\n"
        " FROM t\n"
        "\n"
        "Accept the change with --snapshot-update (or --snapq-record=failed)."
    )


def test_a_different_result_names_its_section(site: CallSite) -> None:
    test = running(RecordMode.NEVER)
    message = failure(test, site, {"results": ("one\n1", "one\n2")})
    assert message.splitlines()[:3] == [
        "snapq: the results differ from the snapshot:",
        "--- results (snapshot)",
        "+++ results (actual)",
    ]
    assert message.endswith("\n\n" + ACCEPT)


def test_a_different_table_names_the_changed_cells_before_the_diff(site: CallSite) -> None:
    columns = (Column("id", 23), Column("total", 23))
    expected = render_table(columns, [(1, 10), (2, 20)])
    actual = render_table(columns, [(1, 10), (2, 21)])
    message = failure(running(RecordMode.NEVER), site, {"results": (expected, actual)})
    assert message.splitlines()[:3] == [
        "snapq: the results differ from the snapshot:",
        "  row 2, column total: 20 → 21",
        "--- results (snapshot)",
    ]


def test_a_different_sql_names_no_cells(site: CallSite) -> None:
    columns = (Column("id", 23),)
    sql = (render_table(columns, [(1,)]), render_table(columns, [(2,)]))  # a table, as SQL
    message = failure(running(RecordMode.NEVER), site, {"sql": sql})
    assert message.splitlines()[1] == "--- sql (snapshot)"


def test_missing_mode_keeps_a_different_snapshot_unwritten(site: CallSite) -> None:
    test = running(RecordMode.MISSING)
    failure(test, site, {"sql": ("SELECT 1", "SELECT 2")})
    assert queued(test) == [("sql", "SELECT 2", False)]


@pytest.mark.parametrize("mode", [RecordMode.FAILED, RecordMode.ALL])
def test_a_different_snapshot_is_queued_when_failed_ones_are_recorded(
    site: CallSite, mode: RecordMode
) -> None:
    test = running(mode)
    check_inline(test, site, {"sql": ("SELECT 1", "SELECT 2")})
    assert queued(test) == [("sql", "SELECT 2", True)]


def test_every_failing_section_is_reported_and_the_advice_given_once(site: CallSite) -> None:
    test = running(RecordMode.NEVER)
    message = failure(
        test,
        site,
        {"sql": ("SELECT 1", "SELECT 2"), "results": (None, "one\n2")},
    )
    assert message == (
        "snapq: the SQL differs from the snapshot:\n"
        "--- sql (snapshot)\n"
        "+++ sql (actual)\n"
        "@@ -1 +1 @@\n"
        "-SELECT 1\n"
        "+SELECT 2\n"
        "\n"
        "snapq: results= is missing, and record mode never (--snapq-record) writes nothing. "
        "Record it by running locally (not on CI) or with --snapq-record=missing; it would be:\n"
        "    one\n"
        "    2\n"
        "\n"
        f"{ACCEPT}"
    )


def test_only_a_missing_snapshot_gives_no_advice_to_accept_a_change(site: CallSite) -> None:
    message = failure(running(RecordMode.NEVER), site, {"sql": (None, "SELECT 1")})
    assert ACCEPT not in message


def test_outside_a_running_test_a_different_snapshot_gives_no_advice_that_cannot_work(
    site: CallSite,
) -> None:
    message = failure(None, site, {"sql": ("SELECT 1", "SELECT 2")})
    assert "snapq: the SQL differs from the snapshot:" in message
    assert ACCEPT not in message
    assert "snapq records only inside a running test" in message


# One call site, two values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "literal"),
    [
        (RecordMode.MISSING, None),
        (RecordMode.FAILED, None),
        (RecordMode.FAILED, "SELECT 0"),
        (RecordMode.ALL, "SELECT 1"),
    ],
)
def test_a_call_reached_with_two_values_fails_and_writes_nothing(
    site: CallSite, mode: RecordMode, literal: str | None
) -> None:
    test = running(mode)
    check_inline(test, site, {"sql": (literal, "SELECT 1")})
    test.nodeid = "test_a.py::test_it[2]"
    message = failure(test, site, {"sql": (literal, "SELECT 2")})
    assert message == (
        "snapq: this call (test_a.py:2) was reached with different sql= values in one run "
        f"(first in {NODEID}), so snapq writes nothing for it.\n{CONFLICT_ADVICE}"
    )
    outcome = test.recorder.apply()
    assert outcome.written == {}
    assert outcome.conflicts == [
        "test_a.py:2: sql= got different values in test_a.py::test_it, "
        "test_a.py::test_it[2]; nothing written for this call"
    ]


def test_a_clash_is_reported_instead_of_that_keywords_diff(site: CallSite) -> None:
    test = running(RecordMode.FAILED)
    check_inline(test, site, {"sql": (None, "SELECT 1"), "results": ("one\n1", "one\n1")})
    message = failure(test, site, {"sql": (None, "SELECT 2"), "results": ("one\n1", "one\n1")})
    assert "different sql= values" in message
    assert "differs from the snapshot" not in message
    assert ACCEPT not in message


def test_each_case_with_its_own_matching_literal_is_no_clash(site: CallSite) -> None:
    test = running(RecordMode.MISSING)
    check_inline(test, site, {"sql": ("SELECT 1", "SELECT 1")})
    check_inline(test, site, {"sql": ("SELECT 2", "SELECT 2")})
    assert queued(test) == [("sql", "SELECT 1", False), ("sql", "SELECT 2", False)]


def test_the_same_value_twice_is_no_clash(site: CallSite) -> None:
    test = running(RecordMode.MISSING)
    check_inline(test, site, {"sql": (None, "SELECT 1")})
    check_inline(test, site, {"sql": (None, "\n    SELECT 1\n")})
    assert queued(test) == [("sql", "SELECT 1", True)]


# Snapshot files -------------------------------------------------------------------------


def test_a_snapshot_file_outside_a_running_test_is_refused() -> None:
    with pytest.raises(TypeError) as raised:
        check_file(None, object(), {"sql": "SELECT 1"})
    assert str(raised.value) == "snapshot= works inside a pytest run with snapq"


# Too long to inline, and long diffs ------------------------------------------------------


def table(rows: int) -> str:
    return "\n".join(f"row {number}" for number in range(rows))


@pytest.mark.parametrize("mode", [RecordMode.MISSING, RecordMode.FAILED, RecordMode.ALL])
def test_a_snapshot_too_long_to_inline_is_not_recorded(site: CallSite, mode: RecordMode) -> None:
    test = running(mode)
    test.inline_max_lines = 3
    message = failure(test, site, {"results": (None, table(4))})
    assert message == (
        "snapq: results= would be 4 lines (23 characters), more than snapq writes inline "
        "(3 lines, --snapq-inline-max-lines (ini snapq_inline_max_lines, env "
        "SNAPQ_INLINE_MAX_LINES)), so nothing was written. Keep the result small with a "
        "LIMIT or a narrower WHERE, or keep it in a file with snapshot=snapshot (syrupy's "
        "fixture)."
    )
    assert queued(test) == []


def test_a_snapshot_of_the_limit_is_recorded(site: CallSite) -> None:
    test = running(RecordMode.MISSING)
    test.inline_max_lines = 3
    check_inline(test, site, {"results": (None, table(3))})
    assert queued(test) == [("results", table(3), True)]


def test_one_long_line_counts_as_many(site: CallSite) -> None:
    test = running(RecordMode.MISSING)
    test.inline_max_lines = 2
    message = failure(test, site, {"results": (None, "x" * 401)})
    assert message.startswith("snapq: results= would be 1 lines (401 characters)")
    assert queued(test) == []


def test_a_long_snapshot_that_matches_passes(site: CallSite) -> None:
    test = running(RecordMode.NEVER)
    test.inline_max_lines = 3
    check_inline(test, site, {"results": (table(10), table(10))})


def test_a_long_diff_is_capped_and_says_how_much_was_left_out(site: CallSite) -> None:
    expected = table(1000)
    actual = "\n".join(f"other {number}" for number in range(1000))
    message = failure(running(RecordMode.NEVER), site, {"results": (expected, actual)})
    lines = message.splitlines()
    assert lines[0] == "snapq: the results differ from the snapshot:"
    assert "... and 1803 more lines, left out" in lines
    assert len(lines) < 210
