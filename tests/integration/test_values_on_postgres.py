"""How PostgreSQL's values print, checked with snapq itself (its own inline snapshots).

These run in snapq's own test session, on its embedded server: assert_query with
no connection= uses this test's snapq_connection.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import (
    Connection,
    LargeBinary,
    Text,
    TypeDecorator,
    cast,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSON, JSONB
from syrupy.assertion import SnapshotAssertion

from snapq import assert_query
from snapq._snapshots.inline import normalize
from snapq._sql.compile import compile_for_display
from snapq._sql.format import display_sql


def test_nulls_and_strings_that_look_like_them() -> None:
    assert_query(
        "SELECT NULL AS a_null, 'NULL' AS the_word, '' AS empty, ' padded ' AS padded,"
        " '''quoted''' AS quoted, 'tab' || chr(9) || 'here' AS tab",
        sql="""
            SELECT
              NULL AS a_null,
              'NULL' AS the_word,
              '' AS empty,
              ' padded ' AS padded,
              '''quoted''' AS quoted,
              'tab' || CHR(  9) || 'here' AS tab
        """,
        results=r"""
            ┌──────────┬────────────┬─────────┬────────────┬────────────┬─────────────┐
            │ a_null   │ the_word   │ empty   │ padded     │ quoted     │ tab         │
            ├──────────┼────────────┼─────────┼────────────┼────────────┼─────────────┤
            │ NULL     │ 'NULL'     │ ''      │ ' padded ' │ "'quoted'" │ 'tab\there' │
            └──────────┴────────────┴─────────┴────────────┴────────────┴─────────────┘
            (1 row)
        """,
    )


def test_numbers_stay_exact() -> None:
    assert_query(
        "SELECT 7 AS int, 1.10::numeric AS numeric, '007' AS text_digits,"
        " 1180591620717411303424::numeric AS big, 0.1::float8 AS float, 'NaN'::float8 AS nan,"
        " '-Infinity'::float8 AS minus_inf",
        sql="""
            SELECT
              7 AS int,
              CAST(1.10 AS DECIMAL) AS numeric,
              '007' AS text_digits,
              CAST(1180591620717411303424 AS DECIMAL) AS big,
              CAST(0.1 AS DOUBLE PRECISION) AS float,
              CAST('NaN' AS DOUBLE PRECISION) AS nan,
              CAST('-Infinity' AS DOUBLE PRECISION) AS minus_inf
        """,
        results="""
            ┌───────┬───────────┬───────────────┬────────────────────────┬─────────┬───────┬─────────────┐
            │   int │   numeric │ text_digits   │                    big │   float │   nan │   minus_inf │
            ├───────┼───────────┼───────────────┼────────────────────────┼─────────┼───────┼─────────────┤
            │     7 │      1.10 │ 007           │ 1180591620717411303424 │     0.1 │   NaN │   -Infinity │
            └───────┴───────────┴───────────────┴────────────────────────┴─────────┴───────┴─────────────┘
            (1 row)
        """,
    )


def test_json_arrays_bytes_and_uuids() -> None:
    assert_query(
        text(
            'SELECT \'{"b": [1, null], "a": "é"}\'::jsonb AS doc,'
            " ARRAY['plain', 'with space', NULL, 'q\"uote'] AS words,"
            " '\\x00ff10'::bytea AS raw,"
            " '00000000-0000-0000-0000-000000000001'::uuid AS id"
        ),
        sql=r"""
            SELECT
              CAST('{"b": [1, null], "a": "é"}' AS JSONB) AS doc,
              ARRAY['plain', 'with space', NULL, 'q"uote'] AS words,
              CAST('\x00ff10' AS BYTEA) AS raw,
              CAST('00000000-0000-0000-0000-000000000001' AS UUID) AS id
        """,
        results=r"""
            ┌────────────────────────────┬─────────────────────────────────────┬──────────┬──────────────────────────────────────┐
            │ doc                        │ words                               │ raw      │ id                                   │
            ├────────────────────────────┼─────────────────────────────────────┼──────────┼──────────────────────────────────────┤
            │ {"a": "é", "b": [1, null]} │ {plain,"with space",NULL,"q\"uote"} │ \x00ff10 │ 00000000-0000-0000-0000-000000000001 │
            └────────────────────────────┴─────────────────────────────────────┴──────────┴──────────────────────────────────────┘
            (1 row)
        """,
    )


def test_json_null_is_not_sql_null(snapq_connection: Connection) -> None:
    assert_query(
        "SELECT 'null'::jsonb AS json_null, NULL::jsonb AS sql_null, 'null'::json AS json,"
        " ARRAY['null'::jsonb, NULL] AS elements",
        sql="""
            SELECT
              CAST('null' AS JSONB) AS json_null,
              CAST(NULL AS JSONB) AS sql_null,
              CAST('null' AS JSON) AS json,
              ARRAY[CAST('null' AS JSONB), NULL] AS elements
        """,
        results="""
            ┌─────────────┬────────────┬────────┬───────────────┐
            │ json_null   │ sql_null   │ json   │ elements      │
            ├─────────────┼────────────┼────────┼───────────────┤
            │ null        │ NULL       │ null   │ {"null",NULL} │
            └─────────────┴────────────┴────────┴───────────────┘
            (1 row)
        """,
    )
    # JSON typed in SQLAlchemy: None is JSON's null; values are shown as psycopg sends them.
    document = {"name": "é", "tags": [1, None]}
    assert_query(
        select(literal(None, JSONB).label("typed"), literal(document, JSONB).label("doc")),
        sql=r"""
            SELECT
              CAST('null' AS JSONB) AS typed,
              CAST('{"name": "\u00e9", "tags": [1, null]}' AS JSONB) AS doc
        """,
        results="""
            ┌─────────┬──────────────────────────────────┐
            │ typed   │ doc                              │
            ├─────────┼──────────────────────────────────┤
            │ null    │ {"name": "é", "tags": [1, null]} │
            └─────────┴──────────────────────────────────┘
            (1 row)
        """,
    )
    # assert_query reads PostgreSQL's text on its own cursor: the test's queries still
    # get psycopg's values.
    assert snapq_connection.execute(text("SELECT 'null'::jsonb")).scalar() is None


class Wrapped(TypeDecorator[Any]):
    """A JSON column whose type post-processes what it loads, as Pydantic wrappers do:
    the table shows what PostgreSQL returned, before any processing."""

    impl = JSONB
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else {"wrapped": value}


def test_a_type_that_processes_results_shows_postgresqls_value() -> None:
    assert_query(
        select(cast(literal("null"), Wrapped).label("doc")),
        sql="""
            SELECT
              CAST('null' AS JSONB) AS doc
        """,
        results="""
            ┌───────┐
            │ doc   │
            ├───────┤
            │ null  │
            └───────┘
            (1 row)
        """,
    )


def test_values_sqlalchemy_cannot_write_are_shown_as_sql_that_means_them(
    snapq_connection: Connection,
) -> None:
    statement = select(
        literal(b"\x00\\'\xff", LargeBinary).label("raw"),
        literal("10.0.0.0/8", INET).label("net"),
        literal({"a": "it's é", "b": [None]}, JSONB).label("doc"),
        literal(None, JSON).label("json_null"),
    )
    shown = compile_for_display(statement, dialect=snapq_connection.dialect).sql
    assert ":" not in shown.replace('": ', ""), shown  # every value written as a literal
    from_shown = snapq_connection.exec_driver_sql(shown).one()
    from_sent = snapq_connection.execute(statement).one()
    # as str: SQLAlchemy's INET loads as text, the untyped column as IPv4Interface
    assert list(map(str, from_shown)) == list(map(str, from_sent))


@pytest.mark.parametrize(
    "value", ["a \nb", "a\nb", "tab\there", "back\\slash\r\n", "it's\x01", "plain 'one'"]
)
def test_strings_whose_whitespace_is_data_are_shown_on_one_line_as_sent(
    snapq_connection: Connection, value: str
) -> None:
    """Inline snapshots drop the spaces that end a line: a literal spans none, so the
    SQL as recorded still selects the value."""
    statement = select(
        literal(value).label("v"), literal([value, "x"], ARRAY(Text)).label("in_array")
    ).where(literal(value).in_([value, "y"]))
    shown = display_sql(compile_for_display(statement, dialect=snapq_connection.dialect))
    assert shown.problem is None
    recorded = normalize(shown.text)
    assert snapq_connection.exec_driver_sql(recorded).one() == (value, [value, "x"]), recorded


def test_dates_times_and_intervals() -> None:
    assert_query(
        "SELECT '2024-02-29'::date AS day, '13:45:00.5'::time AS at,"
        " '2024-02-29 23:30:00-05'::timestamptz AS moment,"
        " '2024-02-29 23:30:00'::timestamp AS naive, interval '3 days 04:05:06' AS span",
        sql="""
            SELECT '2024-02-29'::date AS day, '13:45:00.5'::time AS at, '2024-02-29 23:30:00-05'::timestamptz AS moment, '2024-02-29 23:30:00'::timestamp AS naive, interval '3 days 04:05:06' AS span
        """,
        results="""
            ┌────────────┬────────────┬────────────────────────┬─────────────────────┬─────────────────┐
            │ day        │ at         │ moment                 │ naive               │ span            │
            ├────────────┼────────────┼────────────────────────┼─────────────────────┼─────────────────┤
            │ 2024-02-29 │ 13:45:00.5 │ 2024-03-01 04:30:00+00 │ 2024-02-29 23:30:00 │ 3 days 04:05:06 │
            └────────────┴────────────┴────────────────────────┴─────────────────────┴─────────────────┘
            (1 row)
        """,
    )


def test_multiline_and_wide_text_stay_aligned() -> None:
    assert_query(
        "SELECT * FROM (VALUES (1, 'first line' || chr(10) || 'second line'),"
        " (22, '漢字とかな'), (333, 'emoji 🎉 ok')) AS t(n, note) ORDER BY n",
        sql="""
            SELECT
              *
            FROM (VALUES
              (1, 'first line' || CHR(  10) || 'second line'),
              (22, '漢字とかな'),
              (333, 'emoji 🎉 ok')) AS t(n, note)
            ORDER BY
              n
        """,
        results="""
            ┌─────┬─────────────┐
            │   n │ note        │
            ├─────┼─────────────┤
            │   1 │ first line  │
            │     │ second line │
            │  22 │ 漢字とかな  │
            │ 333 │ emoji 🎉 ok │
            └─────┴─────────────┘
            (3 rows)
        """,
    )


def test_no_rows_and_a_status() -> None:
    assert_query(
        "SELECT 1 AS one WHERE false",
        sql="""
            SELECT
              1 AS one
            WHERE
              FALSE
        """,
        results="""
            ┌───────┐
            │ one   │
            ├───────┤
            └───────┘
            (0 rows)
        """,
    )
    assert_query(
        "CREATE TEMPORARY TABLE scratch (x int)",
        sql="""
            CREATE TEMPORARY TABLE scratch (x int)
        """,
        results="""
            CREATE TABLE
        """,
    )
    assert_query(
        "INSERT INTO scratch SELECT generate_series(1, 3)",
        sql="""
            INSERT INTO scratch
            SELECT
              GENERATE_SERIES(1, 3)
        """,
        results="""
            INSERT 0 3
        """,
    )


def test_errors_keep_the_transaction_usable() -> None:
    assert_query(
        "SELECT 1 / 0 AS boom",
        sql="""
            SELECT
              1 / 0 AS boom
        """,
        results="""
            ERROR 22012: division by zero
        """,
    )
    assert_query(
        "SELECT 'still' AS usable",
        sql="""
            SELECT
              'still' AS usable
        """,
        results="""
            ┌──────────┐
            │ usable   │
            ├──────────┤
            │ still    │
            └──────────┘
            (1 row)
        """,
    )


@pytest.mark.parametrize("kind", ["int4", "numeric(6, 2)", "float8", "text"])
def test_large_results_go_to_files(kind: str, snapshot: SnapshotAssertion) -> None:
    assert_query(
        f"SELECT n, (n / 7.0)::{kind} AS value FROM generate_series(1, 60) AS n ORDER BY n",
        snapshot=snapshot,
    )


@pytest.mark.parametrize("option", [{"stream_results": True}, {"yield_per": 1}])
def test_a_streamed_statement_shows_every_row(option: dict[str, Any]) -> None:
    streamed = select(func.generate_series(1, 3).label("n")).execution_options(**option)
    assert_query(
        streamed,
        sql="""
            SELECT
              GENERATE_SERIES(1, 3) AS n
        """,
        results="""
            ┌─────┐
            │   n │
            ├─────┤
            │   1 │
            │   2 │
            │   3 │
            └─────┘
            (3 rows)
        """,
    )
