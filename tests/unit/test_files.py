from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import pytest

from snapq._errors import SnapshotFileError
from snapq._snapshots.files import SnapqSnapshotExtension, parse, serialize

if TYPE_CHECKING:
    from syrupy.location import PyTestLocation

SECTIONS = {"sql": "SELECT 1 AS one", "results": "┌─────┐\n│ one │\n└─────┘"}
FILE_TEXT = """\
-- snapq: sql
SELECT 1 AS one

-- snapq: results
┌─────┐
│ one │
└─────┘
"""


def damaged(location: str) -> str:
    """Return the message of the error for a file that lost snapq's format."""
    return (
        f"snapq: the snapshot file {location} is not in snapq's format: it needs the lines "
        "'-- snapq: sql', '-- snapq: results', once each and in that order. Restore it "
        "from version control, or delete it and run with --snapshot-update to record it again."
    )


# serialize and parse ------------------------------------------------------------------


def test_serialize_writes_each_section_under_its_marker() -> None:
    assert serialize(SECTIONS) == FILE_TEXT


def test_serialize_keeps_the_sections_in_the_order_given() -> None:
    assert serialize({"b": "two", "a": "one"}) == "-- snapq: b\ntwo\n\n-- snapq: a\none\n"


def test_parse_returns_the_lines_between_each_marker_and_the_next() -> None:
    text = "-- snapq: sql\nSELECT 1\n\nFROM t\n-- snapq: results\nrow one\nrow two"
    parsed = parse(text, location="snap.snapq", names=["sql", "results"])
    assert parsed == {"sql": "SELECT 1\n\nFROM t", "results": "row one\nrow two"}


def test_parse_reads_back_what_serialize_wrote_up_to_trailing_newlines() -> None:
    parsed = parse(serialize(SECTIONS), location="snap.snapq", names=list(SECTIONS))
    assert {name: text.rstrip("\n") for name, text in parsed.items()} == SECTIONS


def test_parse_inverts_serialize_exactly() -> None:
    assert parse(serialize(SECTIONS), location="snap.snapq", names=list(SECTIONS)) == SECTIONS


def test_parse_ignores_a_marker_of_a_section_it_was_not_asked_for() -> None:
    text = "-- snapq: sql\nSELECT 1\n-- snapq: notes\nkept in sql"
    assert parse(text, location="snap.snapq", names=["sql"]) == {
        "sql": "SELECT 1\n-- snapq: notes\nkept in sql"
    }


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("-- snapq: sql\nSELECT 1\n", id="missing-marker"),
        pytest.param("SELECT 1\n| one |\n", id="no-markers"),
        pytest.param(
            "-- snapq: sql\nSELECT 1\n-- snapq: results\n| one |\n-- snapq: results\n",
            id="duplicated-marker",
        ),
        pytest.param("-- snapq: results\n| one |\n-- snapq: sql\nSELECT 1\n", id="out-of-order"),
        pytest.param("-- snapq: sql \nSELECT 1\n-- snapq: results\n", id="trailing-space"),
    ],
)
def test_parse_refuses_a_file_without_each_marker_once_in_order(text: str) -> None:
    location = "snapshots/tests/test_orders/test_total.snapq"
    with pytest.raises(SnapshotFileError, match=re.escape(damaged(location))):
        parse(text, location=location, names=["sql", "results"])


def test_a_damaged_file_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not in snapq's format"):
        parse("", location="snap.snapq", names=["sql"])


# Where files live ---------------------------------------------------------------------


def location(filepath: Path) -> PyTestLocation:
    """Return a stand-in for syrupy's test location: dirname reads only its filepath."""
    return cast("PyTestLocation", SimpleNamespace(filepath=str(filepath)))


def test_a_module_in_the_project_gets_a_folder_by_its_relative_path(tmp_path: Path) -> None:
    extension = SnapqSnapshotExtension.bind(root=tmp_path / "snapshots", rootdir=tmp_path)
    module = tmp_path / "tests" / "unit" / "test_orders.py"
    dirname = extension.dirname(test_location=location(module))
    assert dirname == str(tmp_path / "snapshots" / "tests" / "unit" / "test_orders")


def test_a_module_outside_the_project_gets_a_folder_by_its_name(tmp_path: Path) -> None:
    project = tmp_path / "project"
    extension = SnapqSnapshotExtension.bind(root=project / "snapshots", rootdir=project)
    module = tmp_path / "elsewhere" / "test_orders.py"
    dirname = extension.dirname(test_location=location(module))
    assert dirname == str(project / "snapshots" / "test_orders")


def test_bind_makes_a_new_extension_and_leaves_the_base_alone(tmp_path: Path) -> None:
    first = SnapqSnapshotExtension.bind(root=tmp_path / "a" / "snaps", rootdir=tmp_path / "a")
    second = SnapqSnapshotExtension.bind(root=tmp_path / "b" / "shots", rootdir=tmp_path / "b")
    assert issubclass(first, SnapqSnapshotExtension)
    assert (first.root, first.rootdir, first.snapshot_dirname) == (
        tmp_path / "a" / "snaps",
        tmp_path / "a",
        "snaps",
    )
    assert (second.root, second.snapshot_dirname) == (tmp_path / "b" / "shots", "shots")
    assert (SnapqSnapshotExtension.root, SnapqSnapshotExtension.rootdir) == (
        Path("snapshots"),
        Path(),
    )


def test_snapshot_files_are_not_named_like_doctest_text_files() -> None:
    assert SnapqSnapshotExtension.file_extension == "snapq"
