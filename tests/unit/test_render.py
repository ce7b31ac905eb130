from __future__ import annotations

import random
import textwrap
import unicodedata
from collections.abc import Sequence

import pytest
from wcwidth import wcswidth

from snapq._sql.render import (
    _plain_table,
    format_cell,
    render_error,
    render_result,
    render_table,
)
from snapq._sql.result import Column, QueryError, QueryResult

JSON = Column("document", type_oid=114)
JSONB = Column("document", type_oid=3802)


def expected(text: str) -> str:
    """Return a table written indented in a triple-quoted string, as snapq draws it."""
    return textwrap.dedent(text).strip("\n")


def table(rows: Sequence[Sequence[str | None]], *names: str) -> str:
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
        ("'starts with a quote", "'starts with a quote"),
        ('"a"=>"1"', '"a"=>"1"'),
        ("'", "'"),
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
        "'quoted'",
        '"double-quoted"',
        "'it''s'",
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


@pytest.mark.parametrize(
    "value",
    [
        "a\x85b",
        "a\x9b31mb",
        "a\u2028b",
        "a\u2029b",
        "\u200b",
        "a\u200bb",
        "\ufeffbom",
        "abc\u202edef",
        "soft\u00adhyphen",
    ],
)
def test_c1_controls_and_unicode_line_breaks_are_shown_as_python_literals(value: str) -> None:
    assert format_cell(value) == repr(value)


def test_trailing_space_on_an_inner_line_is_visible() -> None:
    assert table([("a \nb",)], "t") != table([("a\nb",)], "t")


# Cells: PostgreSQL's text of other types --------------------------------------------

INT4, TEXT, BOOL, NUMERIC, FLOAT8, MONEY = 23, 25, 16, 1700, 701, 790


@pytest.mark.parametrize(
    ("text", "oid"),
    [
        ("1180591620717411303424", NUMERIC),
        ("1.10", NUMERIC),
        ("NaN", NUMERIC),
        ("-Infinity", FLOAT8),
        ("1e+300", FLOAT8),
        ("-0", FLOAT8),
        ("$1.00", MONEY),
        ("t", BOOL),
        ("infinity", 1082),
        ("-infinity", 1184),
        ("2024-01-02 03:04:05.5+00", 1184),
        ("1 mon -30 days", 1186),
        ("[2:3]={5,6}", 1007),
        ('{"a b",NULL,"NULL"}', 1009),
        ("(1,)", 2249),
        ("[1,10)", 3904),
        ('"a"=>"1"', 16385),
    ],
)
def test_postgresqls_text_of_other_types_is_shown_as_it_is(text: str, oid: int) -> None:
    assert format_cell(text, Column("v", oid)) == text


def test_a_json_string_is_shown_as_postgresql_prints_it_quotes_and_all() -> None:
    assert format_cell('"NULL"', JSONB) == '"NULL"'
    assert format_cell('{"a": 1}', JSON) == '{"a": 1}'
    assert format_cell("null", JSONB) == "null"
    assert format_cell(None, JSONB) == "NULL"
    # Whitespace at the ends is still shown, as in any text.
    assert format_cell(' {"a":1}', JSON) == repr(' {"a":1}')


def test_text_that_starts_like_json_string_is_quoted_in_a_text_column() -> None:
    assert format_cell('"NULL"', Column("t", TEXT)) == repr('"NULL"')


def test_a_numeric_column_shows_its_text_even_where_a_string_would_be_quoted() -> None:
    assert format_cell("NaN", Column("n", NUMERIC)) == "NaN"
    assert format_cell("NULL", Column("t", TEXT)) == "'NULL'"


# Tables -----------------------------------------------------------------------------


def test_a_table_has_a_header_numbers_right_strings_left_and_a_row_count() -> None:
    columns = [Column("id", 23), Column("name", 25), Column("code", 25), Column("price", 1700)]
    rows = [
        ("1", "alice", "007", "1.10"),
        ("22", None, "NULL", "10.5"),
        ("333", "", "'x'", None),
    ]
    assert render_table(columns, rows) == expected(
        """
        ┌──────┬────────┬────────┬─────────┐
        │   id │ name   │ code   │   price │
        ├──────┼────────┼────────┼─────────┤
        │    1 │ alice  │ 007    │    1.10 │
        │   22 │ NULL   │ 'NULL' │    10.5 │
        │  333 │ ''     │ "'x'"  │    NULL │
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


def test_numbers_right_aligned_by_type_and_exact() -> None:
    rows = [("1180591620717411303424",), ("1.10",), ("NaN",), (None,), ("-1",)]
    assert render_table([Column("n", NUMERIC)], rows) == expected(
        """
        ┌────────────────────────┐
        │                      n │
        ├────────────────────────┤
        │ 1180591620717411303424 │
        │                   1.10 │
        │                    NaN │
        │                   NULL │
        │                     -1 │
        └────────────────────────┘
        (5 rows)
        """
    )


def test_booleans_and_columns_of_unknown_type_are_not_numbers() -> None:
    columns = [Column("flag", BOOL), Column("nothing")]
    assert render_table(columns, [("t", None), ("f", "1")]) == expected(
        """
        ┌────────┬───────────┐
        │ flag   │ nothing   │
        ├────────┼───────────┤
        │ t      │ NULL      │
        │ f      │ 1         │
        └────────┴───────────┘
        (2 rows)
        """
    )


def test_one_row_is_counted_in_the_singular() -> None:
    assert table([("1",)], "n").endswith("\n(1 row)")


@pytest.mark.parametrize("count", [2, 3, 11])
def test_several_rows_are_counted_in_the_plural(count: int) -> None:
    assert table([(str(n),) for n in range(count)], "n").endswith(f"\n({count} rows)")


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
    columns = [Column("n", INT4), Column("note", TEXT)]
    rows = [("1", "first\n  indented\nlast"), ("2", "x")]
    assert render_table(columns, rows) == expected(
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
        [(str(n), value, "x") for n, value in enumerate(values)],
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
        rows=(("1",),),
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
            ("1", "2024-01-01 00:00:00+00", "a"),
            ("2", None, "<ignored>"),
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
    drawn = render_table([Column("n", INT4)], [("1",), ("22",)], ignored=frozenset({"n"}))
    assert drawn.splitlines()[1] == "│ n         │"
    assert drawn.splitlines()[3] == "│ <ignored> │"


# Layout: snapq's own for plain tables, tabulate's for the rest ----------------------


def _tabulate(names: Sequence[str], cells: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    from tabulate import tabulate

    return str(
        tabulate(
            cells,
            headers=list(names),
            tablefmt="simple_outline",
            disable_numparse=True,
            preserve_whitespace=True,
            colalign=["right" if is_right else "left" for is_right in right],
        )
    )


PLAIN_PIECES = ["", " ", "a", "Zz", "  x  ", "007", "1.10", "-3", "True", "False", "None",
                "NULL", "''", "<ignored>", "a b", "long " * 8, "{}", "[1,2]", "~!@#$%^&*()"]  # fmt: skip
OTHER_PIECES = ["│", "\x01", "é", "名前", "tab\there", "two\nlines", "\x1b[31mred\x1b[0m"]


def _random_text(rng: random.Random) -> str:
    def piece() -> str:
        return rng.choice(OTHER_PIECES if rng.random() < 0.02 else PLAIN_PIECES)

    return "".join(piece() for _ in range(rng.randint(0, 3)))


def test_plain_tables_are_laid_out_exactly_as_tabulate_does() -> None:
    rng = random.Random(13)  # noqa: S311 - reproducible tables, not secrets
    plain = 0
    for _ in range(5000):
        width, height = rng.randint(0, 4), rng.randint(0, 4)
        names = [_random_text(rng) for _ in range(width)]
        cells = [[_random_text(rng) for _ in range(width)] for _ in range(height)]
        right = [rng.random() < 0.5 for _ in range(width)]
        laid_out = _plain_table(names, cells, right)
        if laid_out is not None:
            plain += 1
            assert laid_out == _tabulate(names, cells, right), (names, cells, right)
    assert plain > 2000, "the random tables must include many plain ones"


def test_tables_that_are_not_plain_are_left_to_tabulate() -> None:
    for names, cells in [
        (["a"], []),  # no rows: tabulate aligns the header left
        ([], [[]]),
        (["名前"], [["x"]]),  # wide characters
        (["a"], [["two\nlines"]]),
        (["a"], [["\x1b[31mred\x1b[0m"]]),
        (["a\tb"], [["x"]]),
    ]:
        assert _plain_table(names, cells, [True] * len(names)) is None
    assert render_table([Column("n", 23)], []) == _tabulate(["n"], [], [True]) + "\n(0 rows)"
