"""File snapshots through syrupy: one human-readable text file per assertion.

A file holds the SQL and the results table under two marker lines::

    -- snapq: sql
    SELECT ...

    -- snapq: results
    ┌────┐
    ...

Files live under the project's snapshot directory (``snapshots/`` by default), in a
folder per test module, named after the test (and its parameters), with syrupy's
index for a second assertion in one test. syrupy does the bookkeeping: reading,
writing, unused-file detection and clean-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from snapq._errors import SnapqError
from snapq._recorder import display_path

if TYPE_CHECKING:
    from syrupy.location import PyTestLocation

SQL_MARKER = "-- snapq: sql"
RESULTS_MARKER = "-- snapq: results"


class SnapshotFileError(SnapqError, ValueError):
    """A snapshot file that is not in snapq's format: damaged or edited by hand."""


def serialize(sql: str, results: str) -> str:
    """Return the text of a snapshot file."""
    return f"{SQL_MARKER}\n{sql}\n\n{RESULTS_MARKER}\n{results}\n"


def parse(text: str, *, location: str) -> tuple[str, str]:
    """Return (sql, results) from a snapshot file's text, or raise naming the file."""
    __tracebackhide__ = True
    lines = text.split("\n")
    if lines.count(SQL_MARKER) != 1 or lines.count(RESULTS_MARKER) != 1:
        msg = (
            f"snapq: the snapshot file {location} is not in snapq's format: it needs one "
            f"{SQL_MARKER!r} line and one {RESULTS_MARKER!r} line. Restore it from version "
            "control, or delete it and run with --snapshot-update to record it again."
        )
        raise SnapshotFileError(msg)
    sql_at, results_at = lines.index(SQL_MARKER), lines.index(RESULTS_MARKER)
    if results_at < sql_at:
        msg = f"snapq: the snapshot file {location} has its results before its SQL."
        raise SnapshotFileError(msg)
    return "\n".join(lines[sql_at + 1 : results_at]), "\n".join(lines[results_at + 1 :])


class SnapqSnapshotExtension(SingleFileSnapshotExtension):
    """syrupy extension for snapq's files; ``bind`` makes one for a project."""

    _write_mode = WriteMode.TEXT
    # Not .txt: pytest collects test*.txt files as doctests.
    file_extension = "snapq"
    root: ClassVar[Path] = Path("snapshots")
    rootdir: ClassVar[Path] = Path()

    @classmethod
    def bind(cls, *, root: Path, rootdir: Path) -> type[SnapqSnapshotExtension]:
        """Return the extension for a project whose snapshots live in ``root``."""
        attributes = {"root": root, "rootdir": rootdir, "snapshot_dirname": root.name}
        return type(cls.__name__, (cls,), attributes)

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        module = Path(test_location.filepath).with_suffix("")
        try:
            module = module.relative_to(cls.rootdir)
        except ValueError:
            module = Path(module.name)  # a test outside the project: by name only
        return str(cls.root / module)

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> Any:
        try:
            return super().read_snapshot_data_from_location(
                snapshot_location=snapshot_location,
                snapshot_name=snapshot_name,
                session_id=session_id,
            )
        except (UnicodeDecodeError, IsADirectoryError, PermissionError) as error:
            msg = (
                f"snapq: cannot read the snapshot file {display_path(snapshot_location)}: "
                f"{error}. "
                "Restore it from version control, or delete it and run with "
                "--snapshot-update to record it again."
            )
            raise SnapshotFileError(msg) from None
