"""Every value as PostgreSQL prints it: snapq's cells against the server's own text.

Each value of the corpus (``pg_text_corpus``: every built-in type and its edge
values, arrays, ranges, composites, and the extensions the server offers) runs as
``SELECT <expr> AS v`` through snapq's ``execute``; its cell must be what the same
server's output function writes for it, which is what psql prints. The reference is
``concat(v)`` in the same transaction: ``concat`` calls each argument's output
function, where ``v::text`` would not for every type (``true::text`` is ``true``,
``'1.2.3.4'::inet::text`` is ``1.2.3.4/32``, ``'a'::char(3)::text`` loses the padding).

On asyncpg, which decodes values into Python's, snapq writes the text itself and must
refuse (``UnshowableValueError``) the values it cannot write exactly.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from snapq import UnshowableValueError
from snapq._config import AsyncDriver
from snapq._database.async_engine import create_async_engine, isolated_async_connection
from snapq._fixtures import STATE
from snapq._sql.execute import execute
from snapq._sql.render import render_result
from snapq._sql.result import Cell
from tests.integration.pg_text_corpus import EXTENSIONS, SETUP, Value, corpus

if TYPE_CHECKING:
    from snapq._database.isolation import Baseline

# NULL only where the value itself is NULL (a row of NULLs is a value: ``(,)``).
REFERENCE = (
    "SELECT CASE WHEN num_nulls(v) = 0 THEN concat(v) END, pg_typeof(v)::text"
    " FROM (SELECT {} AS v) AS s"
)

# What asyncpg cannot tell apart, and snapq therefore shows differently from psql:
# asyncpg gives an array as a Python list, without its lower bounds ('[2:3]={5,6}').
ASYNCPG_KNOWN_DIFFERENT = frozenset(
    {
        "'[2:3]={5,6}'::int[]",
        "'[0:1][1:2]={{1,2},{3,4}}'::int[]",
        "'[-5:-4]={1,2}'::int[]",
        "'[1:2][3:4]={{a,b},{c,d}}'::text[]",
    }
)


@dataclass(frozen=True)
class Server:
    """What the test's server can run: its version, libxml, the extensions it has."""

    version: int
    xml: bool
    extensions: tuple[str, ...]
    missing: tuple[str, ...]

    def runs(self, value: Value) -> bool:
        needs = value.needs
        if needs is None:
            return True
        if needs == "xml":
            return self.xml
        if needs.startswith("PostgreSQL "):
            return self.version >= int(needs.removeprefix("PostgreSQL ")) * 10000
        return needs in self.extensions

    def describe(self) -> str:
        available = ", ".join(self.extensions) or "none"
        missing = ", ".join(self.missing) or "none"
        xml = "yes" if self.xml else "no (server built without libxml)"
        return f"extensions: {available}; unavailable: {missing}; xml: {xml}"


@dataclass
class Tally:
    """Each value's outcome: the same text as the server's, refused, or different."""

    total: int = 0
    same: int = 0
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # and the type
    # Errors other than snapq's refusal that came out of execute (a driver's own).
    escaped: list[tuple[str, str]] = field(default_factory=list)
    different: list[tuple[str, Cell, Cell]] = field(default_factory=list)

    def compare(self, expression: str, captured: Cell, reference: Cell) -> None:
        self.total += 1
        if captured == reference:
            self.same += 1
        else:
            self.different.append((expression, captured, reference))

    def refuse(self, expression: str, type_name: str, error: UnshowableValueError) -> None:
        self.total += 1
        self.refused.append((expression, type_name, str(error)))

    def escape(self, expression: str, error: Exception) -> None:
        self.total += 1
        self.escaped.append((expression, f"{type(error).__module__}.{error!r}"))

    def summary(self) -> str:
        refused = f", {len(self.refused)} refused" if self.refused else ""
        escaped = f", {len(self.escaped)} raised another error" if self.escaped else ""
        return (
            f"{self.total} values, {self.same} same{refused}{escaped}, "
            f"{len(self.different)} different"
        )

    def differences(self, known: Iterable[str] = ()) -> str:
        return "\n".join(
            f"  {expression}\n    snapq:      {captured!r}\n    PostgreSQL: {reference!r}"
            for expression, captured, reference in self.different
            if expression not in known
        )


def prepare(connection: Connection) -> Server:
    """Create the corpus's types and the extensions the server has; say what it can run."""
    for sql in SETUP:
        connection.exec_driver_sql(sql)
    version = int(str(connection.exec_driver_sql("SHOW server_version_num").scalar()))
    xml = succeeds(connection, "SELECT '<a/>'::xml")
    created = tuple(
        name
        for name in EXTENSIONS
        if succeeds(connection, f'CREATE EXTENSION IF NOT EXISTS "{name}" CASCADE')
    )
    missing = tuple(name for name in EXTENSIONS if name not in created)
    return Server(version, xml, created, missing)


def succeeds(connection: Connection, sql: str) -> bool:
    """Run ``sql`` in a savepoint; tell whether the server accepted it."""
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(sql)
    except DBAPIError:
        return False
    return True


def measure(connection: Connection) -> tuple[Server, Tally]:
    """Run every value the server can make through ``execute``; compare each cell with
    the server's own text of it, and draw each table."""
    server = prepare(connection)
    tally = Tally()
    for value in filter(server.runs, corpus()):
        reference, type_name = connection.exec_driver_sql(REFERENCE.format(value.expression)).one()
        try:
            execution = execute(connection, f"SELECT {value.expression} AS v")
        except UnshowableValueError as error:
            tally.refuse(value.expression, type_name, error)
            continue
        except Exception as error:  # counted; the test fails on it
            tally.escape(value.expression, error)
            continue
        result = execution.result
        assert result.error is None, f"{value.expression}: {result.error}"
        assert [column.name for column in result.columns] == ["v"], value.expression
        assert len(result.rows) == 1, value.expression
        (cell,) = result.rows[0]
        assert cell is None or isinstance(cell, str), f"{value.expression}: {cell!r}"
        tally.compare(value.expression, cell, reference)
        table = render_result(result)
        assert "(client)" not in table, f"{value.expression}:\n{table}"
    return server, tally


def show(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    """Print past pytest's capture, so the counts show under -q too."""
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_every_value_is_postgresqls_text(
    snapq_connection: Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """Show each value of the corpus as the server's output function writes it."""
    server, tally = measure(snapq_connection)
    show(capsys, f"corpus: {tally.summary()}", f"corpus {server.describe()}")
    assert not tally.refused, tally.refused
    assert not tally.escaped, tally.escaped
    assert not tally.different, (
        f"corpus: {tally.summary()}; shown differently from PostgreSQL:\n{tally.differences()}"
    )
    assert tally.total >= 350, tally.summary()


def test_asyncpg_shows_each_value_exactly_or_refuses_it(
    snapq_url: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """On asyncpg, show each value as PostgreSQL writes it, or refuse it; only array
    lower bounds, which asyncpg drops, may differ."""
    pytest.importorskip("asyncpg")
    baseline: Baseline = request.getfixturevalue("_snapq_baseline")
    state = request.config.stash[STATE]
    settings = dataclasses.replace(
        state.settings, async_driver=state.settings.async_driver.with_value(AsyncDriver.ASYNCPG)
    )

    async def run() -> tuple[Server, Tally]:
        engine, pools = create_async_engine(snapq_url, settings, state.provisioner.connect_args)
        try:
            async with isolated_async_connection(engine, baseline) as connection:
                return await connection.run_sync(measure)
        finally:
            pools.close()
            await engine.dispose()

    _, tally = asyncio.run(run())
    refused = Counter(type_name for _, type_name, _ in tally.refused)
    show(
        capsys,
        f"corpus on asyncpg: {tally.summary()}",
        "corpus on asyncpg, refused by type: "
        + ", ".join(f"{name} {count}" for name, count in sorted(refused.items())),
    )
    problems = []
    if tally.escaped:
        raised = "\n".join(f"  {expression}: {error}" for expression, error in tally.escaped)
        problems.append(f"execute raised another error than UnshowableValueError:\n{raised}")
    if unexpected := tally.differences(known=ASYNCPG_KNOWN_DIFFERENT):
        problems.append(f"shown differently from PostgreSQL:\n{unexpected}")
    assert not problems, f"corpus on asyncpg: {tally.summary()}; " + "\n".join(problems)
