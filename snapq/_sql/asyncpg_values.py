"""Values as psycopg loads them, from what asyncpg loaded: the same rows make the same table.

asyncpg has types of its own for ranges, bit strings and geometry, loads ``"char"``
as bytes and ``pg_lsn`` as a number; psycopg loads these as ranges of its own or as
PostgreSQL's text. Everything else the two drivers load alike (checked value by
value in the tests).
"""

from __future__ import annotations

from typing import Any

CHAR_OID = 18  # "char": one byte
PG_LSN_OID = 3220
MULTIRANGE_OIDS = frozenset({4451, 4532, 4533, 4534, 4535, 4536})


def as_psycopg_loads(value: Any, type_oid: int | None) -> Any:
    """Return ``value``, loaded by asyncpg from a column of type ``type_oid``, as
    psycopg would have loaded it."""
    if value is None:
        return None
    if type_oid == CHAR_OID and isinstance(value, bytes):
        return value.decode("latin-1")
    if type_oid == PG_LSN_OID and isinstance(value, int):
        return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"
    if type_oid in MULTIRANGE_OIDS and isinstance(value, list):
        from psycopg.types.multirange import Multirange

        return Multirange(_converted(value))
    return _converted(value)


def _converted(value: Any) -> Any:
    if isinstance(value, list):
        return [_converted(item) for item in value]
    module = type(value).__module__
    if not module.startswith("asyncpg"):
        return value
    name = type(value).__name__
    if name == "Range":
        from psycopg.types.range import Range

        if value.isempty:
            return Range(empty=True)
        bounds = ("[" if value.lower_inc else "(") + ("]" if value.upper_inc else ")")
        return Range(value.lower, value.upper, bounds)
    if name == "BitString":
        return value.as_string()
    return _geometry(name, value)


def _geometry(name: str, value: Any) -> Any:  # noqa: PLR0911 - one return per type
    """Return a geometric value in PostgreSQL's text form, as psycopg loads it."""
    match name:
        case "Point":
            return _point(value)
        case "Box":
            return f"{_point(value[0])},{_point(value[1])}"
        case "LineSegment":
            return f"[{_point(value[0])},{_point(value[1])}]"
        case "Line":
            return "{" + ",".join(_number(part) for part in value) + "}"
        case "Circle":
            return f"<{_point(value[0])},{_number(value[1])}>"
        case "Path" | "Polygon":
            points = ",".join(_point(point) for point in value.points)
            closed = name == "Polygon" or value.is_closed
            return f"({points})" if closed else f"[{points}]"
    return value


def _point(point: Any) -> str:
    return f"({_number(point[0])},{_number(point[1])})"


def _number(number: float) -> str:
    """A float8 as PostgreSQL prints it: the shortest exact form, ``1`` not ``1.0``."""
    text = repr(float(number))
    return text.removesuffix(".0")
