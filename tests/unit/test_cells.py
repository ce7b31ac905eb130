"""The changed cells that a results failure names, read back from the drawn tables."""

from __future__ import annotations

from snapq._snapshots.cells import MOST_CELLS, changed_cells
from snapq._sql.render import render_table
from snapq._sql.result import Column

COLUMNS = (Column("id", 23), Column("name", 25), Column("total", 23))


def table(*rows: tuple[object, ...], columns: tuple[Column, ...] = COLUMNS) -> str:
    return render_table(columns, rows)


def test_each_changed_cell_is_named_by_row_and_column() -> None:
    before = table((1, "a", 10), (2, "b", 20), (3, "c", 30))
    after = table((1, "a", 10), (2, "B", 20), (3, "c", 31))
    assert changed_cells(before, after) == [
        "row 2, column name: b → B",
        "row 3, column total: 30 → 31",
    ]


def test_cells_are_shown_as_drawn_with_null_and_quoted_strings() -> None:
    assert changed_cells(table((1, None, 1)), table((1, " x", 1))) == [
        "row 1, column name: NULL → ' x'"
    ]


def test_nothing_is_said_when_the_shape_changed() -> None:
    rows = ((1, "a", 10), (2, "b", 20))
    assert changed_cells(table(*rows), table(*rows[:1])) == []  # a row less
    other = (Column("id", 23), Column("title", 25), Column("total", 23))
    assert changed_cells(table(*rows), table(*rows, columns=other)) == []  # a column renamed
    assert changed_cells(table(*rows), "(0 rows)") == []
    assert changed_cells("UPDATE 1", "UPDATE 2") == []


def test_nothing_is_said_where_the_drawing_is_ambiguous() -> None:
    # A value over two lines: its continuation line is no row of its own.
    assert changed_cells(table((1, "a\nb", 1)), table((1, "a\nc", 1))) == []
    # A value holding the border character.
    assert changed_cells(table((1, "a│b", 1)), table((1, "a│c", 1))) == []
    # A value over two lines in a table of one column, where no other cell is empty.
    one = (Column("note", 25),)
    before = table(("line one\nline two",), ("x",), columns=one)
    after = table(("line one\nline 2",), ("x",), columns=one)
    assert changed_cells(before, after) == []


def test_a_long_list_is_cut() -> None:
    before = table(*((number, "a", number) for number in range(30)))
    after = table(*((number, "b", number) for number in range(30)))
    changes = changed_cells(before, after)
    assert len(changes) == MOST_CELLS + 1
    assert changes[-1] == f"... and {30 - MOST_CELLS} more cells"
