"""Pretty-print PostgreSQL with sqlglot, without ever changing what the SQL means.

sqlglot respells some things (``::`` as CAST, ``now()`` as CURRENT_TIMESTAMP,
upper-case interval units, default NULLS FIRST/LAST dropped), all equivalent in
PostgreSQL. Statements it cannot parse, or parses as something other than the
statement they are (``LISTEN foo`` comes back as ``LISTEN AS foo``), are shown as
given, with a note saying so.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# What sqlglot's root expression must be for each leading keyword; anything else is
# shown verbatim.
_ROOTS = {
    "SELECT": ("Select", "Union", "Intersect", "Except"),
    "WITH": ("Select", "Union", "Intersect", "Except", "Insert", "Update", "Delete"),
    "VALUES": ("Values",),
    "INSERT": ("Insert",),
    "UPDATE": ("Update",),
    "DELETE": ("Delete",),
    "(": ("Select", "Union", "Intersect", "Except", "Subquery"),
}
_LEADING_WORD = re.compile(r"\s*(\(|[A-Za-z]+)")


@dataclass(frozen=True)
class Formatted:
    """Display SQL, and why it is not pretty-printed if it is not."""

    text: str
    problem: str | None = None


@functools.lru_cache(maxsize=4096)
def pretty_sql(sql: str) -> Formatted:
    """Return ``sql`` pretty-printed, or as given with the reason it could not be."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    match = _LEADING_WORD.match(sql)
    allowed = _ROOTS.get(match.group(1).upper(), ()) if match else ()
    if not allowed:
        return Formatted(sql.strip())  # DDL, SET, LISTEN...: shown as written, by design
    try:
        expressions = sqlglot.parse(sql, read="postgres", error_level=ErrorLevel.RAISE)
        if len(expressions) != 1 or expressions[0] is None:
            return Formatted(sql.strip(), "more than one statement; shown as compiled")
        expression = expressions[0]
        if type(expression).__name__ not in allowed:
            return Formatted(sql.strip(), "sqlglot misread the statement; shown as compiled")
        text = expression.sql(dialect="postgres", pretty=True, unsupported_level=ErrorLevel.RAISE)
    except (SqlglotError, ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Formatted(sql.strip(), f"sqlglot could not parse it ({reason}); shown as compiled")
    return Formatted(text)
