"""The SQLAlchemy ``Connection`` behind what a user passes as ``connection=``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
    from sqlalchemy.orm import Session


def connection_of(target: Connection | Session, *, flush: bool) -> Connection:
    """Return the connection that statements on ``target`` run on.

    A ``Session``'s is the connection of its transaction, begun if need be. With
    ``flush``, its pending changes are sent first, as its own ``execute`` would do;
    without, they stay pending (``assert_queries`` counts them when they go).
    """
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    if isinstance(target, Session):
        if flush and target.autoflush:
            target.flush()
        return target.connection()
    if isinstance(target, Connection):
        return target
    if is_async(target):
        msg = (
            f"connection= is an {type(target).__name__}: assert_query runs statements "
            "synchronously; use `await assert_query_async(...)` for async connections"
        )
        raise TypeError(msg)
    msg = f"connection= must be a SQLAlchemy Connection or Session, not {type(target).__name__}"
    raise TypeError(msg)


def watched_connection(target: Any) -> Connection:
    """Return the connection whose statements ``assert_queries`` logs: a sync one, or
    the one below an ``AsyncConnection`` (or an ``AsyncSession`` bound to one), which
    is sent the statements that the async code awaits."""
    if not is_async(target):
        return connection_of(target, flush=False)
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    if isinstance(target, AsyncSession) and isinstance(target.bind, AsyncConnection):
        target = target.bind
    if isinstance(target, AsyncConnection):
        if target.sync_connection is None:
            msg = "connection= is an AsyncConnection not yet started: await it first"
            raise TypeError(msg)
        return target.sync_connection
    if isinstance(target, AsyncSession):
        msg = (
            "connection= is an AsyncSession bound to an engine, whose connection does not "
            "exist yet: pass connection=await session.connection()"
        )
        raise TypeError(msg)
    msg = f"connection= is an {type(target).__name__}: pass a connection or session"
    raise TypeError(msg)


async def async_connection_of(
    target: AsyncConnection | AsyncSession, *, flush: bool
) -> AsyncConnection:
    """Return the async connection that statements on ``target`` run on (see
    ``connection_of``)."""
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    if isinstance(target, AsyncSession):
        if flush and target.sync_session.autoflush:
            await target.flush()
        return await target.connection()
    if isinstance(target, AsyncConnection):
        return target
    if is_async(target) or _is_sync(target):
        msg = (
            f"connection= is a {type(target).__name__}: assert_query_async takes an "
            "AsyncConnection or AsyncSession; use assert_query for sync ones"
        )
        raise TypeError(msg)
    msg = (
        "connection= must be a SQLAlchemy AsyncConnection or AsyncSession, "
        f"not {type(target).__name__}"
    )
    raise TypeError(msg)


def is_async(target: object) -> bool:
    """Tell whether ``target`` is one of SQLAlchemy's asyncio objects, without
    importing them (they need greenlet) unless SQLAlchemy's asyncio is loaded."""
    import sys

    module = sys.modules.get("sqlalchemy.ext.asyncio")
    if module is None:
        return False
    return isinstance(target, module.AsyncConnection | module.AsyncSession)


def _is_sync(target: object) -> bool:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

    return isinstance(target, Connection | Session | Engine)
