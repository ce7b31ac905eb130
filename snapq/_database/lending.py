"""Which connections an engine's pool has lent out, so that a test's leaks are closed.

A connection a test leaves checked out stays open, with the locks its transaction
holds, until Python collects it: the next test that touches those rows would wait
for the lock timeout. So the leaks are closed at once, when the test that made them
ends, and that test fails.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import TYPE_CHECKING, Any

from snapq._database.libpq import is_psycopg

if TYPE_CHECKING:
    from sqlalchemy import Engine


class LentConnections:
    """The connections an engine (or an ``AsyncEngine``'s ``sync_engine``) has lent."""

    def __init__(self, engine: Engine) -> None:
        from sqlalchemy import event

        # By id of the pool's record (which a connection replaced at checkout keeps):
        # the driver's connection, and the pool's proxy for it.
        self._lent: dict[int, tuple[Any, Any]] = {}
        event.listen(engine, "checkout", self._lend)
        event.listen(engine, "checkin", self._give_back)

    def now(self) -> frozenset[int]:
        """Return which connections are lent out now."""
        return frozenset(self._lent)

    def close_all_but(self, keep: frozenset[int]) -> int:
        """Close, at once, the connections lent out but for ``keep``; return how many."""
        leaked = [key for key in self._lent if key not in keep]
        for key in leaked:
            driver, proxy = self._lent.pop(key)
            close_now(driver)
            # Out of the pool: it would otherwise warn of the connection when the
            # leaked object is collected, in some later test.
            with contextlib.suppress(Exception):
                proxy.detach()
        return len(leaked)

    def _lend(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        # The DBAPI connection is the driver's, or (async) an adapter around it.
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        self._lent[id(record)] = (driver, proxy)

    def _give_back(self, _dbapi_connection: Any, record: Any) -> None:
        self._lent.pop(id(record), None)


_BY_ENGINE: weakref.WeakKeyDictionary[Any, LentConnections] = weakref.WeakKeyDictionary()


def lent_connections(engine: Engine) -> LentConnections:
    """Return what ``engine`` has lent, followed from this call on."""
    if engine not in _BY_ENGINE:
        _BY_ENGINE[engine] = LentConnections(engine)
    return _BY_ENGINE[engine]


def close_now(driver: Any) -> None:
    """Close a driver's connection without a word to the server, whose backend sees
    the socket close and ends the transaction: in any event loop, or none."""
    with contextlib.suppress(Exception):  # closed already, or asyncpg's loop is
        terminate = getattr(driver, "terminate", None)  # asyncpg
        if terminate is not None:
            terminate()
        elif is_psycopg(driver):  # sync or async: it then reads as closed
            driver.pgconn.finish()
