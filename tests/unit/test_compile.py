from __future__ import annotations

import datetime
import json
import uuid
import warnings
from collections.abc import Collection
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Uuid,
    bindparam,
    func,
    insert,
    literal,
    null,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, CITEXT
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeDecorator, UserDefinedType

from snapq._sql.compile import _TEMPLATES, CompiledSQL, compile_execution, compile_for_display


def psycopg_dialect(**options: Any) -> Dialect:
    """Return a fresh, unconnected psycopg dialect, as an engine would make."""
    dialect: Dialect = postgresql.psycopg.dialect(**options)  # type: ignore[no-untyped-call]
    return dialect


DIALECT = psycopg_dialect()


class Point(UserDefinedType[Any]):
    """A column type with no literal renderer, as many extension types are."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "POINT"


class Tagged(TypeDecorator[Any]):
    """A custom type that adds neither a bind nor a literal processor."""

    impl = String
    cache_ok = True


metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("born", Date),
    Column("active", Boolean),
    Column("document", postgresql.JSONB),
    Column("json", JSON),
    Column("json_or_null", JSON(none_as_null=True)),
    Column("data", LargeBinary),
    Column("address", postgresql.INET),
    Column("span", postgresql.INT4RANGE),
    Column("documents", postgresql.ARRAY(JSON)),
    Column("at", Point),
    Column("tag", Tagged),
)
stamped = Table(
    "stamped",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("token", String, default=lambda: "generated"),
)


def executed(
    statement: Any, *, dialect: Dialect = DIALECT, ignore: Collection[str] = ()
) -> CompiledSQL:
    """Return what snapq shows of ``statement`` executed with its own values."""
    compiled = statement.compile(dialect=dialect)
    return compile_execution(
        compiled, compiled.construct_params(), sent=str(compiled), ignore=ignore
    )


def inserted(**values: Any) -> CompiledSQL:
    """Return what snapq shows of an INSERT of ``values`` into ``things``."""
    return executed(insert(things).values(id=1, **values))


# Literal values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal_sql"),
    [
        pytest.param("plain", "'plain'", id="string"),
        pytest.param("it's", "'it''s'", id="quote-doubled"),
        pytest.param("C:\\temp\\new", "'C:\\temp\\new'", id="backslash-kept"),
        pytest.param("", "''", id="empty-string"),
    ],
)
def test_string_column_values_are_inlined_as_literals(value: Any, literal_sql: str) -> None:
    shown = executed(select(things.c.id).where(things.c.name == value))
    assert shown == CompiledSQL(
        f"SELECT things.id \nFROM things \nWHERE things.name = {literal_sql}"
    )


def test_int_date_and_boolean_values_are_inlined_as_literals() -> None:
    statement = select(things.c.id).where(
        things.c.id == 5,
        things.c.born == datetime.date(2024, 1, 2),
        things.c.active == True,  # noqa: E712 - a SQL comparison, not a Python one
    )
    assert executed(statement) == CompiledSQL(
        "SELECT things.id \nFROM things \n"
        "WHERE things.id = 5 AND things.born = '2024-01-02' AND things.active = true"
    )


def test_none_in_an_insert_is_null() -> None:
    assert inserted(name=None).sql == "INSERT INTO things (id, name) VALUES (1, NULL)"


def test_a_dialect_that_knows_backslashes_escape_doubles_them() -> None:
    # A connected dialect whose server has standard_conforming_strings off.
    dialect: Any = psycopg_dialect()
    dialect.server_version_info = (16, 0)
    dialect._backslash_escapes = True
    shown = executed(select(things.c.id).where(things.c.name == "a\\b"), dialect=dialect)
    assert shown.sql == "SELECT things.id \nFROM things \nWHERE things.name = 'a\\\\b'"


def test_a_percent_sign_is_not_doubled() -> None:
    shown = executed(select(things.c.id).where(things.c.name.like("50%")))
    assert shown.sql == "SELECT things.id \nFROM things \nWHERE things.name LIKE '50%'"


# JSON and bytes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cast"),
    [
        pytest.param({"a": [1, 2]}, """CAST('{"a": [1, 2]}' AS JSONB)""", id="object"),
        pytest.param({"who": "it's"}, """CAST('{"who": "it''s"}' AS JSONB)""", id="quote"),
        pytest.param("a\\b", """CAST('"a\\\\b"' AS JSONB)""", id="backslash"),
        pytest.param([1, "x"], """CAST('[1, "x"]' AS JSONB)""", id="array"),
        pytest.param(None, "CAST('null' AS JSONB)", id="none-is-json-null"),
    ],
)
def test_jsonb_values_are_casts_of_their_serialization(value: Any, cast: str) -> None:
    assert inserted(document=value).sql == f"INSERT INTO things (id, document) VALUES (1, {cast})"


def test_json_values_are_cast_to_json() -> None:
    shown = inserted(json={"a": 1})
    assert shown.sql == """INSERT INTO things (id, json) VALUES (1, CAST('{"a": 1}' AS JSON))"""


def test_json_none_is_sql_null_when_the_type_says_none_as_null() -> None:
    assert inserted(json_or_null=None).sql == (
        "INSERT INTO things (id, json_or_null) VALUES (1, NULL)"
    )


def test_json_sql_null_construct_is_sql_null() -> None:
    assert inserted(json=null()).sql == "INSERT INTO things (id, json) VALUES (1, NULL)"


@pytest.mark.parametrize("column", ["json", "json_or_null"])
def test_json_null_constant_is_json_null(column: str) -> None:
    assert inserted(**{column: JSON.NULL}).sql == (
        f"INSERT INTO things (id, {column}) VALUES (1, CAST('null' AS JSON))"
    )


def test_json_is_serialized_as_the_engine_serializes_it() -> None:
    compact = psycopg_dialect(
        json_serializer=lambda value: json.dumps(value, separators=(",", ":"))
    )
    shown = executed(insert(things).values(id=1, json={"a": [1, 2]}), dialect=compact)
    assert shown.sql == """INSERT INTO things (id, json) VALUES (1, CAST('{"a":[1,2]}' AS JSON))"""


@pytest.mark.parametrize(
    "value",
    [b"\x00\xffA", bytearray(b"\x00\xffA"), memoryview(b"\x00\xffA")],
    ids=["bytes", "bytearray", "memoryview"],
)
def test_bytes_are_a_cast_of_their_hex(value: Any) -> None:
    assert inserted(data=value).sql == (
        "INSERT INTO things (id, data) VALUES (1, CAST('\\x00ff41' AS BYTEA))"
    )


# Values without a literal -------------------------------------------------------------


def test_a_string_of_a_type_without_literals_is_a_plain_string() -> None:
    assert inserted(address="10.0.0.1") == CompiledSQL(
        "INSERT INTO things (id, address) VALUES (1, '10.0.0.1')"
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param("span", postgresql.Range(1, 5), id="range"),
        pytest.param("documents", [{"a": 1}], id="array-of-json"),
        pytest.param("at", (1, 2), id="user-defined-type"),
        pytest.param("tag", ("not", "a", "string"), id="type-decorator"),
    ],
)
def test_a_value_without_a_literal_stays_a_placeholder_and_is_listed(
    column: str, value: Any
) -> None:
    assert inserted(**{column: value}) == CompiledSQL(
        f"INSERT INTO things (id, {column}) VALUES (1, :{column})", ((column, value),)
    )


def test_ignored_parameters_stay_placeholders_and_are_not_listed() -> None:
    statement = select(things.c.id).where(things.c.id == 5, things.c.name == "secret")
    assert executed(statement, ignore={"name_1"}) == CompiledSQL(
        "SELECT things.id \nFROM things \nWHERE things.id = 5 AND things.name = :name_1"
    )


def test_an_ignored_value_that_has_no_literal_is_not_listed_either() -> None:
    shown = executed(insert(things).values(id=1, span=postgresql.Range(1, 5)), ignore={"span"})
    assert shown == CompiledSQL("INSERT INTO things (id, span) VALUES (1, :span)")


# Expanding IN -------------------------------------------------------------------------


def test_an_in_list_is_rendered_as_a_list() -> None:
    shown = executed(select(things.c.id).where(things.c.id.in_([1, 2, 3])))
    assert shown == CompiledSQL("SELECT things.id \nFROM things \nWHERE things.id IN (1, 2, 3)")


def test_an_in_list_split_as_the_cursor_saw_it_is_gathered_back() -> None:
    compiled: SQLCompiler = (
        select(things.c.name).where(things.c.name.in_(["a", "b"])).compile(dialect=DIALECT)
    )
    expanded = compiled.construct_expanded_state(compiled.construct_params())
    assert set(expanded.parameters) == {"name_1_1", "name_1_2"}
    shown = compile_execution(compiled, expanded.parameters, sent=expanded.statement)
    assert shown == CompiledSQL(
        "SELECT things.name \nFROM things \nWHERE things.name IN ('a', 'b')"
    )


def test_an_ignored_in_list_stays_one_placeholder() -> None:
    statement = select(things.c.id).where(things.c.name.in_(["a", "b"]))
    assert executed(statement, ignore={"name_1"}) == CompiledSQL(
        "SELECT things.id \nFROM things \nWHERE things.name IN (:name_1)"
    )


# Parameters typed by their value ------------------------------------------------------


def test_untyped_text_parameters_are_typed_by_their_value() -> None:
    compiled = text("SELECT :word, :number").compile(dialect=DIALECT)
    shown = compile_execution(compiled, {"word": "it's", "number": 3}, sent=str(compiled))
    assert shown == CompiledSQL("SELECT 'it''s', 3")


def test_the_same_sql_sent_with_differently_typed_values_renders_each_by_its_type() -> None:
    rendered = [executed(select(literal(value))).sql for value in (True, None, True)]
    assert rendered == ["SELECT true AS anon_1", "SELECT NULL AS anon_1", "SELECT true AS anon_1"]


# The template cache -------------------------------------------------------------------


def test_a_statement_shape_seen_again_reuses_its_template_with_the_new_values() -> None:
    def shown(number: int, name: str) -> str:
        statement = select(things.c.id).where(things.c.id == number, things.c.name == name)
        return executed(statement).sql

    first = shown(7, "b")
    cached = len(_TEMPLATES)
    second = shown(8, "c")
    assert len(_TEMPLATES) == cached
    assert first == "SELECT things.id \nFROM things \nWHERE things.id = 7 AND things.name = 'b'"
    assert second == "SELECT things.id \nFROM things \nWHERE things.id = 8 AND things.name = 'c'"


# compile_for_display ------------------------------------------------------------------


def test_display_inlines_the_statement_values() -> None:
    statement = select(things.c.id).where(things.c.id == 5, things.c.name == "it's")
    assert compile_for_display(statement, dialect=DIALECT) == CompiledSQL(
        "SELECT things.id \nFROM things \nWHERE things.id = 5 AND things.name = 'it''s'"
    )


def test_display_shows_the_values_given_by_parameter_name() -> None:
    statement = select(things.c.id).where(things.c.id == bindparam("wanted"))
    shown = compile_for_display(statement, dialect=DIALECT, values={"wanted": 4})
    assert shown == CompiledSQL("SELECT things.id \nFROM things \nWHERE things.id = 4")


def test_display_shows_python_side_defaults_added_at_execution() -> None:
    statement = insert(stamped).values(id=1)
    shown = compile_for_display(statement, dialect=DIALECT, values={"id": 1, "token": "abc"})
    assert shown == CompiledSQL("INSERT INTO stamped (id, token) VALUES (1, 'abc')")


def test_display_column_keys_choose_the_inserted_columns() -> None:
    shown = compile_for_display(
        insert(stamped),
        dialect=DIALECT,
        values={"id": 2, "name": "x", "token": "abc"},
        column_keys=["id", "name"],
    )
    assert shown == CompiledSQL("INSERT INTO stamped (id, name, token) VALUES (2, 'x', 'abc')")


def test_display_types_untyped_text_parameters_by_their_value() -> None:
    shown = compile_for_display(
        text("SELECT :word, :number"), dialect=DIALECT, values={"word": "it's", "number": 5}
    )
    assert shown == CompiledSQL("SELECT 'it''s', 5")


def test_display_lists_a_value_without_a_literal() -> None:
    span = postgresql.Range(1, 5)
    shown = compile_for_display(insert(things).values(id=1, span=span), dialect=DIALECT)
    assert shown == CompiledSQL(
        "INSERT INTO things (id, span) VALUES (1, :span)", (("span", span),)
    )


def test_display_leaves_a_required_parameter_without_a_value_as_a_placeholder() -> None:
    statement = select(things.c.id).where(things.c.id == bindparam("wanted"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown = compile_for_display(statement, dialect=DIALECT)
    assert shown.sql == "SELECT things.id \nFROM things \nWHERE things.id = :wanted"
    assert caught == []


@pytest.mark.parametrize("type_", [String(), CHAR(3), Enum("a\nb", name="e"), CITEXT()], ids=repr)
@pytest.mark.parametrize(
    "dialect",
    [postgresql.psycopg.dialect(), postgresql.asyncpg.dialect()],
    ids=["psycopg", "asyncpg"],
)
def test_every_string_type_shows_control_characters_escaped(type_: Any, dialect: Any) -> None:
    statement = select(
        literal("a\nb", type_).label("v"), literal(["a\nb"], ARRAY(type_)).label("a")
    )
    shown = compile_for_display(statement, dialect=dialect).sql
    # Escaped inside the casts too (an array keeps its element type: see below).
    assert "\n" not in shown
    assert shown.count("E'a\\nb'") == 2
    assert "ARRAY[E'a\\nb']" in shown


# Types kept where the literal alone would lose them ------------------------------------

typed = Table(
    "typed",
    metadata,
    Column("id", Integer),
    Column("small", SmallInteger),
    Column("big", BigInteger),
    Column("score", Float),
    Column("price", Numeric),
    Column("seen", DateTime),
    Column("tags", ARRAY(String)),
    Column("numbers", ARRAY(Integer)),
    Column("days", ARRAY(Date)),
    Column("uid", Uuid),
    Column("span", Interval),
)
c = typed.c


def shown_both_ways(statement: Any) -> str:
    """Return the display of ``statement``, checking both paths agree on it."""
    compiled = compile_for_display(statement, dialect=DIALECT)
    assert executed(statement) == compiled
    return compiled.sql.replace(" \n", " ").replace("\n", " ")


@pytest.mark.parametrize(
    ("statement", "sql"),
    [
        pytest.param(
            select(func.round(2.5)),
            "SELECT round(CAST(2.5 AS DOUBLE PRECISION)) AS round_1",
            id="a-float-is-sent-as-float8",
        ),
        pytest.param(
            select(literal(0.1) + literal(0.2)),
            "SELECT CAST(0.1 AS DOUBLE PRECISION) + CAST(0.2 AS DOUBLE PRECISION) AS anon_1",
            id="float-arithmetic",
        ),
        pytest.param(
            select(c.id).where(c.id == 5_000_000_000),
            "SELECT typed.id FROM typed WHERE typed.id = CAST(5000000000 AS INTEGER)",
            id="an-integer-out-of-its-type-fails-as-sent",
        ),
        pytest.param(
            select(c.id).where(c.id.in_([1, 5_000_000_000])),
            "SELECT typed.id FROM typed WHERE typed.id IN (1, CAST(5000000000 AS INTEGER))",
            id="in-a-list-too",
        ),
        pytest.param(
            select(c.id).where(c.small == 40_000),
            "SELECT typed.id FROM typed WHERE typed.small = CAST(40000 AS SMALLINT)",
            id="smallint",
        ),
        pytest.param(
            select(c.small + 1),
            "SELECT typed.small + CAST(1 AS SMALLINT) AS anon_1 FROM typed",
            id="smallint-arithmetic-overflows-as-smallint",
        ),
        pytest.param(
            select(c.id).where(c.tags.contains(["red"])),
            "SELECT typed.id FROM typed WHERE typed.tags @> CAST(ARRAY['red'] AS VARCHAR[])",
            id="array-literals-are-typed-by-their-elements",
        ),
        pytest.param(
            select(c.id).where(c.price == 0.1),
            "SELECT typed.id FROM typed WHERE typed.price = CAST(0.1 AS DOUBLE PRECISION)",
            id="a-float-against-numeric-compares-as-float8",
        ),
        pytest.param(
            select(literal(Decimal(5))),
            "SELECT CAST(5 AS NUMERIC) AS anon_1",
            id="a-whole-decimal-is-not-an-integer",
        ),
        pytest.param(
            select(literal(5, BigInteger)),
            "SELECT CAST(5 AS BIGINT) AS anon_1",
            id="a-bigint-alone",
        ),
        pytest.param(
            select(literal(datetime.date(2024, 1, 2))),
            "SELECT CAST('2024-01-02' AS DATE) AS anon_1",
            id="a-date-alone",
        ),
        pytest.param(
            select(literal(None, Integer)),
            "SELECT CAST(NULL AS INTEGER) AS anon_1",
            id="a-typed-null-alone",
        ),
        pytest.param(
            select(c.id).where(c.seen == "2024-01-02 03:04:05"),
            "SELECT typed.id FROM typed WHERE typed.seen = CAST('2024-01-02 03:04:05' AS VARCHAR)",
            id="a-string-compared-with-a-timestamp-fails-as-sent",
        ),
        pytest.param(
            select(c.id).where(c.seen > datetime.date(2024, 1, 1)),
            "SELECT typed.id FROM typed WHERE typed.seen > CAST('2024-01-01' AS DATE)",
            id="a-date-compared-with-a-timestamp",
        ),
        pytest.param(
            select(literal(2) ** 3),
            "SELECT power(2, 3) AS pow_1",
            id="power-writes-its-arguments-as-literals",
        ),
    ],
)
def test_a_literal_keeps_its_type_where_alone_it_would_mean_another(
    statement: Any, sql: str
) -> None:
    assert shown_both_ways(statement) == sql


@pytest.mark.parametrize(
    ("statement", "sql"),
    [
        pytest.param(
            select(c.id).where(c.id == 5, c.big == 5, c.score > 1.5, c.price == Decimal(5)),
            "SELECT typed.id FROM typed WHERE typed.id = 5 AND typed.big = 5"
            " AND typed.score > 1.5 AND typed.price = 5",
            id="numbers-compared-with-columns",
        ),
        pytest.param(
            select(c.big + 1, c.score * 0.5),
            "SELECT typed.big + 1 AS anon_1, typed.score * 0.5 AS anon_2 FROM typed",
            id="arithmetic-with-columns",
        ),
        pytest.param(
            select(things.c.id).where(
                things.c.born.between(datetime.date(2024, 1, 1), datetime.date(2024, 2, 1)),
                things.c.born.in_([datetime.date(2024, 1, 2)]),
            ),
            "SELECT things.id FROM things WHERE things.born BETWEEN '2024-01-01' AND"
            " '2024-02-01' AND things.born IN ('2024-01-02')",
            id="dates-compared-with-columns",
        ),
        pytest.param(
            select(c.id).where(tuple_(c.id, c.seen).in_([(1, datetime.datetime(2024, 1, 1))])),
            "SELECT typed.id FROM typed WHERE (typed.id, typed.seen) IN ((1, '2024-01-01 00:00:00'))",
            id="tuples",
        ),
        pytest.param(
            select(literal(5), literal("x"), literal(True), literal([1, 2], ARRAY(Integer))),
            "SELECT 5 AS anon_1, 'x' AS anon_2, true AS anon_3, ARRAY[1, 2] AS anon_4",
            id="literals-that-have-their-type",
        ),
        pytest.param(
            insert(typed).values(id=None, seen=datetime.datetime(2024, 1, 1), tags=["a"]),
            "INSERT INTO typed (id, seen, tags) VALUES (NULL, '2024-01-01 00:00:00', ARRAY['a'])",
            id="values-stored-into-columns",
        ),
    ],
)
def test_a_literal_its_place_gives_the_type_stays_plain(statement: Any, sql: str) -> None:
    assert shown_both_ways(statement) == sql


@pytest.mark.parametrize(
    ("values", "kept"),
    [
        pytest.param({"numbers": []}, "CAST(ARRAY[] AS INTEGER[])", id="empty-array"),
        pytest.param(
            {"days": [datetime.date(2024, 1, 2)]},
            "CAST(ARRAY['2024-01-02'] AS DATE[])",
            id="text-array-into-dates",
        ),
    ],
)
def test_an_array_stored_into_a_column_keeps_its_type_unless_it_converts(
    values: dict[str, Any], kept: str
) -> None:
    assert kept in shown_both_ways(update(typed).values(**values))


@pytest.mark.parametrize(
    ("value", "sql"),
    [
        pytest.param(datetime.timedelta(days=1), "make_interval(days => 1)", id="a-day"),
        pytest.param(
            datetime.timedelta(days=2, seconds=3, microseconds=40),
            "make_interval(days => 2, secs => 3.00004)",
            id="days-and-seconds",
        ),
        pytest.param(
            datetime.timedelta(seconds=-1),
            "make_interval(days => -1, secs => 86399)",
            id="negative",
        ),
        pytest.param(datetime.timedelta(0), "make_interval()", id="zero"),
    ],
)
def test_intervals_keep_days_apart_from_seconds_as_psycopg_sends_them(
    value: datetime.timedelta, sql: str
) -> None:
    assert shown_both_ways(select(literal(value))) == f"SELECT {sql} AS anon_1"


@pytest.mark.parametrize(
    ("value", "sql"),
    [
        pytest.param(float("nan"), "CAST('NaN' AS DOUBLE PRECISION)", id="nan"),
        pytest.param(float("inf"), "CAST('Infinity' AS DOUBLE PRECISION)", id="infinity"),
        pytest.param(-0.0, "CAST('-0' AS DOUBLE PRECISION)", id="minus-zero"),
        pytest.param(Decimal("-Infinity"), "CAST('-Infinity' AS NUMERIC)", id="numeric"),
    ],
)
def test_special_numbers_are_written_as_strings_of_their_type(value: Any, sql: str) -> None:
    assert shown_both_ways(select(literal(value))) == f"SELECT {sql} AS anon_1"


def test_a_special_number_a_column_meets_is_a_plain_string() -> None:
    not_a_number = float("nan")
    assert shown_both_ways(select(c.id).where(c.score == not_a_number)) == (
        "SELECT typed.id FROM typed WHERE typed.score = 'NaN'"
    )


def test_text_parameters_are_typed_as_psycopg_sends_their_values() -> None:
    # No statement around them to give a literal its type; psycopg types each value.
    compiled = text("SELECT :n, :f, :d, :s").compile(dialect=DIALECT)
    values = {"n": 5, "f": 0.5, "d": datetime.date(2024, 1, 2), "s": "x"}
    shown = compile_execution(compiled, values, sent=str(compiled))
    assert shown.sql == "SELECT 5, CAST(0.5 AS DOUBLE PRECISION), CAST('2024-01-02' AS DATE), 'x'"


def test_a_cast_sqlalchemy_writes_after_the_literal_is_not_doubled() -> None:
    value = uuid.UUID(int=1)
    assert executed(select(literal(value))).sql == (
        "SELECT '00000000-0000-0000-0000-000000000001'::UUID AS anon_1"
    )
    assert compile_for_display(select(literal(value)), dialect=DIALECT).sql == (
        "SELECT CAST('00000000-0000-0000-0000-000000000001' AS UUID) AS anon_1"
    )


def test_asyncpg_casts_are_the_types_kept() -> None:
    # asyncpg's dialect casts floats and numerics too; only what differs is kept.
    statement = select(
        literal(2.5), literal(Decimal("1.555"), Numeric(10, 2)), literal("a", Enum("a", name="e"))
    ).where(c.price == Decimal("1.5"))
    shown = compile_for_display(statement, dialect=postgresql.asyncpg.dialect()).sql
    assert shown == (
        "SELECT CAST(2.5 AS FLOAT) AS anon_1, CAST(1.555 AS NUMERIC(10, 2)) AS anon_2,"
        " CAST('a' AS e) AS anon_3 \nFROM typed \nWHERE typed.price = 1.5"
    )


def test_a_tuple_in_list_split_as_the_cursor_saw_it_is_gathered_back() -> None:
    statement = select(c.id).where(tuple_(c.id, c.small).in_([(1, 2), (3, 4)]))
    compiled: SQLCompiler = statement.compile(dialect=DIALECT)
    expanded = compiled.construct_expanded_state(compiled.construct_params())
    assert set(expanded.parameters) == {"param_1_1_1", "param_1_1_2", "param_1_2_1", "param_1_2_2"}
    shown = compile_execution(compiled, expanded.parameters, sent=expanded.statement)
    assert shown.sql.endswith("WHERE (typed.id, typed.small) IN ((1, 2), (3, 4))")
