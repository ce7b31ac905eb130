"""asyncpg's values as PostgreSQL's text: what psql prints, as snapq shows it.

psycopg gives snapq each value's text itself (``pg_text``). asyncpg gives only the
Python values it decodes, so snapq writes their text as PostgreSQL's output
functions do, under the settings snapq pins (ISO dates, UTC). Where asyncpg's value
stands for more than one of PostgreSQL's, snapq refuses rather than guess:
intervals (months become 30 days), JSON (decoded by SQLAlchemy: a JSON null is None
like SQL's NULL, 1.10 becomes 1.1) and the 'infinity' dates (datetime.max).

asyncpg also keeps no command status on SQLAlchemy's cursor, and its errors carry
their details apart.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import math
import re
import struct
import uuid
from typing import Any

from snapq._errors import UnshowableValueError
from snapq._sql.result import Cell

CHAR_OID = 18  # "char": one byte
FLOAT4_OID = 700
PG_LSN_OID = 3220
BOX_OID = 603
# Columns whose every value asyncpg decodes into something that stands for several
# of PostgreSQL's values: interval, json, jsonb, and their arrays.
REFUSED_TYPES = {
    1186: "interval",
    1187: "interval[]",
    114: "json",
    199: "json[]",
    3802: "jsonb",
    3807: "jsonb[]",
    1266: "timetz",
    1270: "timetz[]",
}
_WHY_REFUSED = {
    "interval": "asyncpg loads an interval as a timedelta, where a month is 30 days "
    "('1 mon' and '30 days' look alike)",
    "json": "SQLAlchemy's asyncpg dialect decodes JSON, so a JSON null looks like SQL's "
    "NULL and 1.10 like 1.1",
    "timetz": "asyncpg loads a time zone offset in whole minutes ('+05:30:15' and "
    "'+05:30' look alike)",
}
MULTIRANGE_OIDS = frozenset({4451, 4532, 4533, 4534, 4535, 4536})
MULTIRANGE_ARRAYS = {6150: 4451, 6151: 4532, 6152: 4533, 6153: 4534, 6155: 4535, 6157: 4536}
TID_OID = 27
SNAPSHOT_OIDS = frozenset({2970, 5038})  # txid_snapshot, pg_snapshot
ARRAY_ELEMENTS = {
    1002: CHAR_OID,
    1021: FLOAT4_OID,
    3221: PG_LSN_OID,
    1020: BOX_OID,
    1010: TID_OID,
    2949: 2970,
    5039: 5038,
    **MULTIRANGE_ARRAYS,
}
# asyncpg loads 'infinity' and '-infinity' as these, which are values of their own.
_INFINITE_STANDINS = (
    datetime.datetime.max,
    datetime.datetime.min,
    datetime.datetime.max.replace(tzinfo=datetime.UTC),
    datetime.datetime.min.replace(tzinfo=datetime.UTC),
    datetime.date.max,
    datetime.date.min,
)
_ARRAY_QUOTED = re.compile(r'[{}"\\ \t\n\r\v\f]')
_FIELD_QUOTED = re.compile(r'[(),"\\ \t\n\r\v\f]')
_BOUND_QUOTED = re.compile(r'[()\[\],"\\ \t\n\r\v\f]')


def refused_column(name: str, type_oid: int | None) -> UnshowableValueError | None:
    """Return the error for a column whose values asyncpg cannot give exactly."""
    refused = REFUSED_TYPES.get(type_oid) if type_oid is not None else None
    if refused is None:
        return None
    why = _WHY_REFUSED[refused.removesuffix("[]").removesuffix("b")]
    msg = (
        f"snapq: column {name!r} is {refused}, and {why}, so snapq cannot show its values "
        "as PostgreSQL prints them: run this test with --snapq-async-driver=psycopg, or "
        f"leave the column out with ignore=[{name!r}]"
    )
    return UnshowableValueError(msg)


def asyncpg_text(value: Any, type_oid: int | None) -> Cell:
    """Return PostgreSQL's text of ``value``, loaded by asyncpg from a column of type
    ``type_oid``."""
    if value is None:
        return None
    element = ARRAY_ELEMENTS.get(type_oid) if type_oid is not None else None
    if element is not None and isinstance(value, list):
        return _array(value, element)
    return _text(value, type_oid)


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


def _text(value: Any, type_oid: int | None = None) -> str:  # noqa: PLR0911 - one per type
    if type_oid in MULTIRANGE_OIDS and isinstance(value, list):
        return "{" + ",".join(_range(item) for item in value) + "}"
    if type(value) is tuple:  # not one of asyncpg's geometry types, which are tuples too
        return _tuple(value, type_oid)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return _lsn(value) if type_oid == PG_LSN_OID else str(value)
    if isinstance(value, float):
        return _float(value, single=type_oid == FLOAT4_OID)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return _char(value) if type_oid == CHAR_OID else "\\x" + value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date):
        return _date_or_time(value)
    if isinstance(value, datetime.time):
        return _time(value)
    if isinstance(value, list):
        return _array(value, type_oid)
    return _object(value)


def _object(value: Any) -> str:
    """The text of an address, or of a value of one of asyncpg's own types."""
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):  # inet
        address = _address(value.ip)
        whole = value.network.prefixlen == value.max_prefixlen
        return address if whole else f"{address}/{value.network.prefixlen}"
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):  # cidr
        return f"{_address(value.network_address)}/{value.prefixlen}"
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return _address(value)
    return _own_type(type(value).__name__, value)


def _date_or_time(value: datetime.date) -> str:
    if value in _INFINITE_STANDINS:
        msg = (
            f"snapq: asyncpg loads 'infinity' and '-infinity' as {value!r}, so snapq cannot tell "
            "which one the row holds: run this test with --snapq-async-driver=psycopg"
        )
        raise UnshowableValueError(msg)
    if not isinstance(value, datetime.datetime):
        return value.isoformat()
    if value.tzinfo is not None:  # timestamptz, in the time zone snapq pins (UTC)
        value = value.astimezone(datetime.UTC)
        return f"{value.date().isoformat()} {_time(value.time())}+00"
    return f"{value.date().isoformat()} {_time(value.time())}"


def _time(value: datetime.time) -> str:
    text = f"{value.hour:02}:{value.minute:02}:{value.second:02}"
    if value.microsecond:
        text += f".{value.microsecond:06}".rstrip("0")
    offset = value.utcoffset()
    if offset is None:
        return text
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    text += f"{sign}{hours:02}"
    if minutes or seconds:
        text += f":{minutes:02}"
    if seconds:
        text += f":{seconds:02}"
    return text


def _float(number: float, *, single: bool) -> str:
    """A float as PostgreSQL prints it: the shortest text that reads back as the same
    float8 (or float4), in exponent form from 1e15 (1e6 for float4) and below 1e-4."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    shortest = _shortest_float4(number) if single else repr(number)
    sign, digits, exponent = decimal.Decimal(shortest).normalize().as_tuple()
    assert isinstance(exponent, int)  # a finite number's
    power = len(digits) - 1 + exponent
    if power < -4 or power >= (6 if single else 15):
        text = "".join(map(str, digits))
        mantissa = text[0] + (f".{text[1:]}" if len(text) > 1 else "")
        text = f"{mantissa}e{'-' if power < 0 else '+'}{abs(power):02}"
    else:
        text = format(decimal.Decimal((0, digits, exponent)), "f")
    return ("-" if sign else "") + text


def _shortest_float4(number: float) -> str:
    """Return the shortest decimal text that reads back as the float4 that asyncpg
    widened to ``number`` (``0.1``, not ``0.10000000149011612``)."""
    single = struct.pack("f", number)
    for digits in range(1, 10):
        shortest = f"{number:.{digits}g}"
        if struct.pack("f", float(shortest)) == single:
            return shortest
    return repr(number)


def _char(value: bytes) -> str:
    """A ``"char"`` as PostgreSQL prints it: the empty one empty, a byte past ASCII in
    octal (``\\303``)."""
    if value in (b"", b"\x00"):
        return ""
    byte = value[0]
    return chr(byte) if byte < 0x80 else f"\\{byte:03o}"


def _lsn(value: int) -> str:
    value &= 0xFFFF_FFFF_FFFF_FFFF  # asyncpg gives a signed number
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _tuple(value: tuple[Any, ...], type_oid: int | None) -> str:
    """What asyncpg gives as a tuple: a tid, a snapshot, or an anonymous row."""
    if type_oid == TID_OID:
        return f"({value[0]},{value[1]})"
    if type_oid in SNAPSHOT_OIDS:
        xmin, xmax, running = value
        return f"{xmin}:{xmax}:" + ",".join(str(xid) for xid in running)
    return "(" + ",".join(_field(field) for field in value) + ")"


def _array(items: list[Any], element: int | None) -> str:
    """An array as array_out writes it: elements quoted where they would not read
    back, NULL unquoted, ``;`` between boxes."""
    delimiter = ";" if element == BOX_OID else ","
    return "{" + delimiter.join(_array_element(item, element) for item in items) + "}"


def _array_element(item: Any, element: int | None) -> str:
    if item is None:
        return "NULL"
    a_multirange = element in MULTIRANGE_OIDS and not any(isinstance(x, list) for x in item or ())
    if isinstance(item, list) and not a_multirange:  # another dimension
        return _array(item, element)
    text = _text(item, element)
    delimiter = ";" if element == BOX_OID else ","
    if text == "" or text.upper() == "NULL" or delimiter in text or _ARRAY_QUOTED.search(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _own_type(name: str, value: Any) -> str:  # noqa: PLR0911 - one return per type
    """Return the text of a value of one of asyncpg's own types."""
    match name:
        case "Range":
            return _range(value)
        case "BitString":
            return str(value.as_string()).replace(" ", "")  # spaced between bytes
        case "Record":  # a composite
            return "(" + ",".join(_field(field) for field in value.values()) + ")"
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
    msg = (
        f"snapq: asyncpg gave a {name}, which snapq cannot show as PostgreSQL's text: run "
        "this test with --snapq-async-driver=psycopg"
    )
    raise UnshowableValueError(msg)


def _address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An address as inet_out writes it: an IPv6 address whose first 96 bits are zero,
    or that maps an IPv4 one, ends in the IPv4 form (``::ffff:1.2.3.4``)."""
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    words = [int(address) >> (16 * (7 - index)) & 0xFFFF for index in range(8)]
    tail = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if words[:6] == [0] * 6 and words[6]:
        return f"::{tail}"
    if words[:5] == [0] * 5 and words[5] == 0xFFFF:
        return f"::ffff:{tail}"
    return str(address)


def _range(value: Any) -> str:
    if value.isempty:
        return "empty"
    lower = "" if value.lower is None else _bound(_text(value.lower))
    upper = "" if value.upper is None else _bound(_text(value.upper))
    opening = "[" if value.lower_inc else "("
    closing = "]" if value.upper_inc else ")"
    return f"{opening}{lower},{upper}{closing}"


def _bound(text: str) -> str:
    if text == "" or _BOUND_QUOTED.search(text):
        return _doubled_quotes(text)
    return text


def _field(value: Any) -> str:
    """One field of a composite as record_out writes it: empty for NULL, quoted where
    the text would not read back as it is."""
    if value is None:
        return ""
    text = _text(value)
    if text == "" or _FIELD_QUOTED.search(text):
        return _doubled_quotes(text)
    return text


def _doubled_quotes(text: str) -> str:
    """Quote as range_out and record_out do: each quote and backslash doubled."""
    return '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'


def _point(point: Any) -> str:
    return f"({_number(point[0])},{_number(point[1])})"


def _number(number: float) -> str:
    return _float(float(number), single=False)
