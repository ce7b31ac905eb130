"""Read a result as PostgreSQL's own text output, from psycopg's result itself.

snapq's connections receive every value in PostgreSQL's text format: the text that
psql prints, exact for every type (infinity, BC dates, intervals, array bounds,
composites, JSON as stored), where a Python value could not hold them all.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from snapq._errors import UnshowableValueError
from snapq._sql.result import Cell

TEXT_FORMAT = 0


def is_psycopg_cursor(cursor: object) -> bool:
    psycopg = sys.modules.get("psycopg")  # imported by the driver, if in use
    return psycopg is not None and isinstance(cursor, psycopg.Cursor | psycopg.AsyncCursor)


def is_asyncpg_connection(driver: object) -> bool:
    asyncpg = sys.modules.get("asyncpg")  # imported by the driver, if in use
    return asyncpg is not None and isinstance(driver, asyncpg.Connection)


def rows_of(cursor: Any) -> tuple[tuple[Cell, ...], ...] | None:
    """Return the rows of psycopg ``cursor``'s current result as PostgreSQL's text
    (None: it has no result)."""
    import psycopg

    result = cursor.pgresult
    if result is None:
        return None
    if isinstance(cursor, psycopg.ServerCursor | psycopg.AsyncServerCursor):
        msg = (
            "snapq: this statement ran on a server-side cursor (stream_results or yield_per), "
            "which has fetched no rows yet: assert_query needs every row, so run it without"
        )
        raise UnshowableValueError(msg)
    fields = range(result.nfields)
    if any(result.fformat(field) != TEXT_FORMAT for field in fields):
        msg = (
            "snapq: this statement's result came in PostgreSQL's binary format, and snapq "
            "shows each value as PostgreSQL's text: run it on a cursor in text format "
            "(psycopg's default; not binary=True)"
        )
        raise UnshowableValueError(msg)
    encoding = cursor.connection.info.encoding
    value = result.get_value
    return tuple(
        tuple(
            None if (data := value(row, field)) is None else data.decode(encoding)
            for field in fields
        )
        for row in range(result.ntuples)
    )


def load_nothing(cursor: Any) -> None:
    """Make psycopg ``cursor`` load every value of the types it knows as None.

    Only snapq's own execution does this, so its rows are read as text alone; the
    cursor's own adapters are a copy (psycopg copies on write), so the connection
    and the test's queries load values as usual. A type psycopg does not know it
    loads as text already.
    """
    adapters = cursor.adapters
    loader = _nothing_loader()
    for oid in _known_oids(adapters.types):
        adapters.register_loader(oid, loader)


def _known_oids(types: Any) -> set[int]:
    oids = set()
    for info in types:
        oids.add(info.oid)
        if info.array_oid:
            oids.add(info.array_oid)
    return oids


@functools.cache
def _nothing_loader() -> type[Any]:
    from psycopg.adapt import Loader

    class LoadNothing(Loader):
        def load(self, data: Any) -> None:
            return None

    return LoadNothing
