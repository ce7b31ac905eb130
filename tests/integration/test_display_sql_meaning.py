"""Display SQL means what was sent, checked on PostgreSQL itself.

Each statement of the corpus runs twice on the test's connection, each time in a
savepoint rolled back after it: as SQLAlchemy sends it, and as the text snapq shows
for it (``text()`` of the displayed SQL). Both must come out the same: the same
columns of the same types, the same rows in PostgreSQL's text, the same status, or
the same SQLSTATE. Strings are one type here: a quoted literal is text where the
parameter was varchar, which no value or comparison tells apart.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Interval,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    Uuid,
    any_,
    case,
    event,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import DBAPIError

from snapq._sql.compile import CompiledSQL, compile_execution, compile_for_display
from snapq._sql.format import display_sql

metadata = MetaData()
MOOD = Enum("happy", "sad", name="meaning_mood", metadata=metadata)
things = Table(
    "meaning_things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50)),
    Column("note", Text),
    Column("big", BigInteger),
    Column("small", SmallInteger),
    Column("born", Date),
    Column("seen", DateTime),
    Column("seen_tz", DateTime(timezone=True)),
    Column("at", Time),
    Column("active", Boolean),
    Column("score", Float),
    Column("ratio", REAL),
    Column("price", Numeric(10, 2)),
    Column("exact", Numeric),
    Column("doc", JSONB),
    Column("tags", ARRAY(String)),
    Column("labels", ARRAY(Text)),
    Column("numbers", ARRAY(Integer)),
    Column("span", Interval),
    Column("uid", Uuid),
    Column("mood", MOOD),
)
t = things.c
UID = uuid.UUID("00000000-0000-0000-0000-00000000000a")
ROWS = [
    {
        "id": 1,
        "name": "ann",
        "note": "it's",
        "big": 5_000_000_000,
        "small": 1,
        "born": datetime.date(2024, 1, 2),
        "seen": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "seen_tz": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "at": datetime.time(9, 30),
        "active": True,
        "score": 1.5,
        "ratio": 0.1,
        "price": Decimal("9.99"),
        "exact": Decimal("0.1"),
        "doc": {"a": "x", "n": 1},
        "tags": ["red", "blue"],
        "labels": ["x"],
        "numbers": [1, 2],
        "span": datetime.timedelta(days=1),
        "uid": UID,
        "mood": "happy",
    },
    {"id": 2, "name": "bob", "small": 2, "born": datetime.date(2023, 5, 6), "active": False},
    {"id": 3, "name": None, "small": 32767, "score": 2.5, "tags": []},
]

AWARE = datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=9)))
# The statements the display got wrong before it kept types (issue 13).
REPORTED = [
    pytest.param(select(func.round(2.5)), id="round-of-a-float"),
    pytest.param(select(literal(0.1) + literal(0.2)), id="float-sum"),
    pytest.param(select(t.id).where(t.id == 5_000_000_000), id="integer-out-of-range"),
    pytest.param(select(t.id).where(t.tags.contains(["red"])), id="varchar-array-contains"),
    pytest.param(select(literal(2) ** 3), id="power-of-integers"),
]
ORDINARY = [
    pytest.param(select(t.id).where(t.id == 1), id="int"),
    pytest.param(select(t.id).where(t.name == "ann"), id="string"),
    pytest.param(select(t.id).where(t.note == "it's"), id="string-with-quote"),
    pytest.param(select(t.id).where(t.name.like("a%")), id="like"),
    pytest.param(select(t.id).where(t.name.is_(None)), id="is-null"),
    pytest.param(select(t.id).where(t.name.in_(["ann", "bob"])), id="strings-in"),
    pytest.param(select(t.id).where(t.id.in_([1, 3])), id="ints-in"),
    pytest.param(select(t.id).where(t.id.in_([1, 5_000_000_000])), id="int-in-out-of-range"),
    pytest.param(select(t.id).where(t.id.in_([])), id="empty-in"),
    pytest.param(select(t.id).where(tuple_(t.id, t.name).in_([(1, "ann")])), id="tuple-in"),
    pytest.param(select(t.id).where(t.born == datetime.date(2024, 1, 2)), id="date"),
    pytest.param(
        select(t.id).where(t.born.between(datetime.date(2023, 1, 1), datetime.date(2023, 12, 31))),
        id="date-between",
    ),
    pytest.param(select(t.id).where(t.born.in_([datetime.date(2024, 1, 2)])), id="dates-in"),
    pytest.param(select(t.id).where(t.seen > datetime.datetime(2024, 1, 1, 12)), id="datetime"),
    pytest.param(select(t.id).where(t.seen_tz > AWARE), id="aware-datetime"),
    pytest.param(select(t.id).where(t.seen == "2024-01-02 03:04:05"), id="datetime-as-string"),
    pytest.param(select(t.id).where(t.at < datetime.time(12)), id="time"),
    pytest.param(select(t.id).where(t.active.is_(True)), id="bool"),
    pytest.param(select(t.id).where(t.active == False), id="bool-equal"),  # noqa: E712
    pytest.param(select(t.id).where(t.big == 5_000_000_000), id="bigint"),
    pytest.param(select(t.id).where(t.big > 5), id="bigint-small-value"),
    pytest.param(select(t.big + 1), id="bigint-plus"),
    pytest.param(select(t.small + 1), id="smallint-plus"),
    pytest.param(select(t.small + 32767), id="smallint-overflow"),
    pytest.param(select(t.id).where(t.small == 40_000), id="smallint-out-of-range"),
    pytest.param(select(t.id).where(t.score > 1.5), id="float-column"),
    pytest.param(select(t.id).where(t.ratio < 0.5), id="real-column"),
    pytest.param(select(t.score * 0.1), id="float-column-times"),
    pytest.param(select(t.id).where(t.price == Decimal("9.99")), id="numeric"),
    pytest.param(select(t.id).where(t.exact == 0.1), id="float-against-numeric"),
    pytest.param(select(literal(Decimal(5)) / 2), id="integral-decimal"),
    pytest.param(select(t.id).where(t.doc["a"].astext == "x"), id="jsonb-text"),
    pytest.param(select(t.doc["n"]), id="jsonb-key"),
    pytest.param(select(t.id).where(t.doc.contains({"a": "x"})), id="jsonb-contains"),
    pytest.param(select(t.id).where(t.labels.contains(["x"])), id="text-array-contains"),
    pytest.param(select(t.id).where(t.numbers.contains([1])), id="int-array-contains"),
    pytest.param(select(t.id).where(t.numbers == [1, 2]), id="int-array-equal"),
    pytest.param(select(t.id).where(t.tags == []), id="empty-array"),
    pytest.param(select(t.id).where(literal(2) == any_(t.numbers)), id="any"),
    pytest.param(select(t.id).where(t.span > datetime.timedelta(hours=1)), id="interval"),
    pytest.param(select(t.seen + datetime.timedelta(days=1, seconds=1)), id="datetime-plus"),
    pytest.param(select(t.id).where(t.uid == UID), id="uuid"),
    pytest.param(select(t.id).where(t.mood == "happy"), id="enum"),
    pytest.param(select(t.name + "!"), id="concatenation"),
    pytest.param(select(case((t.id == 1, "one"), else_="other")), id="case"),
    pytest.param(select(func.coalesce(t.born, datetime.date(2000, 1, 1))), id="coalesce-date"),
    pytest.param(select(t.id).order_by(t.id).limit(2).offset(1), id="limit"),
]
# Literals alone, where nothing around them gives them a type.
ALONE = [
    pytest.param(select(literal(5), literal("x"), literal(True)), id="plain-literals"),
    pytest.param(select(literal(5, BigInteger)), id="bigint-literal"),
    pytest.param(select(literal(5, SmallInteger)), id="smallint-literal"),
    pytest.param(select(literal(None, Integer) + literal(None, Integer)), id="typed-nulls"),
    pytest.param(select(literal(datetime.date(2024, 1, 2)) + 1), id="date-plus-days"),
    pytest.param(
        select(func.date_trunc("month", literal(datetime.datetime(2024, 1, 2, 3)))),
        id="date-trunc",
    ),
    pytest.param(select(literal(AWARE)), id="aware-datetime-literal"),
    pytest.param(select(literal(datetime.time(1, 2, 3))), id="time-literal"),
    pytest.param(select(literal(datetime.timedelta(days=1))), id="interval-of-a-day"),
    pytest.param(select(literal(datetime.timedelta(days=-1, microseconds=5))), id="interval-minus"),
    pytest.param(select(literal(UID)), id="uuid-literal"),
    pytest.param(select(literal(float("nan")), literal(float("-inf"))), id="float-nan-inf"),
    pytest.param(select(literal(Decimal("NaN"))), id="numeric-nan"),
    pytest.param(select(literal(-0.0), literal(1e300)), id="float-edges"),
    pytest.param(select(literal([1, 2], ARRAY(Integer))), id="int-array"),
    pytest.param(select(literal([], ARRAY(Integer))), id="empty-int-array"),
    pytest.param(select(literal([1.5], ARRAY(Float))), id="float-array"),
    pytest.param(select(literal(["a"], ARRAY(String))), id="varchar-array"),
    pytest.param(select(literal("happy", MOOD)), id="enum-literal"),
]
WRITES = [
    pytest.param(
        insert(things)
        .values(id=10, name=None, born=datetime.date(2024, 2, 3), tags=["a"], numbers=[])
        .returning(t.id, t.born, t.tags, t.numbers),
        id="insert",
    ),
    pytest.param(
        insert(things).values(id=11, big=5_000_000_000, exact=0.30000000000000004),
        id="insert-float-into-numeric",
    ),
    pytest.param(
        update(things)
        .where(t.id == 1)
        .values(seen=datetime.datetime(2025, 1, 1), score=0.1, span=datetime.timedelta(0))
        .returning(t.seen, t.score, t.span),
        id="update",
    ),
    pytest.param(update(things).where(t.id == 2).values(id=5_000_000_000), id="update-overflow"),
]
TEXTS = [
    pytest.param(
        text("SELECT id FROM meaning_things WHERE born = :born").bindparams(
            born=datetime.date(2024, 1, 2)
        ),
        id="text-bound-date",
    ),
    pytest.param(
        text("SELECT :n * 2 AS twice, :f AS half").bindparams(n=21, f=0.5), id="text-numbers"
    ),
]


@dataclass(frozen=True)
class Outcome:
    """What one execution came to, in PostgreSQL's own terms."""

    status: str | None = None
    types: tuple[int, ...] = ()
    rows: tuple[tuple[str | None, ...], ...] = ()
    sqlstate: str | None = None


# Every string type is text here: a quoted literal is the text the parameter was.
_STRING_OIDS = {1043: 25, 705: 25, 1042: 25}


def _outcome_of(result: Any) -> Outcome:
    types = tuple(_STRING_OIDS.get(result.ftype(i), result.ftype(i)) for i in range(result.nfields))
    rows = tuple(
        tuple(
            None if (cell := result.get_value(row, column)) is None else bytes(cell).decode()
            for column in range(result.nfields)
        )
        for row in range(result.ntuples)
    )
    status = (result.command_status or b"").decode()
    return Outcome(status, types, tuple(sorted(rows, key=repr)))


@dataclass
class Execution:
    """An execution's outcome, and what snapq shows of it."""

    outcome: Outcome
    shown: CompiledSQL | None


def execute(connection: Connection, statement: Any) -> Execution:
    """Run ``statement`` in a savepoint rolled back after it; return its outcome, and
    the SQL snapq compiles from what the cursor was sent (as assert_query does)."""
    seen: dict[str, Any] = {}

    def before(*event_arguments: Any) -> None:
        # SQLAlchemy's before_cursor_execute: conn, cursor, statement, parameters,
        # context, executemany
        _, _, seen["sent"], _, context, _ = event_arguments
        seen["compiled"] = context.compiled
        seen["parameters"] = dict(context.compiled_parameters[0])

    def after(*event_arguments: Any) -> None:
        seen["result"] = event_arguments[1].pgresult  # the psycopg cursor's

    savepoint = connection.begin_nested()
    event.listen(connection, "before_cursor_execute", before)
    event.listen(connection, "after_cursor_execute", after)
    try:
        connection.execute(statement)
        outcome = _outcome_of(seen["result"])
    except DBAPIError as error:
        outcome = Outcome(sqlstate=getattr(error.orig, "sqlstate", "?"))
    finally:
        event.remove(connection, "before_cursor_execute", before)
        event.remove(connection, "after_cursor_execute", after)
        savepoint.rollback()
    shown = None
    if seen.get("compiled") is not None:
        shown = compile_execution(seen["compiled"], seen["parameters"], sent=seen["sent"])
    return Execution(outcome, shown)


def runnable(shown: CompiledSQL) -> Any:
    """Return the displayed SQL as a statement to run: text() with its colons escaped."""
    assert shown.parameters == (), shown  # every value written as a literal
    formatted = display_sql(shown)
    assert formatted.problem is None, formatted
    return text(formatted.text.replace(":", "\\:"))


@pytest.fixture
def connection(snapq_connection: Connection) -> Iterator[Connection]:
    """The test's connection, with the corpus's table and rows."""
    # The enum type is new in every test: a statement psycopg prepared in an earlier
    # one would still name the old type.
    driver = snapq_connection.connection.driver_connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    metadata.create_all(snapq_connection)
    for row in ROWS:
        snapq_connection.execute(insert(things).values(row))
    try:
        yield snapq_connection
    finally:
        driver.prepare_threshold = threshold


@pytest.mark.parametrize("statement", REPORTED + ORDINARY + ALONE + WRITES + TEXTS)
def test_the_display_sql_runs_as_the_statement_did(connection: Connection, statement: Any) -> None:
    sent = execute(connection, statement)
    assert sent.shown is not None
    as_shown = execute(connection, runnable(sent.shown))
    assert as_shown.outcome == sent.outcome, display_sql(sent.shown).text
    # The fallback when nothing was captured: the statement compiled on its own.
    alone = compile_for_display(statement, dialect=connection.dialect)
    assert execute(connection, runnable(alone)).outcome == sent.outcome, alone.sql


@pytest.mark.parametrize(
    ("statement", "shown"),
    [
        pytest.param(
            select(t.id).where(t.id == 5, t.name == "x", t.born == datetime.date(2024, 1, 2)),
            "WHERE\n  meaning_things.id = 5\n  AND meaning_things.name = 'x'\n"
            "  AND meaning_things.born = '2024-01-02'",
            id="where",
        ),
        pytest.param(
            select(t.id).where(t.id.in_([1, 2]), t.seen < datetime.datetime(2024, 1, 1)),
            "WHERE\n  meaning_things.id IN (1, 2) AND meaning_things.seen < '2024-01-01 00:00:00'",
            id="in-and-datetime",
        ),
        pytest.param(
            update(things).where(t.id == 1).values(born=datetime.date(2024, 1, 2), tags=["a"]),
            "UPDATE meaning_things SET born = '2024-01-02', tags = ARRAY['a']\n"
            "WHERE\n  meaning_things.id = 1",
            id="update",
        ),
        pytest.param(
            select(t.id).where(t.score > 1.5, t.big + 1 > 2, t.active.is_(True)),
            "WHERE\n  meaning_things.score > 1.5\n  AND meaning_things.big + 1 > 2\n"
            "  AND meaning_things.active IS TRUE",
            id="numbers",
        ),
    ],
)
def test_ordinary_statements_are_shown_without_casts(
    connection: Connection, statement: Any, shown: str
) -> None:
    displayed = display_sql(execute(connection, statement).shown or CompiledSQL(""))
    assert shown in displayed.text
    assert "CAST" not in displayed.text
    assert "::" not in displayed.text


@pytest.mark.parametrize(
    ("statement", "shown"),
    [
        pytest.param(select(func.round(2.5)), "ROUND(CAST(2.5 AS DOUBLE PRECISION))", id="round"),
        pytest.param(
            select(literal(0.1) + literal(0.2)),
            "CAST(0.1 AS DOUBLE PRECISION) + CAST(0.2 AS DOUBLE PRECISION)",
            id="float-sum",
        ),
        pytest.param(
            select(t.id).where(t.id == 5_000_000_000),
            "meaning_things.id = CAST(5000000000 AS INT)",
            id="integer-out-of-range",
        ),
        pytest.param(
            select(t.id).where(t.tags.contains(["red"])),
            "meaning_things.tags @> CAST(ARRAY['red'] AS VARCHAR[])",
            id="varchar-array",
        ),
        pytest.param(select(literal(2) ** 3), "POWER(2, 3)", id="power"),
    ],
)
def test_the_reported_statements_are_shown_with_their_types(
    connection: Connection, statement: Any, shown: str
) -> None:
    displayed = display_sql(execute(connection, statement).shown or CompiledSQL(""))
    assert shown in displayed.text


@pytest.mark.parametrize(
    ("statement", "untyped"),
    [
        pytest.param(select(func.round(2.5)), "SELECT ROUND(2.5)", id="round"),
        pytest.param(select(literal(0.1) + literal(0.2)), "SELECT 0.1 + 0.2", id="float-sum"),
        pytest.param(
            select(t.id).where(t.id == 5_000_000_000),
            "SELECT id FROM meaning_things WHERE id = 5000000000",
            id="integer-out-of-range",
        ),
        pytest.param(
            select(t.id).where(t.tags.contains(["red"])),
            "SELECT id FROM meaning_things WHERE tags @> ARRAY['red']",
            id="varchar-array",
        ),
    ],
)
def test_the_literals_without_their_types_would_run_differently(
    connection: Connection, statement: Any, untyped: str
) -> None:
    """The corpus tells meanings apart: the display as it was before types were kept."""
    assert execute(connection, text(untyped)).outcome != execute(connection, statement).outcome
