"""The SQLAlchemy ``Connection`` behind what a user passes as ``connection=``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection
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
    msg = f"connection= must be a SQLAlchemy Connection or Session, not {type(target).__name__}"
    raise TypeError(msg)
