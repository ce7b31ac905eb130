"""The async engine's URL for each driver, and the awaitable that assert_query_async returns."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from snapq._assert_async import PendingAssertion
from snapq._config import resolve_settings
from snapq._database.async_engine import create_async_engine
from snapq._errors import ConfigError

URL = "postgresql+psycopg://postgres@/snapq_1_main?host=%2Frun%2Fsocket&port=5432"
CONNECT_ARGS = {"options": "", "application_name": "snapq", "connect_timeout": 10}


def engine_url(url: str, driver: str) -> str:
    settings = resolve_settings(options={}, environ={"SNAPQ_ASYNC_DRIVER": driver}, ini={})
    engine, _ = create_async_engine(url, settings, CONNECT_ARGS)
    return engine.url.render_as_string(hide_password=False)


def test_psycopg_keeps_the_url_of_the_sync_engine() -> None:
    assert engine_url(URL, "psycopg") == URL


def test_asyncpg_gets_the_same_database_host_and_port() -> None:
    assert engine_url(URL, "asyncpg") == URL.replace("+psycopg", "+asyncpg")


def test_asyncpg_refuses_a_libpq_parameter_it_would_not_understand() -> None:
    with pytest.raises(ConfigError) as raised:
        engine_url(URL + "&sslmode=require&target_session_attrs=any", "asyncpg")
    assert str(raised.value) == (
        "SNAPQ_ASYNC_DRIVER=asyncpg, but the database URL has parameters asyncpg does not "
        "take: sslmode, target_session_attrs. Use the psycopg async driver, or a URL "
        "without them."
    )


def test_a_pending_assertion_runs_when_awaited_and_only_once() -> None:
    runs: list[str] = []

    async def run() -> None:
        runs.append("ran")

    pending = PendingAssertion(run, where="test_x.py:3")
    assert not pending.awaited
    assert repr(pending) == "<assert_query_async at test_x.py:3, not awaited>"
    asyncio.run(_await(pending))
    assert runs == ["ran"]
    assert pending.awaited
    with pytest.raises(RuntimeError, match=r"at test_x.py:3 was awaited already"):
        asyncio.run(_await(pending))
    assert runs == ["ran"]


async def _await(pending: PendingAssertion) -> None:
    await pending


def test_a_pending_assertion_runs_as_a_task() -> None:
    runs: list[str] = []

    async def run() -> None:
        runs.append("ran")

    async def in_a_task() -> None:
        await asyncio.create_task(PendingAssertion(run, where="test_x.py:3"))

    asyncio.run(in_a_task())
    assert runs == ["ran"]


def test_a_pending_assertion_cancelled_before_it_ran_is_not_awaited() -> None:
    runs: list[str] = []

    async def run() -> None:
        runs.append("ran")

    pending = PendingAssertion(run, where="test_x.py:3")

    async def cancelled_at_once() -> None:
        task = asyncio.ensure_future(pending)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_at_once())
    assert runs == []
    assert not pending.awaited
