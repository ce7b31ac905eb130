"""``assert_query_async``: ``assert_query`` for async connections and sessions.

The statement runs on the async connection, through SQLAlchemy's ``run_sync``: the
same execution, rendering and comparison as ``assert_query``, with every driver
call awaited. What the call needs of its caller's frame (the line, and the call
for recording) is read when it is made, since the caller has moved on by the time
the result is awaited.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from snapq._arguments import MaskArgument, check_mask
from snapq._assert import CallerLine, Expected, check_arguments, check_execution
from snapq._context import TestContext, current_test
from snapq._snapshots.locations import locate, where
from snapq._sql.connection import async_connection_of
from snapq._sql.execute import execute

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def assert_query_async(
    statement: Any,
    *,
    sql: str | None = None,
    results: str | None = None,
    snapshot: Any = None,
    connection: AsyncConnection | AsyncSession | None = None,
    ignore: Collection[str] = (),
    mask: MaskArgument = None,
) -> PendingAssertion:
    """Run ``statement`` on an async connection and check its SQL and results; await it.

    ``await assert_query_async(...)`` is ``assert_query`` for asyncio: the same
    snapshots, recording and rendering. ``connection`` is an ``AsyncConnection`` or
    ``AsyncSession``; by default the test's ``snapq_async_session`` if it uses one,
    else ``snapq_async_connection``. A call that is never awaited fails its test.
    """
    __tracebackhide__ = True
    ignore = check_arguments(
        "assert_query_async", sql=sql, results=results, snapshot=snapshot, ignore=ignore
    )
    context = current_test()
    frame = sys._getframe(1)
    recording = context is not None and context.record.value.records_missing
    caller = CallerLine(where(frame), locate(frame, now=recording))
    expected = Expected(
        sql=sql, results=results, snapshot=snapshot, ignore=ignore, masks=check_mask(mask)
    )

    async def run() -> None:
        __tracebackhide__ = True
        target = connection if connection is not None else _default(context)
        async_connection = await async_connection_of(target, flush=True)
        execution = await async_connection.run_sync(execute, statement, ignore=ignore)
        check_execution(context, execution, expected, caller)

    pending = PendingAssertion(run, where=caller.where)
    if context is not None:
        context.track(pending)
    return pending


class PendingAssertion(Coroutine[Any, Any, None]):
    """An ``assert_query_async`` call: it runs when awaited (or run as a task), and
    only then.

    The coroutine is made when it is first awaited, so a call never awaited leaves
    none behind (Python would only warn of it); the test's context fails the test
    instead.
    """

    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]], *, where: str) -> None:
        self._run = run
        self._coroutine: Coroutine[Any, Any, None] | None = None
        self.where = where
        self.awaited = False  # run: awaited, or sent a value as a task does

    def __await__(self) -> Generator[Any, None, None]:
        if self.awaited:
            msg = f"assert_query_async at {self.where} was awaited already: call it again"
            raise RuntimeError(msg)
        self.awaited = True
        return self._started().__await__()

    def send(self, value: Any) -> Any:
        self.awaited = True
        return self._started().send(value)

    def throw(self, *error: Any) -> Any:
        # Thrown into before it began (a task cancelled at once), it ran nothing.
        return self._started().throw(*error)

    def close(self) -> None:
        if self._coroutine is not None:
            self._coroutine.close()

    def _started(self) -> Coroutine[Any, Any, None]:
        if self._coroutine is None:
            self._coroutine = self._run()
        return self._coroutine

    def __repr__(self) -> str:
        state = "awaited" if self.awaited else "not awaited"
        return f"<assert_query_async at {self.where}, {state}>"


def _default(context: TestContext | None) -> AsyncConnection | AsyncSession:
    __tracebackhide__ = True
    if context is None:
        msg = "snapq finds the test's async connection only inside a running test: pass connection="
        raise TypeError(msg)
    return context.default_async_connection()
