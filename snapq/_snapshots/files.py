"""File snapshots through syrupy: one human-readable text file per assertion.

A file holds sections under marker lines; for ``assert_query``, the SQL and the
results table::

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

from snapq._errors import SnapshotFileError
from snapq._snapshots.locations import display_path

if TYPE_CHECKING:
    from syrupy.location import PyTestLocation

MARKER = "-- snapq: "


def serialize(sections: dict[str, str]) -> str:
    """Return the text of a snapshot file: each section under its marker line."""
    return "\n\n".join(f"{MARKER}{name}\n{text}" for name, text in sections.items()) + "\n"


def parse(text: str, *, location: str, names: list[str]) -> dict[str, str]:
    """Return the sections of a snapshot file's text, or raise naming the file."""
    __tracebackhide__ = True
    lines = text.split("\n")
    markers = [f"{MARKER}{name}" for name in names]
    positions = [lines.index(marker) if lines.count(marker) == 1 else -1 for marker in markers]
    if -1 in positions or positions != sorted(positions):
        expected = ", ".join(repr(marker) for marker in markers)
        msg = (
            f"snapq: the snapshot file {location} is not in snapq's format: it needs the "
            f"lines {expected}, once each and in that order. Restore it from version "
            "control, or delete it and run with --snapshot-update to record it again."
        )
        raise SnapshotFileError(msg)
    ends = [*positions[1:], len(lines)]
    # Each section ends with the newline that serialize puts before the next marker
    # (or at the end of the file).
    return {
        name: "\n".join(lines[start + 1 : end]).removesuffix("\n")
        for name, start, end in zip(names, positions, ends, strict=True)
    }


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
