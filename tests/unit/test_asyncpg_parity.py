"""asyncpg's values turned into what psycopg loads, so both drivers draw the same table.

The expected values are what psycopg loads for the same column (PostgreSQL's text
form for the types psycopg leaves as text), checked against a server in
tests/integration/test_async.py.
"""

from __future__ import annotations

import datetime
import struct
from decimal import Decimal
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
from psycopg.types.multirange import Multirange
from psycopg.types.range import Range

from snapq._sql.asyncpg_parity import AmbiguousValueError, as_psycopg_loads

CHAR = 18
FLOAT4 = 700
FLOAT4_ARRAY = 1021
CHAR_ARRAY = 1002
PG_LSN = 3220
PG_LSN_ARRAY = 3221
INT4MULTIRANGE = 4451
INT4RANGE = 3904
BIT = 1560
POINT = 600
TEXT = 25


@pytest.mark.parametrize(
    ("loaded", "oid", "expected"),
    [
        (asyncpg.Range(1, 10), INT4RANGE, Range(1, 10, "[)")),
        (asyncpg.Range(None, 6), INT4RANGE, Range(None, 6, "()")),
        (asyncpg.Range(1, 5, lower_inc=False, upper_inc=True), INT4RANGE, Range(1, 5, "(]")),
        (asyncpg.Range(empty=True), INT4RANGE, Range(empty=True)),
        (
            [asyncpg.Range(1, 3), asyncpg.Range(5, 7)],
            INT4MULTIRANGE,
            Multirange([Range(1, 3, "[)"), Range(5, 7, "[)")]),
        ),
        ([], INT4MULTIRANGE, Multirange([])),
        (asyncpg.BitString("1011"), BIT, "1011"),
        (b"a", CHAR, "a"),
        (0x16_B374D848, PG_LSN, "16/B374D848"),
        (0, PG_LSN, "0/0"),
    ],
    ids=[
        "range",
        "range-unbounded",
        "range-bounds",
        "range-empty",
        "multirange",
        "multirange-empty",
        "bit",
        "char",
        "pg_lsn",
        "pg_lsn-zero",
    ],
)
def test_ranges_bits_char_and_lsn_load_as_psycopg_loads_them(
    loaded: Any, oid: int, expected: Any
) -> None:
    converted = as_psycopg_loads(loaded, oid)
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("loaded", "expected"),
    [
        (asyncpg.Point(1.5, 2), "(1.5,2)"),
        (asyncpg.Point(-0.5, 1e20), "(-0.5,1e+20)"),
        (asyncpg.Box((1, 1), (0, 0)), "(1,1),(0,0)"),
        (asyncpg.LineSegment((0, 0), (1, 1)), "[(0,0),(1,1)]"),
        (asyncpg.Line(1, -1, 0), "{1,-1,0}"),
        (asyncpg.Circle((0, 0), 2.5), "<(0,0),2.5>"),
        (asyncpg.Path((0, 0), (1, 1), (2, 0), is_closed=False), "[(0,0),(1,1),(2,0)]"),
        (asyncpg.Path((0, 0), (1, 1), (2, 0), is_closed=True), "((0,0),(1,1),(2,0))"),
        (asyncpg.Polygon((0, 0), (1, 1), (1, 0)), "((0,0),(1,1),(1,0))"),
    ],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_geometry_is_postgresqls_text(loaded: Any, expected: str) -> None:
    assert as_psycopg_loads(loaded, POINT) == expected


def test_arrays_are_converted_element_by_element() -> None:
    loaded = [[asyncpg.Range(1, 2), None], [asyncpg.Range(empty=True), asyncpg.Range(3, 4)]]
    assert as_psycopg_loads(loaded, 3905) == [
        [Range(1, 2, "[)"), None],
        [Range(empty=True), Range(3, 4, "[)")],
    ]
    assert as_psycopg_loads([asyncpg.Point(1, 2), None], 1017) == ["(1,2)", None]


@pytest.mark.parametrize("loaded", [None, 7, "text", Decimal("1.10"), b"\x00\xff", {"a": [1]}])
def test_what_both_drivers_load_alike_is_left_as_it_is(loaded: Any) -> None:
    assert as_psycopg_loads(loaded, TEXT) is loaded


# In an array (OIDs 1002, 3221), as alone: {a} and {0/1}, not {\x61} and {1}.
@pytest.mark.parametrize(
    ("loaded", "oid", "expected"),
    [([b"a", None], CHAR_ARRAY, ["a", None]), ([1, None], PG_LSN_ARRAY, ["0/1", None])],
    ids=["char[]", "pg_lsn[]"],
)
def test_char_and_lsn_arrays_load_as_psycopg_loads_them(
    loaded: Any, oid: int, expected: Any
) -> None:
    assert as_psycopg_loads(loaded, oid) == expected


# PostgreSQL prints a "char" byte above 127 as an octal escape and the empty "char"
# as '', which psycopg loads as such.
@pytest.mark.parametrize(
    ("loaded", "expected"), [(b"\xc3", "\\303"), (b"\x00", "")], ids=["high-byte", "empty"]
)
def test_char_bytes_psycopg_gets_escaped_or_empty(loaded: bytes, expected: str) -> None:
    assert as_psycopg_loads(loaded, CHAR) == expected


# PostgreSQL prints Infinity and NaN, where Python's repr gives inf and nan.
def test_infinite_and_nan_coordinates_print_as_postgresql_prints_them() -> None:
    loaded = asyncpg.Point(float("inf"), float("nan"))
    assert as_psycopg_loads(loaded, POINT) == "(Infinity,NaN)"
    assert as_psycopg_loads(asyncpg.Circle((0, 0), float("-inf")), 718) == "<(0,0),-Infinity>"


def test_float4_shows_the_decimal_it_was_not_its_widening() -> None:
    widened = struct.unpack("f", struct.pack("f", 0.1))[0]
    assert widened != 0.1
    assert as_psycopg_loads(widened, FLOAT4) == 0.1
    assert as_psycopg_loads([widened, None], FLOAT4_ARRAY) == [0.1, None]


@pytest.mark.parametrize(
    "standin",
    [datetime.datetime.max, datetime.date.min, datetime.datetime.max.replace(tzinfo=datetime.UTC)],
)
def test_the_standins_for_infinity_are_refused_naming_the_other_driver(standin: Any) -> None:
    with pytest.raises(AmbiguousValueError, match="--snapq-async-driver=psycopg"):
        as_psycopg_loads(standin, None)
