"""The worker's database through an ``AsyncEngine``: psycopg's async driver or asyncpg.

The engine is made once per worker, with the same timeouts, settings and commit
guard as the sync one (``isolation.prepare_engine``). Its pooled connections
belong to the event loop that opened them, and tests may each run in a loop of
their own: ``LoopBoundPool`` drops the idle connections of a loop that is gone
before a test in another loop checks one out.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from snapq._config import PINNED_SESSION_SETTINGS, AsyncDriver, Settings
from snapq._database.isolation import Baseline, isolating, prepare_engine
from snapq._database.lending import close_now, lent_connections
from snapq._errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# The libpq parameters of snapq's URLs that asyncpg takes as they are.
_ASYNCPG_PARAMETERS = {"host", "port", "passfile"}


def create_async_engine(
    url: str, settings: Settings, connect_args: dict[str, Any]
) -> tuple[AsyncEngine, LoopBoundPool]:
    """Return an ``AsyncEngine`` on ``url`` (a sync psycopg URL) for the chosen driver,
    and what keeps its pool to one event loop."""
    from sqlalchemy.ext.asyncio import create_async_engine

    driver = settings.async_driver.value
    _check_installed(settings)
    if driver is AsyncDriver.ASYNCPG:
        url = _asyncpg_url(url, settings.async_driver.source)
        connect_args = {
            "server_settings": {
                **settings.session_settings(),
                "application_name": connect_args["application_name"],
            },
            "timeout": connect_args["connect_timeout"] or None,
            # asyncpg's own answer timeout, as libpq's is snapq's for psycopg.
            "command_timeout": settings.answer_timeout(),
        }
    engine = create_async_engine(url, connect_args=connect_args)
    prepare_engine(
        engine.sync_engine,
        answer_timeout=settings.answer_timeout(),
        pinned=PINNED_SESSION_SETTINGS,
    )
    return engine, LoopBoundPool(engine)


def _check_installed(settings: Settings) -> None:
    """Refuse to start without what the async engine needs, naming what to install."""
    if importlib.util.find_spec("greenlet") is None:
        msg = (
            "the async fixtures need SQLAlchemy's asyncio extension, which needs greenlet: "
            'pip install "snapq[async]"'
        )
        raise ConfigError(msg)
    driver = settings.async_driver
    if driver.value is AsyncDriver.ASYNCPG and importlib.util.find_spec("asyncpg") is None:
        msg = f"{driver.source}=asyncpg, but asyncpg is not installed: pip install asyncpg"
        raise ConfigError(msg)


class LoopBoundPool:
    """Keep an engine's pooled connections to the event loop that opened them.

    A connection opened in one loop cannot be used from another, nor (asyncpg) closed
    once its loop is closed. So each connection remembers its loop: a loop's idle
    connections are closed in the loop as it shuts down (asyncio finalizes the async
    generators still suspended in a loop before closing it, in ``shutdown_asyncgens``,
    which ``asyncio.Runner`` calls, as pytest-asyncio and anyio do; one per loop waits
    for that here), and one checked out in another loop is closed and replaced,
    SQLAlchemy's way for a connection found dead.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        from sqlalchemy import event

        self._engine = engine
        # By id of the pool's record, idle and checked out: the driver's connection,
        # and its loop.
        self._idle: dict[int, tuple[Any, asyncio.AbstractEventLoop | None]] = {}
        self._checked_out_now: dict[int, tuple[Any, asyncio.AbstractEventLoop | None]] = {}
        self._watchers: dict[
            asyncio.AbstractEventLoop, tuple[AsyncGenerator[None], asyncio.Task[None]]
        ] = {}
        lent_connections(engine.sync_engine)  # leaks are followed from the first checkout
        event.listen(engine.sync_engine, "connect", self._connected)
        event.listen(engine.sync_engine, "checkout", self._checked_out)
        event.listen(engine.sync_engine, "checkin", self._checked_in)

    def close(self) -> None:
        """Close the idle connections at once, without a word to the server (whose
        backend sees the socket close), and start a new pool: in any loop, or none."""
        for driver, _loop in self._idle.values():
            close_now(driver)
        self._idle.clear()
        self._engine.sync_engine.dispose(close=False)

    def _connected(self, _dbapi_connection: Any, record: Any) -> None:
        loop = _running_loop()
        record.info[_LOOP] = loop
        if loop is not None and loop not in self._watchers:
            watcher = self._close_when_the_loop_ends(loop)
            # Started by a task (this runs in a sync call): a generator that has
            # begun is one the loop finalizes.
            self._watchers[loop] = (watcher, loop.create_task(_start(watcher)))

    async def _close_when_the_loop_ends(
        self, loop: asyncio.AbstractEventLoop
    ) -> AsyncGenerator[None]:
        try:
            yield
        finally:  # run by the loop's shutdown_asyncgens, in the loop, while it runs
            self._watchers.pop(loop, None)
            # Idle ones (their pool records are replaced at their next checkout), and
            # ones still checked out: leaks, which the test's teardown reports.
            for connections in (self._idle, self._checked_out_now):
                for key, (driver, of_loop) in list(connections.items()):
                    if of_loop is loop:
                        del connections[key]
                        await _close(driver)

    def _checked_out(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        from sqlalchemy.exc import DisconnectionError

        self._idle.pop(id(record), None)
        loop = record.info.get(_LOOP)
        if loop is not _running_loop():
            close_now(dbapi_connection.driver_connection)
            msg = "opened in another event loop"
            raise DisconnectionError(msg)  # the pool opens another connection instead
        self._checked_out_now[id(record)] = (dbapi_connection.driver_connection, loop)

    def _checked_in(self, dbapi_connection: Any, record: Any) -> None:
        self._checked_out_now.pop(id(record), None)
        if dbapi_connection is not None:
            loop = record.info.get(_LOOP)
            self._idle[id(record)] = (dbapi_connection.driver_connection, loop)


_LOOP = "snapq_event_loop"  # key in a pool record's info: the loop its connection is of


async def _start(watcher: AsyncGenerator[None]) -> None:
    await anext(watcher)


async def _close(driver: Any) -> None:
    """Close a driver's connection in its loop, saying goodbye to the server."""
    try:
        await asyncio.wait_for(driver.close(), CLOSE_SECONDS)
    except Exception:  # lost already, or the server is silent
        close_now(driver)


CLOSE_SECONDS = 2.0


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a sync call (the engine's disposal at the end of the run)
        return None


def _asyncpg_url(url: str, source: str) -> str:
    """Return ``url`` for asyncpg, refusing libpq parameters that asyncpg would not
    understand (rather than connect elsewhere than the sync engine does)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    unknown = sorted(set(parsed.query) - _ASYNCPG_PARAMETERS)
    if unknown:
        msg = (
            f"{source}=asyncpg, but the database URL has parameters asyncpg does not "
            f"take: {', '.join(unknown)}. Use the psycopg async driver, or a URL without them."
        )
        raise ConfigError(msg)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@asynccontextmanager
async def isolated_async_connection(
    engine: AsyncEngine, baseline: Baseline
) -> AsyncIterator[AsyncConnection]:
    """Yield an async connection in a transaction that is rolled back when the block
    ends: ``isolation.isolating``, run through ``run_sync``."""
    async with engine.connect() as connection:
        assert connection.sync_connection is not None, "connect() starts the connection"
        isolation = isolating(connection.sync_connection, baseline, "snapq_async_connection")
        await connection.run_sync(lambda _: isolation.__enter__())
        try:
            yield connection
        except BaseException:
            failure = sys.exc_info()
            if not await connection.run_sync(lambda _: isolation.__exit__(*failure)):
                raise
        else:
            await connection.run_sync(lambda _: isolation.__exit__(None, None, None))
