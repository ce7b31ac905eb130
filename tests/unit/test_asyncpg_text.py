"""asyncpg's values written as PostgreSQL's text, as psql prints them.

The expected texts are PostgreSQL's output for the same values (under the settings
snapq pins: ISO dates, UTC, extra_float_digits=1); tests/integration/test_async.py
and tests/integration/test_pg_text_corpus.py check the same against a server.
"""

from __future__ import annotations

import datetime
import ipaddress
import struct
import uuid
from decimal import Decimal
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest

from snapq import UnshowableValueError
from snapq._sql.asyncpg_text import asyncpg_text, refused_column

BOOL, INT4, TEXT, BYTEA, CHAR, FLOAT4, FLOAT8, NUMERIC = 16, 23, 25, 17, 18, 700, 701, 1700
CHAR_ARRAY, FLOAT4_ARRAY, PG_LSN, PG_LSN_ARRAY = 1002, 1021, 3220, 3221
INT4_ARRAY, TEXT_ARRAY, BOX_ARRAY = 1007, 1009, 1020
INT4RANGE, INT4MULTIRANGE, TSRANGE, BIT, POINT = 3904, 4451, 3908, 1560, 600
TZ_PLUS_5_30 = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("loaded", "oid", "expected"),
    [
        (True, BOOL, "t"),
        (False, BOOL, "f"),
        (-7, INT4, "-7"),
        ("é", TEXT, "é"),
        (b"\x00\xff", BYTEA, "\\x00ff"),
        (uuid.UUID(int=1), 2950, "00000000-0000-0000-0000-000000000001"),
        (Decimal("1.10"), NUMERIC, "1.10"),
        (Decimal("1E+3"), NUMERIC, "1000"),
        (Decimal("NaN"), NUMERIC, "NaN"),
        (Decimal("-Infinity"), NUMERIC, "-Infinity"),
        (datetime.date(99, 1, 2), 1082, "0099-01-02"),
        (ipaddress.ip_interface("192.168.0.1/24"), 869, "192.168.0.1/24"),
        (ipaddress.ip_interface("192.168.0.1/32"), 869, "192.168.0.1"),
        (ipaddress.ip_network("10.0.0.0/8"), 650, "10.0.0.0/8"),
        (ipaddress.ip_interface("::1/128"), 869, "::1"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), 1114, "2024-01-02 03:04:05"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5, 120000), 1114, "2024-01-02 03:04:05.12"),
        (datetime.datetime(2024, 1, 2, 3, 4, tzinfo=TZ_PLUS_5_30), 1184, "2024-01-01 21:34:00+00"),
        (datetime.time(24 - 1, 59, 59, 999999), 1083, "23:59:59.999999"),
        (datetime.time(12, tzinfo=TZ_PLUS_5_30), 1266, "12:00:00+05:30"),
        (
            datetime.time(12, tzinfo=datetime.timezone(-datetime.timedelta(hours=3))),
            1266,
            "12:00:00-03",
        ),
    ],
)
def test_scalars_are_postgresqls_text(loaded: Any, oid: int, expected: str) -> None:
    assert asyncpg_text(loaded, oid) == expected


# float8out and float4out: the shortest exact digits, in exponent form from 1e15
# (1e6 for float4) and below 1e-4, where Python's repr switches at 1e16.
@pytest.mark.parametrize(
    ("number", "oid", "expected"),
    [
        (0.1, FLOAT8, "0.1"),
        (1e15, FLOAT8, "1e+15"),
        (123456789012345.0, FLOAT8, "123456789012345"),
        (1e-5, FLOAT8, "1e-05"),
        (0.0001, FLOAT8, "0.0001"),
        (-2.5e-300, FLOAT8, "-2.5e-300"),
        (1 / 3, FLOAT8, "0.3333333333333333"),
        (-0.0, FLOAT8, "-0"),
        (float("nan"), FLOAT8, "NaN"),
        (float("-inf"), FLOAT8, "-Infinity"),
        (struct.unpack("f", struct.pack("f", 0.1))[0], FLOAT4, "0.1"),
        (1e6, FLOAT4, "1e+06"),
        (100000.0, FLOAT4, "100000"),
    ],
)
def test_floats_print_as_postgresql_prints_them(number: float, oid: int, expected: str) -> None:
    assert asyncpg_text(number, oid) == expected


@pytest.mark.parametrize(
    ("loaded", "oid", "expected"),
    [
        ([1, None, 3], INT4_ARRAY, "{1,NULL,3}"),
        ([[1, 2], [3, 4]], INT4_ARRAY, "{{1,2},{3,4}}"),
        (
            ["a b", "NULL", "", 'q"u\\o', "plain"],
            TEXT_ARRAY,
            '{"a b","NULL","","q\\"u\\\\o",plain}',
        ),
        ([b"a", None], CHAR_ARRAY, "{a,NULL}"),
        ([1, None], PG_LSN_ARRAY, "{0/1,NULL}"),
        ([struct.unpack("f", struct.pack("f", 0.1))[0]], FLOAT4_ARRAY, "{0.1}"),
        (
            [asyncpg.Box((1, 1), (0, 0)), asyncpg.Box((3, 3), (2, 2))],
            BOX_ARRAY,
            "{(1,1),(0,0);(3,3),(2,2)}",
        ),
    ],
    ids=["null", "two-dimensions", "quoted", "char", "pg_lsn", "float4", "box"],
)
def test_arrays_are_written_as_array_out_writes_them(loaded: Any, oid: int, expected: str) -> None:
    assert asyncpg_text(loaded, oid) == expected


@pytest.mark.parametrize(
    ("loaded", "oid", "expected"),
    [
        (asyncpg.Range(1, 10), INT4RANGE, "[1,10)"),
        (asyncpg.Range(None, 6), INT4RANGE, "(,6)"),
        (asyncpg.Range(1, 5, lower_inc=False, upper_inc=True), INT4RANGE, "(1,5]"),
        (asyncpg.Range(empty=True), INT4RANGE, "empty"),
        (
            asyncpg.Range(datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 2)),
            TSRANGE,
            '["2024-01-01 00:00:00","2024-01-02 00:00:00")',
        ),
        ([asyncpg.Range(1, 3), asyncpg.Range(5, 7)], INT4MULTIRANGE, "{[1,3),[5,7)}"),
        ([], INT4MULTIRANGE, "{}"),
        (asyncpg.BitString("1011"), BIT, "1011"),
        (b"a", CHAR, "a"),
        (b"\xc3", CHAR, "\\303"),
        (b"\x00", CHAR, ""),
        (0x16_B374D848, PG_LSN, "16/B374D848"),
    ],
    ids=[
        "range",
        "range-unbounded",
        "range-bounds",
        "range-empty",
        "range-quoted-bounds",
        "multirange",
        "multirange-empty",
        "bit",
        "char",
        "char-high-byte",
        "char-empty",
        "pg_lsn",
    ],
)
def test_asyncpgs_own_types_are_postgresqls_text(loaded: Any, oid: int, expected: str) -> None:
    assert asyncpg_text(loaded, oid) == expected


@pytest.mark.parametrize(
    ("loaded", "expected"),
    [
        (asyncpg.Point(1.5, 2), "(1.5,2)"),
        (asyncpg.Point(-0.5, 1e20), "(-0.5,1e+20)"),
        (asyncpg.Point(float("inf"), float("nan")), "(Infinity,NaN)"),
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
    assert asyncpg_text(loaded, POINT) == expected


def test_null_is_none() -> None:
    assert asyncpg_text(None, INT4) is None


@pytest.mark.parametrize(
    "standin",
    [datetime.datetime.max, datetime.date.min, datetime.datetime.max.replace(tzinfo=datetime.UTC)],
)
def test_the_standins_for_infinity_are_refused_naming_the_other_driver(standin: Any) -> None:
    with pytest.raises(UnshowableValueError, match="--snapq-async-driver=psycopg"):
        asyncpg_text(standin, None)


@pytest.mark.parametrize(("oid", "name"), [(1186, "interval"), (3802, "jsonb"), (199, "json[]")])
def test_columns_asyncpg_cannot_give_exactly_are_refused_naming_both_fixes(
    oid: int, name: str
) -> None:
    error = refused_column("doc", oid)
    assert error is not None
    assert f"column 'doc' is {name}" in str(error)
    assert "--snapq-async-driver=psycopg" in str(error)
    assert "ignore=['doc']" in str(error)
    assert refused_column("doc", TEXT) is None
