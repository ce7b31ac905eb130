from __future__ import annotations

import datetime
import textwrap

import pytest
from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    column,
    func,
    insert,
    literal,
    null,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql

from snapq._sql.compile import IGNORED_PARAMETER as IGNORED
from snapq._sql.compile import CompiledSQL, compile_for_display
from snapq._sql.format import Formatted, pretty_sql


def expected(sql: str) -> str:
    return textwrap.dedent(sql).strip("\n")


def test_a_select_is_pretty_printed_with_upper_case_keywords() -> None:
    formatted = pretty_sql(
        "select t.a, count(*) as n from t join u on u.id = t.u_id "
        "where t.b = 'x' and t.c is not null group by t.a order by n desc limit 5"
    )
    assert formatted == Formatted(
        expected(
            """
            SELECT
              t.a,
              COUNT(*) AS n
            FROM t
            JOIN u
              ON u.id = t.u_id
            WHERE
              t.b = 'x' AND t.c IS NOT NULL
            GROUP BY
              t.a
            ORDER BY
              n DESC
            LIMIT 5
            """
        )
    )


@pytest.mark.parametrize(
    ("sql", "pretty"),
    [
        ("select 1", "SELECT\n  1"),
        ("  select 1 ;  ", "SELECT\n  1"),
        ("(select 1) union (select 2)", "(\n  SELECT\n    1\n)\nUNION\n(\n  SELECT\n    2\n)"),
        ("values (1, 'a')", "VALUES\n  (1, 'a')"),
        (
            "with c as (select 1 as a) select a from c",
            "WITH c AS (\n  SELECT\n    1 AS a\n)\nSELECT\n  a\nFROM c",
        ),
        (
            "insert into t (a) values (1) returning a",
            "INSERT INTO t (\n  a\n)\nVALUES\n  (1)\nRETURNING a",
        ),
        ("update t set a = 1 where b = 2", "UPDATE t SET a = 1\nWHERE\n  b = 2"),
        ("delete from t where a = 1", "DELETE FROM t\nWHERE\n  a = 1"),
    ],
)
def test_each_kind_of_statement_is_pretty_printed(sql: str, pretty: str) -> None:
    assert pretty_sql(sql) == Formatted(pretty)


@pytest.mark.parametrize(
    "sql",
    [
        "LISTEN foo",
        "NOTIFY foo, 'payload'",
        "SET search_path TO app",
        "create table t (a int primary key)",
        "begin",
        "",
    ],
)
def test_statements_snapq_does_not_pretty_print_are_kept_as_given(sql: str) -> None:
    assert pretty_sql(sql).text == sql
    assert pretty_sql(f"  {sql}\n").text == sql


def test_two_statements_are_kept_as_given_with_a_problem() -> None:
    formatted = pretty_sql("SELECT 1; SELECT 2\n")
    assert formatted.text == "SELECT 1; SELECT 2"
    assert formatted.problem == "more than one statement; shown as compiled"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT FROM WHERE (((",
        "SELECT 'unterminated",
        "SELECT (1",
        "select * from t where",
        "INSERT INTO",
        "WITH x AS SELECT 1",
    ],
)
def test_unparseable_text_is_kept_as_given_with_a_problem(sql: str) -> None:
    formatted = pretty_sql(sql)
    assert formatted.text == sql
    assert formatted.problem is not None
    assert formatted.problem.startswith("sqlglot could not parse it (")
    assert formatted.problem.endswith("); shown as compiled")
    assert "\n" not in formatted.problem


def test_formatting_is_deterministic() -> None:
    sql = "select a, b from t where x in (1, 2, 3) and y like 'z%' order by a nulls first"
    first = pretty_sql(sql)
    pretty_sql.cache_clear()
    assert pretty_sql(sql) == first
    assert pretty_sql(sql) is pretty_sql(sql)  # cached by its compiled text


@pytest.mark.parametrize(
    "literal", ["'50%'", "'%%'", "'100%% sure'", "'%(name)s'", "'%s'", "'it''s 5%'"]
)
def test_string_literals_with_percent_signs_are_kept_intact(literal: str) -> None:
    formatted = pretty_sql(f"select a from t where a like {literal}")
    assert formatted.problem is None
    assert formatted.text.endswith(f"WHERE\n  a LIKE {literal}")


def test_display_sql_from_sqlalchemy_keeps_percent_signs_single() -> None:
    items = table("items", column("name"))
    statement = select(items.c.name).where(items.c.name.like("50%")).where(items.c.name != "%")
    compiled = compile_for_display(statement, dialect=postgresql.psycopg.dialect())
    assert pretty_sql(compiled.sql).text == expected(
        """
        SELECT
          items.name
        FROM items
        WHERE
          items.name LIKE '50%' AND items.name <> '%'
        """
    )


DOCS = table(
    "docs",
    column("doc", postgresql.JSONB),
    column("raw", postgresql.JSON),
    column("opt", postgresql.JSONB(none_as_null=True)),
)


def test_json_values_are_strings_cast_to_their_type_as_psycopg_sends_them() -> None:
    statement = insert(DOCS).values(doc={"a": "it's é", "b": [1, None]}, raw=None, opt=None)
    compiled = compile_for_display(statement, dialect=postgresql.psycopg.dialect())
    assert compiled == CompiledSQL(
        "INSERT INTO docs (doc, raw, opt) VALUES ("
        """CAST('{"a": "it''s \\u00e9", "b": [1, null]}' AS JSONB), """  # json.dumps
        "CAST('null' AS JSON), "  # None is JSON's null, unless none_as_null
        "NULL)"
    )


def test_json_null_sql_null_and_ignored_json_values() -> None:
    # JSONB.NULL is JSON's null whatever none_as_null says: psycopg is sent 'null'.
    statement = insert(DOCS).values(doc=postgresql.JSONB.NULL)
    assert compile_for_display(statement, dialect=postgresql.psycopg.dialect()).sql == (
        "INSERT INTO docs (doc) VALUES (CAST('null' AS JSONB))"
    )
    statement = insert(DOCS).values(doc=null())
    assert compile_for_display(statement, dialect=postgresql.psycopg.dialect()).sql == (
        "INSERT INTO docs (doc) VALUES (NULL)"
    )
    ignored = compile_for_display(
        insert(DOCS),
        dialect=postgresql.psycopg.dialect(),
        values={"doc": IGNORED},
        column_keys=["doc"],
    )
    assert ignored.sql == "INSERT INTO docs (doc) VALUES (:doc)"


@pytest.mark.parametrize(
    ("value", "type_", "shown"),
    [
        (b"\x00\\'", LargeBinary(), r"CAST('\x005c27' AS BYTEA)"),  # hex, as psycopg sends
        (b"abc", postgresql.BYTEA(), r"CAST('\x616263' AS BYTEA)"),
        ("10.0.0.0/8", postgresql.INET(), "'10.0.0.0/8'"),  # untyped, as psycopg sends it
        ("fat & 'cat'", postgresql.TSQUERY(), "'fat & ''cat'''"),
        (None, postgresql.INET(), "NULL"),
    ],
)
def test_values_sqlalchemy_writes_wrongly_or_not_at_all(
    value: object, type_: object, shown: str
) -> None:
    statement = select(literal(value, type_))
    compiled = compile_for_display(statement, dialect=postgresql.psycopg.dialect())
    assert compiled == CompiledSQL(f"SELECT {shown} AS anon_1")


def test_text_statements_with_percent_signs_keep_them_single() -> None:
    statement = text("select 'a%' as x, :p as y").bindparams(p="q%")
    compiled = compile_for_display(statement, dialect=postgresql.psycopg.dialect())
    assert pretty_sql(compiled.sql).text == "SELECT\n  'a%' AS x,\n  'q%' AS y"


@pytest.mark.parametrize(
    ("sql", "respelled"),
    [
        ("select x::int from t", "SELECT\n  CAST(x AS INT)\nFROM t"),
        ("select '{}'::jsonb", "SELECT\n  CAST('{}' AS JSONB)"),
        ("select now()", "SELECT\n  CURRENT_TIMESTAMP"),
        ("select interval '1 day'", "SELECT\n  INTERVAL '1 DAY'"),
        ("select date_trunc('day', ts) from t", "SELECT\n  DATE_TRUNC('DAY', ts)\nFROM t"),
        ("select a from t order by a nulls last", "SELECT\n  a\nFROM t\nORDER BY\n  a"),
        ("select a from t order by a desc nulls first", "SELECT\n  a\nFROM t\nORDER BY\n  a DESC"),
    ],
)
def test_known_respellings_are_equivalent_in_postgresql(sql: str, respelled: str) -> None:
    """sqlglot's documented respellings (see snapq/_sql/format.py): expected, not bugs."""
    assert pretty_sql(sql) == Formatted(respelled)


@pytest.mark.parametrize(
    ("sql", "kept"),
    [
        ("select a from t order by a nulls first", "ORDER BY\n  a NULLS FIRST"),
        ("select a from t order by a desc nulls last", "ORDER BY\n  a DESC NULLS LAST"),
        ("select 'day', 'now()', 'x::int'", "'day',\n  'now()',\n  'x::int'"),
        ("select a from t where b = 'Mixed Case'", "b = 'Mixed Case'"),
        ('select "MixedCase" from "Table"', 'SELECT\n  "MixedCase"\nFROM "Table"'),
        ("select current_time, current_time(0)", "CURRENT_TIME,\n  CURRENT_TIME(0)"),
    ],
)
def test_what_changes_meaning_is_kept(sql: str, kept: str) -> None:
    assert kept in pretty_sql(sql).text


def test_current_timestamp_keeps_its_precision() -> None:
    formatted = pretty_sql("select current_timestamp(0)")
    assert "(0)" in formatted.text or formatted.problem is not None


def test_date_part_is_not_respelled_as_extract() -> None:
    formatted = pretty_sql("select date_part('epoch', ts) from t")
    assert "DATE_PART" in formatted.text.upper() or formatted.problem is not None


def test_named_placeholders_stay_named() -> None:
    assert pretty_sql("insert into t (j) values (:j)").text.endswith("VALUES\n  (:j)")


def test_json_is_serialized_as_the_engine_serializes_it() -> None:
    dialect = postgresql.psycopg.dialect(json_serializer=lambda value: "custom")
    compiled = compile_for_display(insert(DOCS).values(doc={"a": 1}), dialect=dialect)
    assert compiled.sql == "INSERT INTO docs (doc) VALUES (CAST('custom' AS JSONB))"


@pytest.mark.parametrize(
    ("sql", "respelled"),
    [
        ("select cast(x as timestamp without time zone)", "CAST(x AS TIMESTAMP)"),
        ("select cast(x as timestamp with time zone)", "CAST(x AS TIMESTAMPTZ)"),
        ("select cast(x as time without time zone)", "CAST(x AS TIME)"),
        ("select cast(x as time(3) with time zone)", "CAST(x AS TIMETZ(3))"),
        ("select cast(x as timestamp without time zone[])", "CAST(x AS TIMESTAMP[])"),
    ],
)
def test_types_spelled_with_their_time_zone_are_respelled_equivalently(
    sql: str, respelled: str
) -> None:
    assert pretty_sql(sql) == Formatted(f"SELECT\n  {respelled}")


def test_at_time_zone_is_not_taken_for_a_type() -> None:
    formatted = pretty_sql("select cast(x as timestamp) at time zone 'UTC' from t")
    assert formatted == Formatted("SELECT\n  CAST(x AS TIMESTAMP) AT TIME ZONE 'UTC'\nFROM t")


def test_a_time_zone_sqlglot_dropped_would_be_caught() -> None:
    from snapq._sql.format import _meaning

    with_zone = "select cast(x as timestamp with time zone)"
    assert _meaning(with_zone) != _meaning("SELECT CAST(x AS TIMESTAMP)")


ITEMS = table("items", column("id", Integer), column("tags", postgresql.ARRAY(String)))


@pytest.mark.parametrize(
    ("statement", "shown"),
    [
        (select(func.round(2.5)), "ROUND(CAST(2.5 AS DOUBLE PRECISION)) AS round_1"),
        (select(ITEMS.c.id).where(ITEMS.c.id == 2**40), "items.id = CAST(1099511627776 AS INT)"),
        (
            select(ITEMS.c.id).where(ITEMS.c.tags.contains(["red"])),
            "items.tags @> CAST(ARRAY['red'] AS VARCHAR[])",
        ),
        (
            select(literal(datetime.datetime(2024, 1, 2, 3, 4, 5))),
            "CAST('2024-01-02 03:04:05' AS TIMESTAMP) AS anon_1",
        ),
        (
            select(literal(datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC))),
            "CAST('2024-01-02 00:00:00+00:00' AS TIMESTAMPTZ) AS anon_1",
        ),
        (select(literal(datetime.time(1, 2))), "CAST('01:02:00' AS TIME) AS anon_1"),
    ],
)
def test_the_casts_that_keep_types_survive_formatting(statement: object, shown: str) -> None:
    compiled = compile_for_display(statement, dialect=postgresql.psycopg.dialect())
    formatted = pretty_sql(compiled.sql)
    assert formatted.problem is None
    assert shown in formatted.text
