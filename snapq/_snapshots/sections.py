"""What a snapshot holds: named sections, each an inline keyword or a part of a file.

``assert_query`` checks ``sql`` and ``results``; ``assert_queries`` checks the
statements of a block (``sql=`` inline, ``queries`` in a file). A new kind of
section (a query plan, say) is one more entry here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One section: its name (the keyword, and the file's marker), where a new keyword
    is inserted among the others, how a failure says it changed, and whether it holds
    a table (whose failures name the changed cells)."""

    name: str
    order: int
    differs: str
    table: bool = False


SECTIONS = {
    section.name: section
    for section in (
        Section("sql", 0, "the SQL differs"),
        Section("results", 1, "the results differ", table=True),
        Section("queries", 2, "the queries differ"),
    )
}


def section(name: str) -> Section:
    """Return the section called ``name``."""
    return SECTIONS[name]
