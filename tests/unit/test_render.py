from __future__ import annotations

import datetime
import decimal
import enum
import textwrap
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from wcwidth import wcswidth

from snapq._sql.render import format_cell, render_error, render_result, render_table
from snapq._sql.result import JSON_NULL, Column, QueryError, QueryResult

JSON = Column("document", type_oid=114)
JSONB = Column("document", type_oid=3802)


class Colour(enum.Enum):
    RED = "red"
    LIGHT_BLUE = "light blue"


def expected(text: str) -> str:
    """Return a table written indented in a triple-quoted string, as snapq draws it."""
    return textwrap.dedent(text).strip("\n")


def table(rows: Sequence[Sequence[Any]], *names: str) -> str:
    return render_table([Column(name) for name in names], rows)


# Cells: NULL and strings ------------------------------------------------------------


def test_null_and_the_strings_that_look_like_it_are_all_distinct() -> None:
    cells = [format_cell(value) for value in (None, "NULL", "", "''", "null")]
    assert cells == ["NULL", "'NULL'", "''", "\"''\"", "null"]
    assert len(set(cells)) == len(cells)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("hello", "hello"),
        ("two words", "two words"),
        ("007", "007"),
        ("line one\nline two", "line one\nline two"),
        ("it's", "it's"),
        ("a 'quoted' word", "a 'quoted' word"),
        ("é漢字😀", "é漢字😀"),
    ],
)
def test_plain_strings_are_shown_as_they_are(value: str, cell: str) -> None:
    assert format_cell(value) == cell


@pytest.mark.parametrize(
    "value",
    [
        " leading",
        "trailing ",
        "\tindented",
        "ends with a newline\n",
        "\nstarts with a newline",
        "\u00a0non-breaking space",
        "'starts with a quote",
        '"starts with a double quote',
        "'",
        "<ignored>",
        "bell\a",
        "tab\tinside",
        "carriage\rreturn",
        "escape\x1b[31m",
        "delete\x7f",
        "nul\x00",
    ],
)
def test_strings_that_could_be_misread_are_shown_as_python_literals(value: str) -> None:
    assert format_cell(value) == repr(value)


def test_control_characters_never_reach_the_table_raw() -> None:
    cell = format_cell("a\x01b\x1fc")
    assert cell == "'a\\x01b\\x1fc'"
    assert all(unicodedata.category(char) != "Cc" for char in cell)


@pytest.mark.parametrize("value", ["a\x85b", "a\x9b31mb", "a\u2028b", "a\u2029b"])
def test_c1_controls_and_unicode_line_breaks_are_shown_as_python_literals(value: str) -> None:
    assert format_cell(value) == repr(value)


def test_trailing_space_on_an_inner_line_is_visible() -> None:
    assert table([("a \nb",)], "t") != table([("a\nb",)], "t")


# Cells: other types -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-42, "-42"),
        (2**70, "1180591620717411303424"),
        (-(2**70), "-1180591620717411303424"),
        (decimal.Decimal("1.10"), "1.10"),
        (decimal.Decimal("0.000"), "0.000"),
        (decimal.Decimal("-12345678901234567890.123456789"), "-12345678901234567890.123456789"),
        (decimal.Decimal("NaN"), "NaN"),
        (0.1, "0.1"),
        (1e300, "1e+300"),
        (-0.0, "-0.0"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_numbers_and_booleans_are_exact(value: object, cell: str) -> None:
    assert format_cell(value) == cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (datetime.date(2024, 2, 29), "2024-02-29"),
        (datetime.time(3, 4, 5), "03:04:05"),
        (datetime.time(3, 4, 5, 123), "03:04:05.000123"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (
            datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
            "2024-01-02T03:04:05+00:00",
        ),
        (
            datetime.datetime(
                2024, 1, 2, 3, 4, 5, 600, tzinfo=datetime.timezone(datetime.timedelta(hours=5.5))
            ),
            "2024-01-02T03:04:05.000600+05:30",
        ),
    ],
)
def test_dates_and_times_are_iso(value: object, cell: str) -> None:
    assert format_cell(value) == cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (datetime.timedelta(0), "0:00:00"),
        (datetime.timedelta(days=1, seconds=3), "1 day, 0:00:03"),
        (datetime.timedelta(days=40, microseconds=5), "40 days, 0:00:00.000005"),
        (datetime.timedelta(seconds=-1), "-1 day, 23:59:59"),
    ],
)
def test_intervals_are_shown_as_python_prints_them(value: datetime.timedelta, cell: str) -> None:
    assert format_cell(value) == cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (b"", "\\x"),
        (b"\x00\xffA", "\\x00ff41"),
        (bytearray(b"\x01\x02"), "\\x0102"),
        (memoryview(b"\xde\xad\xbe\xef"), "\\xdeadbeef"),
    ],
)
def test_bytes_are_hex(value: object, cell: str) -> None:
    assert format_cell(value) == cell


def test_uuids_are_canonical() -> None:
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert format_cell(value) == "12345678-1234-5678-1234-567812345678"


@pytest.mark.parametrize("column", [JSON, JSONB])
@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ({"b": 1, "a": [1, 2.5, None, True]}, '{"b":1,"a":[1,2.5,null,true]}'),
        ({"name": "Zoë", "city": "東京"}, '{"name":"Zoë","city":"東京"}'),
        (["é", 1], '["é",1]'),
        ("a string", '"a string"'),
        ("NULL", '"NULL"'),
        (3, "3"),
        (False, "false"),
        ({}, "{}"),
        ([], "[]"),
    ],
)
def test_json_columns_are_compact_json_with_non_ascii_kept(
    column: Column, value: object, cell: str
) -> None:
    assert format_cell(value, column) == cell


def test_sql_null_in_a_json_column_is_null() -> None:
    assert format_cell(None, JSONB) == "NULL"


def test_json_null_is_written_as_json_whole_or_in_an_array() -> None:
    assert format_cell(JSON_NULL, JSONB) == "null"
    assert format_cell([JSON_NULL, None]) == "{null,NULL}"


def test_a_list_outside_a_json_column_is_a_postgresql_array_not_json() -> None:
    assert format_cell(["é", 1]) == "{é,1}"
    assert format_cell(["é", 1], Column("tags", type_oid=1009)) == "{é,1}"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ([], "{}"),
        ([1, 2, 3], "{1,2,3}"),
        ([1, None, 3], "{1,NULL,3}"),
        (["plain", "NULL", "null", "", None], '{plain,"NULL","null","",NULL}'),
        (
            ["a b", "a,b", "{x}", 'say "hi"', "back\\slash"],
            '{"a b","a,b","{x}","say \\"hi\\"","back\\\\slash"}',
        ),
        (["tab\there", "two\nlines"], '{"tab\\x09here","two\nlines"}'),
        (["it's"], "{it's}"),
        ([[1, 2], [3, None]], "{{1,2},{3,NULL}}"),
        ([True, False], "{true,false}"),
        ([decimal.Decimal("1.10"), 0.5], "{1.10,0.5}"),
        ([datetime.date(2024, 1, 2)], "{2024-01-02}"),
        ([Colour.RED, Colour.LIGHT_BLUE], "{RED,LIGHT_BLUE}"),
        (("tuple", "too"), "{tuple,too}"),
    ],
)
def test_arrays_quote_the_elements_that_need_it(value: object, cell: str) -> None:
    assert format_cell(value) == cell


@pytest.mark.parametrize("element", ["a\rb", "a\x1b[31mb", "a\x0bb"])
def test_control_characters_in_array_elements_never_reach_the_table_raw(element: str) -> None:
    cell = format_cell([element])
    assert all(unicodedata.category(char) != "Cc" for char in cell.replace("\n", ""))


def test_enums_are_shown_by_name() -> None:
    assert format_cell(Colour.RED) == "RED"
    assert format_cell(Colour.LIGHT_BLUE) == "LIGHT_BLUE"


class Status(str, enum.Enum):  # noqa: UP042 - this older spelling is what is under test
    OPEN = "open"


class Level(enum.IntEnum):
    HIGH = 3


class Size(enum.StrEnum):
    LARGE = "large"


@pytest.mark.parametrize(
    ("member", "name"), [(Status.OPEN, "OPEN"), (Level.HIGH, "HIGH"), (Size.LARGE, "LARGE")]
)
def test_enums_with_a_mixed_in_type_are_shown_by_name(member: enum.Enum, name: str) -> None:
    cell = format_cell(member)
    assert type(cell) is str
    assert cell == name
    assert table([(member,)], "e").splitlines()[3].strip("│ ") == name


def test_unknown_types_fall_back_to_str() -> None:
    class Point:
        def __str__(self) -> str:
            return "(1,2)"

    assert format_cell(Point()) == "(1,2)"


# Tables -----------------------------------------------------------------------------


def test_a_table_has_a_header_numbers_right_strings_left_and_a_row_count() -> None:
    columns = [Column("id", 23), Column("name", 25), Column("code", 25), Column("price", 1700)]
    rows = [
        (1, "alice", "007", decimal.Decimal("1.10")),
        (22, None, "NULL", decimal.Decimal("10.5")),
        (333, "", "'x", None),
    ]
    assert render_table(columns, rows) == expected(
        """
        ┌──────┬────────┬────────┬─────────┐
        │   id │ name   │ code   │   price │
        ├──────┼────────┼────────┼─────────┤
        │    1 │ alice  │ 007    │    1.10 │
        │   22 │ NULL   │ 'NULL' │    10.5 │
        │  333 │ ''     │ "'x"   │    NULL │
        └──────┴────────┴────────┴─────────┘
        (3 rows)
        """
    )


def test_a_column_of_number_like_strings_stays_left_aligned_and_exact() -> None:
    assert table([("007",), ("1.10",), ("12",)], "zip") == expected(
        """
        ┌───────┐
        │ zip   │
        ├───────┤
        │ 007   │
        │ 1.10  │
        │ 12    │
        └───────┘
        (3 rows)
        """
    )


def test_big_numbers_floats_and_decimals_right_aligned_and_exact() -> None:
    rows = [(2**70,), (decimal.Decimal("1.10"),), (0.1,), (float("nan"),), (-1,)]
    assert table(rows, "n") == expected(
        """
        ┌────────────────────────┐
        │                      n │
        ├────────────────────────┤
        │ 1180591620717411303424 │
        │                   1.10 │
        │                    0.1 │
        │                    NaN │
        │                     -1 │
        └────────────────────────┘
        (5 rows)
        """
    )


def test_booleans_and_all_null_columns_are_not_numbers() -> None:
    assert table([(True, None), (False, None)], "flag", "nothing") == expected(
        """
        ┌────────┬───────────┐
        │ flag   │ nothing   │
        ├────────┼───────────┤
        │ true   │ NULL      │
        │ false  │ NULL      │
        └────────┴───────────┘
        (2 rows)
        """
    )


def test_one_row_is_counted_in_the_singular() -> None:
    assert table([(1,)], "n").endswith("\n(1 row)")


@pytest.mark.parametrize("count", [2, 3, 11])
def test_several_rows_are_counted_in_the_plural(count: int) -> None:
    assert table([(n,) for n in range(count)], "n").endswith(f"\n({count} rows)")


def test_zero_rows_show_the_header_and_say_so() -> None:
    assert table([], "id", "name") == expected(
        """
        ┌──────┬────────┐
        │ id   │ name   │
        ├──────┼────────┤
        └──────┴────────┘
        (0 rows)
        """
    )


def test_multi_line_text_stays_readable_across_lines() -> None:
    assert table([(1, "first\n  indented\nlast"), (2, "x")], "n", "note") == expected(
        """
        ┌─────┬────────────┐
        │   n │ note       │
        ├─────┼────────────┤
        │   1 │ first      │
        │     │   indented │
        │     │ last       │
        │   2 │ x          │
        └─────┴────────────┘
        (2 rows)
        """
    )


@pytest.mark.parametrize(
    "values",
    [
        ["漢字", "ab", "かなカナ"],
        ["😀", "😀😀x", "a"],
        ["ｱｲｳ", "abc"],
        ["e\u0301", "é", "x"],
        ["🇫🇷", "👍🏽", "ok"],
        ["長い\n短", "ab"],
    ],
)
def test_wide_characters_are_aligned(values: list[str]) -> None:
    drawn = render_table(
        [Column("n"), Column("名前"), Column("t")],
        [(n, value, "x") for n, value in enumerate(values)],
    )
    widths = {wcswidth(line) for line in drawn.splitlines()[:-1]}
    assert len(widths) == 1, drawn
    assert widths != {-1}


# Results ----------------------------------------------------------------------------


def test_a_result_with_rows_is_a_table() -> None:
    result = QueryResult(columns=(Column("title", 25),), rows=(("Groceries",),), returns_rows=True)
    assert render_result(result) == expected(
        """
        ┌───────────┐
        │ title     │
        ├───────────┤
        │ Groceries │
        └───────────┘
        (1 row)
        """
    )


@pytest.mark.parametrize("status", ["UPDATE 3", "INSERT 0 1", "DELETE 0", "CREATE TABLE"])
def test_a_statement_without_rows_shows_its_status(status: str) -> None:
    assert render_result(QueryResult(status=status)) == status


def test_a_statement_without_rows_or_status_is_ok() -> None:
    assert render_result(QueryResult()) == "OK"


def test_an_error_shows_sqlstate_message_detail_and_hint() -> None:
    error = QueryError(
        "23505",
        'duplicate key value violates unique constraint "users_pkey"',
        detail="Key (id)=(1) already exists.",
        hint="Use another id.",
    )
    assert render_result(QueryResult(error=error)) == expected(
        """
        ERROR 23505: duplicate key value violates unique constraint "users_pkey"
        DETAIL: Key (id)=(1) already exists.
        HINT: Use another id.
        """
    )


def test_an_error_without_detail_or_hint_is_one_line() -> None:
    error = QueryError("42P01", 'relation "nope" does not exist')
    assert render_error(error) == 'ERROR 42P01: relation "nope" does not exist'


def test_an_error_wins_over_rows_and_status() -> None:
    result = QueryResult(
        columns=(Column("n"),),
        rows=((1,),),
        returns_rows=True,
        status="SELECT 1",
        error=QueryError("57014", "canceling statement due to statement timeout"),
    )
    assert render_result(result) == "ERROR 57014: canceling statement due to statement timeout"


def test_an_error_with_only_a_hint_skips_the_detail() -> None:
    error = QueryError("42883", "function nope() does not exist", hint="Add casts.")
    assert render_error(error).splitlines() == [
        "ERROR 42883: function nope() does not exist",
        "HINT: Add casts.",
    ]


def test_ignored_columns_show_a_marker_and_are_not_numbers() -> None:
    result = QueryResult(
        columns=(Column("id", 23), Column("created_at", 1184), Column("name", 25)),
        rows=(
            (1, datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC), "a"),
            (2, None, "<ignored>"),
        ),
        returns_rows=True,
        ignored=frozenset({"created_at"}),
    )
    assert render_result(result) == expected(
        """
        ┌──────┬──────────────┬─────────────┐
        │   id │ created_at   │ name        │
        ├──────┼──────────────┼─────────────┤
        │    1 │ <ignored>    │ a           │
        │    2 │ <ignored>    │ '<ignored>' │
        └──────┴──────────────┴─────────────┘
        (2 rows)
        """
    )


def test_ignoring_a_numeric_column_aligns_its_marker_left() -> None:
    drawn = render_table([Column("n")], [(1,), (22,)], ignored=frozenset({"n"}))
    assert drawn.splitlines()[1] == "│ n         │"
    assert drawn.splitlines()[3] == "│ <ignored> │"
