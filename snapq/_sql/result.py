"""What a statement produced, as it passes from ``execute`` to ``render``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A cell is PostgreSQL's own text output of the value (what psql prints), or None for
# SQL's NULL.
Cell = str | None
# What a mask puts in place of a volatile value: <uuid 1>, <now>.
PLACEHOLDER = re.compile(r"<[a-z_][a-z0-9_]*(?: [0-9]+)?>")


class MaskedCell(str):
    """A cell's text after a mask replaced what changes from run to run in it."""

    __slots__ = ()


@dataclass(frozen=True)
class Column:
    """A result column: its name, and PostgreSQL's type OID where known."""

    name: str
    type_oid: int | None = None


@dataclass(frozen=True)
class QueryError:
    """A database error, as PostgreSQL reported it."""

    sqlstate: str
    message: str
    detail: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class QueryResult:
    """What a statement produced: rows, a command status, or an error."""

    columns: tuple[Column, ...] = ()
    rows: tuple[tuple[Cell, ...], ...] = ()
    returns_rows: bool = False
    status: str | None = None
    error: QueryError | None = None
    ignored: frozenset[str] = field(default_factory=frozenset)
