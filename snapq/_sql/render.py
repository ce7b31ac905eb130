"""Draw a query's outcome as text: a table of rows, a command status, or an error.

Pure: PostgreSQL's text output in, a drawing out. A cell is the value as psql prints
it; snapq adds only what a reader needs on top: NULL told apart from the strings
that look like it, strings that could be misread shown quoted, numbers
right-aligned. tabulate lays the cells out as they are (its own number parsing
would turn '007' into 7 and '1.10' into 1.1).
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Sequence

from snapq._sql.result import PLACEHOLDER, Cell, Column, MaskedCell, QueryError, QueryResult

NULL = "NULL"
IGNORED_CELL = "<ignored>"  # a value of a column named in ignore=
# The types psql right-aligns (print.c's column_type_alignment): int2, int4, int8,
# oid, xid, cid, float4, float8, money, numeric and xid8. A domain's column reports
# its base type.
NUMERIC_TYPES = frozenset({20, 21, 23, 26, 28, 29, 700, 701, 790, 1700, 5069})
JSON_TYPES = frozenset({114, 3802})  # json and jsonb
# Characters that would break a table line or reach the terminal as commands: C0 and
# C1 controls but newline, DEL, and Unicode's line and paragraph separators.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def render_result(result: QueryResult) -> str:
    """Return the text that stands for ``result`` in a snapshot."""
    if result.error is not None:
        return render_error(result.error)
    if not result.returns_rows:
        return result.status or "OK"
    return render_table(result.columns, result.rows, ignored=result.ignored)


def render_error(error: QueryError) -> str:
    lines = [f"ERROR {error.sqlstate}: {error.message}"]
    if error.detail:
        lines.append(f"DETAIL: {error.detail}")
    if error.hint:
        lines.append(f"HINT: {error.hint}")
    return "\n".join(lines)


def render_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    ignored: frozenset[str] = frozenset(),
) -> str:
    """Draw rows under a header, numbers right-aligned, then the row count."""

    masked = [column.name in ignored for column in columns]
    cells = [
        [
            IGNORED_CELL if mask else format_cell(value, column)
            for value, column, mask in zip(row, columns, masked, strict=True)
        ]
        for row in rows
    ]
    numeric = [
        not mask and column.type_oid in NUMERIC_TYPES
        for column, mask in zip(columns, masked, strict=True)
    ]
    headers = [column.name for column in columns]
    table = _plain_table(headers, cells, numeric)
    if table is None:
        from tabulate import tabulate

        table = tabulate(
            cells,
            headers=headers,
            tablefmt="simple_outline",
            disable_numparse=True,
            preserve_whitespace=True,
            colalign=["right" if is_number else "left" for is_number in numeric],
        )
    count = len(rows)
    return f"{table}\n({count} row{'' if count == 1 else 's'})"


def _plain_table(
    headers: Sequence[str], cells: Sequence[Sequence[str]], right: Sequence[bool]
) -> str | None:
    """Lay out a table exactly as tabulate's simple_outline does (with the options
    above), for the usual case alone: at least one row and one column, and every name
    and cell printable ASCII on one line, one character a column. None otherwise:
    tabulate lays it out (wide characters, multi-line cells, no rows...).

    tabulate costs more than the rest of the drawing: it works out each column's
    type, which the options then ignore. Tests check this against tabulate itself.
    """
    if not cells or not headers:
        return None
    names = [str(name) for name in headers]
    texts = [[f"{cell}" for cell in row] for row in cells]  # as tabulate formats a cell
    if not all(_plain(text) for text in names) or not all(
        _plain(text) for row in texts for text in row
    ):
        return None
    widths = [len(name) + 2 for name in names]  # tabulate's minimum padding of a header
    for row in texts:
        widths = [max(width, len(text)) for width, text in zip(widths, row, strict=True)]
    rules = ["─" * (width + 2) for width in widths]
    lines = [
        f"┌{'┬'.join(rules)}┐",
        _plain_row(names, widths, right),
        f"├{'┼'.join(rules)}┤",
        *(_plain_row(row, widths, right) for row in texts),
        f"└{'┴'.join(rules)}┘",
    ]
    return "\n".join(lines)


def _plain(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _plain_row(texts: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    cells = (
        text.rjust(width) if is_right else text.ljust(width)
        for text, width, is_right in zip(texts, widths, right, strict=True)
    )
    return f"│ {' │ '.join(cells)} │"


def format_cell(text: Cell, column: Column | None = None) -> str:
    """Show one value's text exactly and unambiguously.

    NULL is ``NULL``. A text that could be mistaken for something else (empty, the
    word NULL, surrounding whitespace, a quoted cell, control or invisible
    characters) is shown as a Python string literal; any other text as it is.
    """
    if text is None:
        return NULL
    type_oid = column.type_oid if column is not None else None
    if type_oid in NUMERIC_TYPES:
        return text
    if (
        not text
        or text in (NULL, IGNORED_CELL)
        or (not isinstance(text, MaskedCell) and PLACEHOLDER.fullmatch(text) is not None)
        or text != text.strip()
        or any(line != line.rstrip() for line in text.split("\n"))
        or (type_oid not in JSON_TYPES and _reads_as_a_quoted_cell(text))
        or _CONTROL.search(text)
        or (not text.isascii() and _has_invisible_characters(text))
    ):
        return repr(text)
    return text


def _has_invisible_characters(text: str) -> bool:
    """Tell whether ``text`` holds a format character: a zero-width space or joiner,
    a direction mark, a byte-order mark. A reader cannot see them, and bidirectional
    controls reorder what is shown."""
    return any(unicodedata.category(character) == "Cf" for character in text)


def _reads_as_a_quoted_cell(text: str) -> bool:
    """Tell whether ``text`` is itself a Python string literal, as the cells that
    snapq quotes are: it must be quoted too, or the two would look alike."""
    if len(text) < 2 or text[0] not in "'\"" or text[-1] != text[0]:
        return False
    try:
        return isinstance(ast.literal_eval(text), str)
    except (ValueError, SyntaxError):
        return False
