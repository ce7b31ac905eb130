"""What asyncpg gives, as psycopg gives it: the same rows make the same table.

asyncpg loads ranges, bit strings, geometry and composites as types of its own,
``"char"`` as bytes, ``pg_lsn`` as a number and ``float4`` widened to a double;
psycopg loads these as ranges of its own or as PostgreSQL's text. It keeps no
command status on SQLAlchemy's cursor, and its errors carry their details apart.
Everything else the two drivers load alike (checked value by value in the tests).
"""

from __future__ import annotations

import datetime
import math
import struct
from typing import Any

from snapq._errors import SnapqError

CHAR_OID = 18  # "char": one byte
FLOAT4_OID = 700
PG_LSN_OID = 3220
MULTIRANGE_OIDS = frozenset({4451, 4532, 4533, 4534, 4535, 4536})
ARRAY_ELEMENTS = {1002: CHAR_OID, 1021: FLOAT4_OID, 3221: PG_LSN_OID}
# asyncpg loads 'infinity' and '-infinity' as these, which are values of their own.
_INFINITE_STANDINS = (
    datetime.datetime.max,
    datetime.datetime.min,
    datetime.datetime.max.replace(tzinfo=datetime.UTC),
    datetime.datetime.min.replace(tzinfo=datetime.UTC),
    datetime.date.max,
    datetime.date.min,
)


class AmbiguousValueError(SnapqError):
    """asyncpg loaded a value that stands for two, so no table can say which."""


def as_psycopg_loads(value: Any, type_oid: int | None) -> Any:
    """Return ``value``, loaded by asyncpg from a column of type ``type_oid``, as
    psycopg would have loaded it."""
    if value is None:
        return None
    if type_oid in ARRAY_ELEMENTS and isinstance(value, list):
        element = ARRAY_ELEMENTS[type_oid]
        return [as_psycopg_loads(item, element) for item in value]
    loaded, convert = _BY_TYPE_OID.get(type_oid, (type(None), None))
    if convert is not None and isinstance(value, loaded):
        return convert(value)
    if type_oid in MULTIRANGE_OIDS and isinstance(value, list):
        from psycopg.types.multirange import Multirange

        return Multirange(_converted(value))
    return _converted(value)


def status_of(cursor: Any, statement: str) -> str | None:
    """Return the command status of ``statement``, just run on SQLAlchemy's asyncpg
    cursor: its prepared statement, which the adapter keeps, has it."""
    cache = getattr(getattr(cursor, "_adapt_connection", None), "_prepared_statement_cache", None)
    entry = cache.get(statement) if cache is not None else None
    get_statusmsg = getattr(entry[0], "get_statusmsg", None) if entry else None
    return get_statusmsg() if get_statusmsg is not None else None


def error_details(original: BaseException | None) -> tuple[str | None, str | None]:
    """Return the DETAIL and HINT of an asyncpg error below SQLAlchemy's adapter."""
    cause = getattr(original, "__cause__", None)
    return getattr(cause, "detail", None), getattr(cause, "hint", None)


def _converted(value: Any) -> Any:
    if isinstance(value, list):
        return [_converted(item) for item in value]
    if isinstance(value, datetime.date) and value in _INFINITE_STANDINS:
        msg = (
            f"snapq: asyncpg loads 'infinity' and '-infinity' as {value!r}, so snapq cannot tell "
            "which one the row holds: run this test with --snapq-async-driver=psycopg"
        )
        raise AmbiguousValueError(msg)
    if not type(value).__module__.startswith("asyncpg"):
        return value
    return _own_type(type(value).__name__, value)


def _own_type(name: str, value: Any) -> Any:  # noqa: PLR0911 - one return per type
    """Return a value of one of asyncpg's own types as psycopg loads it: a range of
    psycopg's, or PostgreSQL's text."""
    match name:
        case "Range":
            return _range(value)
        case "BitString":
            return value.as_string()
        case "Record":  # a composite
            return "(" + ",".join(_composite_field(field) for field in value.values()) + ")"
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


def _range(value: Any) -> Any:
    from psycopg.types.range import Range

    if value.isempty:
        return Range(empty=True)
    bounds = ("[" if value.lower_inc else "(") + ("]" if value.upper_inc else ")")
    return Range(_converted(value.lower), _converted(value.upper), bounds)


def _point(point: Any) -> str:
    return f"({_number(point[0])},{_number(point[1])})"


def _number(number: float) -> str:
    """A float8 as PostgreSQL prints it: the shortest exact form, ``1`` not ``1.0``."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return repr(float(number)).removesuffix(".0")


def _shortest_float4(number: float) -> float:
    """Return the float4 that asyncpg widened to ``number`` as psycopg loads it: the
    shortest decimal that reads back as the same float4 (``0.1``, not ``0.10000000149``)."""
    if not math.isfinite(number):
        return number
    single = struct.pack("f", number)
    for digits in range(1, 10):
        shortest = float(f"{number:.{digits}g}")
        if struct.pack("f", shortest) == single:
            return shortest
    return number


def _char(value: bytes) -> str:
    """A ``"char"`` as PostgreSQL prints it: the empty one empty, a byte past ASCII in
    octal (``\\303``)."""
    if value in (b"", b"\x00"):
        return ""
    byte = value[0]
    return chr(byte) if byte < 0x80 else f"\\{byte:03o}"


def _lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _composite_field(value: Any) -> str:
    """One field of a composite in PostgreSQL's text form: empty for NULL, quoted
    where the text would not read back as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "t" if value else "f"
    else:
        converted = _converted(value)
        text = converted if isinstance(converted, str) else str(converted)
    if text == "" or any(character in text for character in '(),"\\ \t\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'
    return text


# The scalar types asyncpg loads otherwise: what it loads, and how psycopg would have.
_BY_TYPE_OID: dict[int | None, tuple[type, Any]] = {
    CHAR_OID: (bytes, _char),
    FLOAT4_OID: (float, _shortest_float4),
    PG_LSN_OID: (int, _lsn),
}
