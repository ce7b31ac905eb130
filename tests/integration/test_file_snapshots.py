"""assert_query(snapshot=snapshot): one text file per assertion, kept by syrupy."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Runner, assert_outcomes

TESTS = """
import pytest
from sqlalchemy import literal, select
from snapq import assert_query


@pytest.mark.parametrize("n", [1, 2, 3])
def test_case(n, snapshot):
    assert_query(select(literal(n).label("n"), literal("x" * n).label("xs")), snapshot=snapshot)


def test_two_queries(snapshot):
    assert_query("SELECT 'first' AS which", snapshot=snapshot)
    assert_query("SELECT 'second' AS which", snapshot=snapshot)
"""

FILES = [
    "snapshots/test_queries/test_case[1].snapq",
    "snapshots/test_queries/test_case[2].snapq",
    "snapshots/test_queries/test_case[3].snapq",
    "snapshots/test_queries/test_two_queries.1.snapq",
    "snapshots/test_queries/test_two_queries.snapq",
]


def snapshot_files(runner: Runner) -> list[str]:
    root = runner.pytester.path
    return sorted(str(path.relative_to(root)) for path in (root / "snapshots").rglob("*.snapq"))


@pytest.fixture
def recorded(runner: Runner, xdist_args: list[str]) -> Runner:
    runner.pytester.makepyfile(test_queries=TESTS)
    result = runner.run(*xdist_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "recording unasked must fail the run"
    result.stdout.fnmatch_lines(
        ["*snapq wrote 5 snapshot file(s):", "*recorded snapshots without being asked to*"]
    )
    assert snapshot_files(runner) == FILES
    return runner


def test_one_readable_file_per_assertion(recorded: Runner) -> None:
    text = (recorded.pytester.path / "snapshots/test_queries/test_case[2].snapq").read_text()
    assert text == (
        "-- snapq: sql\n"
        "SELECT\n"
        "  2 AS n,\n"
        "  'xx' AS xs\n"
        "\n"
        "-- snapq: results\n"
        "┌─────┬──────┐\n"
        "│   n │ xs   │\n"
        "├─────┼──────┤\n"
        "│   2 │ xx   │\n"
        "└─────┴──────┘\n"
        "(1 row)\n"
    )


def test_ci_passes_then_a_change_fails_and_is_accepted(
    recorded: Runner, monkeypatch: pytest.MonkeyPatch, xdist_args: list[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    assert_outcomes(recorded.run(*xdist_args), passed=4)
    path = recorded.pytester.path / "snapshots/test_queries/test_two_queries.1.snapq"
    path.write_text(path.read_text().replace("second", "2nd   "))
    result = recorded.run(*xdist_args)
    assert_outcomes(result, passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*snapshots/test_queries/test_two_queries.1.snapq:",
            "*the SQL differs from the snapshot:*",
            "*-  '2nd   ' AS which",
            "*+  'second' AS which",
            "*Accept the change with --snapshot-update*",
        ]
    )
    monkeypatch.delenv("CI")
    result = recorded.run("--snapshot-update", *xdist_args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert "second" in path.read_text()


def test_missing_file_on_ci_fails_and_writes_nothing(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.pytester.makepyfile(test_queries=TESTS)
    monkeypatch.setenv("CI", "true")
    result = runner.run()
    assert_outcomes(result, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*snapq: the snapshot file snapshots/test_queries/test_case?1?.snapq is missing, "
            "and record mode never (default: CI detected) writes nothing*"
        ]
    )
    assert not (runner.pytester.path / "snapshots").exists()


def test_unused_files_are_reported_and_deleted_on_update_but_not_unselected_ones(
    recorded: Runner, xdist_args: list[str]
) -> None:
    test_file = recorded.pytester.path / "test_queries.py"
    test_file.write_text(test_file.read_text().replace("[1, 2, 3]", "[1, 2]"))
    result = recorded.run("--snapq-record=never", *xdist_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 snapshot unused*"])
    # Updating only test_two_queries deletes nothing of test_case.
    recorded.run("--snapshot-update", "-k", "two_queries", *xdist_args)
    assert "snapshots/test_queries/test_case[3].snapq" in snapshot_files(recorded)
    result = recorded.run("--snapshot-update", *xdist_args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert snapshot_files(recorded) == [name for name in FILES if "[3]" not in name]


@pytest.mark.parametrize(
    "damage",
    [b"hand-written notes\n", b"\xff\xfe not utf-8"],
    ids=["not-snapq-format", "not-utf-8"],
)
def test_damaged_file_names_itself(recorded: Runner, damage: bytes) -> None:
    path = recorded.pytester.path / "snapshots/test_queries/test_case[1].snapq"
    path.write_bytes(damage)
    result = recorded.run("--snapq-record=never", "-p", "no:randomly")
    assert_outcomes(result, passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*snapshot file snapshots/test_queries/test_case[[]1[]].snapq*--snapshot-update*"]
    )


def test_snapshot_dir_is_configurable(runner: Runner) -> None:
    runner.pytester.makepyfile(test_queries=TESTS)
    runner.pytester.makeini("[pytest]\nsnapq_snapshot_dir = tests/__data__\n")
    result = runner.run("--snapq-record=missing", "-k", "two_queries")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    written = runner.pytester.path / "tests/__data__/test_queries/test_two_queries.snapq"
    assert written.read_text().startswith("-- snapq: sql\n")


def test_snapshot_and_inline_literals_together_are_refused(runner: Runner) -> None:
    runner.pytester.makepyfile(
        """
        from snapq import assert_query

        def test_both(snapshot):
            assert_query("SELECT 1", sql="SELECT 1", snapshot=snapshot)
        """
    )
    result = runner.run()
    assert_outcomes(result, failed=1)
    result.stdout.fnmatch_lines(["*TypeError: assert_query takes snapshot= or sql=/results=*"])
