"""Draw a query's outcome as text: a table of rows, a command status, or an error.

Pure: values in, text out. Cells are formatted here, exactly, before tabulate
lays them out (tabulate's own number parsing would turn '007' into 7 and
Decimal('1.10') into 1.1).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import math
import re
import uuid
from collections.abc import Sequence
from typing import Any

from snapq._sql.result import JSON_NULL, JSON_TYPES, Column, QueryError, QueryResult

NULL = "NULL"
IGNORED_CELL = "<ignored>"  # a value of a column named in ignore=
# Characters that would break a table line or reach the terminal as commands: C0 and
# C1 controls but newline, DEL, and Unicode's line and paragraph separators.
_ARRAY_SPECIAL = re.compile(r'[{},"\\\s]|[\x00-\x1f\x7f-\x9f\u2028\u2029]')
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
    rows: Sequence[Sequence[Any]],
    *,
    ignored: frozenset[str] = frozenset(),
) -> str:
    """Draw rows under a header, numbers right-aligned, then the row count."""
    from tabulate import tabulate

    masked = [column.name in ignored for column in columns]
    cells = [
        [
            IGNORED_CELL if mask else format_cell(value, column)
            for value, column, mask in zip(row, columns, masked, strict=True)
        ]
        for row in rows
    ]
    numeric = [
        not mask and _all_numbers(row[index] for row in rows) for index, mask in enumerate(masked)
    ]
    table = tabulate(
        cells,
        headers=[column.name for column in columns],
        tablefmt="simple_outline",
        disable_numparse=True,
        preserve_whitespace=True,
        colalign=["right" if is_number else "left" for is_number in numeric],
    )
    count = len(rows)
    return f"{table}\n({count} row{'' if count == 1 else 's'})"


def _all_numbers(values: Any) -> bool:
    seen = False
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
            return False
        seen = True
    return seen


def format_cell(value: Any, column: Column | None = None) -> str:
    """Format one value exactly and unambiguously.

    NULL is ``NULL``, JSON's null ``null``; a string that could be mistaken for
    something else (empty, 'NULL', surrounding whitespace, a leading quote, control
    characters) is shown as a Python string literal; other strings as they are.
    """
    if value is None:
        return NULL
    if value is JSON_NULL:
        return "null"
    if column is not None and column.type_oid in JSON_TYPES:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _format_value(value, top=True)


def _format_value(value: Any, *, top: bool) -> str:  # noqa: PLR0911 - one return per type
    if value is None:
        return NULL
    if value is JSON_NULL:  # an element of a json[] or jsonb[]
        return "null"
    if isinstance(value, enum.Enum):  # before str and int: a StrEnum is both
        return value.name
    if isinstance(value, str):
        return _format_text(value) if top else _array_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, int | decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if isinstance(value, list | tuple):
        return "{" + ",".join(_format_value(item, top=False) for item in value) + "}"
    return str(value)


def _format_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _format_text(text: str) -> str:
    if (
        not text
        or text in (NULL, IGNORED_CELL)
        or text != text.strip()
        or any(line != line.rstrip() for line in text.split("\n"))
        or text[0] in "'\""
        or _CONTROL.search(text)
    ):
        return repr(text)
    return text


def _array_text(text: str) -> str:
    """Quote an array element as PostgreSQL does when it needs quoting; show control
    characters as escapes."""
    if text and text.upper() != NULL and not _ARRAY_SPECIAL.search(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", escaped)
    return f'"{escaped}"'
