"""The settings that change how values print hold whatever the client's environment
says, on every connection snapq hands out, sync and async."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Runner, assert_outcomes

# libpq sends PGTZ and PGDATESTYLE after the options that pin them; PGOPTIONS would
# replace those options; TZ and the locale variables change what Python does.
UNUSUAL = {
    "PGTZ": "Asia/Tokyo",
    "PGDATESTYLE": "SQL, DMY",
    "PGOPTIONS": "-c TimeZone=America/Caracas -c IntervalStyle=sql_standard",
    "TZ": "Pacific/Chatham",
    "LANG": "de_DE.UTF-8",
    "LC_ALL": "de_DE.UTF-8",
}
QUERY = (
    "SELECT TIMESTAMPTZ '2026-03-01 12:34:56+00' AS at, DATE '2026-03-01' AS day, "
    "(INTERVAL '1 day 02:03:04')::text AS span, 1.5::float8 AS ratio, 12.5::money AS price, "
    "current_setting('TimeZone') AS zone, current_setting('DateStyle') AS style"
)
# The setup hook's literals mean what they say only under the pinned settings.
SEED = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text("CREATE TABLE seeded (at timestamptz, day date)"))
    connection.execute(text("INSERT INTO seeded VALUES ('2024-01-01 00:00', '2024-01-02')"))
"""
TESTS = f'''
import pytest
from snapq import assert_query, assert_query_async

QUERY = "{QUERY}"


def test_sync(snapq_connection):
    assert_query(QUERY)


@pytest.mark.asyncio
async def test_async(snapq_async_connection):
    await assert_query_async(QUERY)


def test_seeded(snapq_connection):
    assert_query("SELECT at::text AS at, day::text AS day FROM seeded")
'''


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_snapshots_recorded_anywhere_pass_under_an_unusual_environment(
    runner: Runner, monkeypatch: pytest.MonkeyPatch, driver: str
) -> None:
    runner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    runner.pytester.makeconftest(SEED)
    runner.pytester.makepyfile(test_values=TESTS)
    recorded = runner.run(f"--snapq-async-driver={driver}")
    assert_outcomes(recorded, passed=3)
    source = (runner.pytester.path / "test_values.py").read_text()
    assert source.count("│ UTC    │ ISO, YMD │") == 2  # sync and async
    assert "│ 2024-01-01 00:00:00+00 │ 2024-01-02 │" in source
    for name, value in UNUSUAL.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run(f"--snapq-async-driver={driver}"), passed=3)
