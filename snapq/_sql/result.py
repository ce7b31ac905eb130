"""What a statement produced, as it passes from ``execute`` to ``render``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON_TYPES = {114, 3802}  # PostgreSQL type OIDs of json and jsonb


class _JsonNull:
    """JSON's ``null`` as a whole json or jsonb value, which is not SQL's NULL."""

    def __repr__(self) -> str:
        return "JSON_NULL"


JSON_NULL = _JsonNull()


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
    rows: tuple[tuple[Any, ...], ...] = ()
    returns_rows: bool = False
    status: str | None = None
    error: QueryError | None = None
    ignored: frozenset[str] = field(default_factory=frozenset)
