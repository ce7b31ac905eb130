"""Which cells of a results table changed: the line diff shows a whole row, this names
the cell, so that a change in a wide table is seen at once.

Pure text: the tables are read back from their drawing (``snapq._sql.render``).
Where that cannot be done for sure, nothing is said, and the line diff stands alone.
"""

from __future__ import annotations

import re

CELL_BORDER = "│"
MOST_CELLS = 10  # the most changed cells a failure lists
_ROW_COUNT = re.compile(r"\(([0-9]+) rows?\)")


def changed_cells(expected: str, actual: str) -> list[str]:
    """Return ``row 3, column total: 10 → 12`` for each cell that differs, when both
    texts are tables with the same columns and as many rows; else nothing."""
    changes = [
        f"row {number}, column {name}: {old} → {new}"
        for number, name, old, new in cell_changes(expected, actual) or []
    ]
    if len(changes) > MOST_CELLS:
        left_out = len(changes) - MOST_CELLS
        changes = [*changes[:MOST_CELLS], f"... and {left_out} more cells"]
    return changes


def cell_changes(expected: str, actual: str) -> list[tuple[int, str, str, str]] | None:
    """Return (row, column, old, new) for each cell that differs, when both texts are
    tables with the same columns and as many rows; else None."""
    before, after = _read_table(expected), _read_table(actual)
    if before is None or after is None or before[0] != after[0]:
        return None
    header, old_rows = before
    new_rows = after[1]
    if len(old_rows) != len(new_rows):
        return None
    return [
        (number, name, old, new)
        for number, (old_row, new_row) in enumerate(zip(old_rows, new_rows, strict=True), 1)
        for name, old, new in zip(header, old_row, new_row, strict=True)
        if old != new
    ]


def _read_table(text: str) -> tuple[list[str], list[list[str]]] | None:
    """Return a drawn table's header and rows of cells, or None where the drawing does
    not say for sure: a cell holding the border character, or a value over several
    lines (more lines than the rows the table counts)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    bodies = [line for line in lines if line.startswith(CELL_BORDER)]
    if not bodies or not (count := _ROW_COUNT.fullmatch(lines[-1])):
        return None
    header, *rows = [_cells(line) for line in bodies]
    if len(rows) != int(count.group(1)):  # a value over several lines
        return None
    if any(len(row) != len(header) for row in rows):
        return None
    return header, rows


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip(CELL_BORDER).split(CELL_BORDER)]
