"""``assert_queries``: snapshot every statement that code sends inside a block.

Application code runs its own queries (a repository function, an ORM lazy load, a
flush). The block records each statement that reaches the cursor of the test's
connection, shows them as ``assert_query`` shows SQL, numbered, with the count, and
compares the list with a snapshot; or just counts them (``max_queries=``). The
savepoints that snapq and the session use for isolation are not shown.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from snapq._arguments import (
    MaskArgument,
    check_ignore,
    check_mask,
    check_max_queries,
    check_snapshots,
)
from snapq._assert import masking_for, raise_outside_a_test
from snapq._context import current_test
from snapq._snapshots.compare import check_file, check_inline
from snapq._snapshots.locations import locate, where
from snapq._sql.connection import watched_connection
from snapq._sql.statements import StatementLog, logging_statements, render_statements

if TYPE_CHECKING:
    import types

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session


class assert_queries:  # a class used like a function: `with assert_queries(...):`
    """Check the statements a block sends against a snapshot, or their number.

    ``with assert_queries(sql=...):`` records every statement executed inside the
    block on ``connection`` (by default each connection the test uses:
    ``snapq_session`` or ``snapq_connection``, and ``snapq_async_session`` or
    ``snapq_async_connection``, whose awaited statements it sees as well): Core
    executions, ORM flushes, lazy loads. They are shown as ``assert_query`` shows
    SQL, numbered, with the total count, and compared
    with the inline ``sql=`` snapshot (recorded when missing, record mode
    permitting) or with a file (``snapshot=snapshot``). ``max_queries=N`` fails when
    more than N statements ran. Parameters named in ``ignore`` show as placeholders,
    for values that change from run to run, and ``mask`` masks them as
    ``assert_query`` does (by default, the run's ``snapq_mask``).
    """

    def __init__(
        self,
        *,
        sql: str | None = None,
        snapshot: Any = None,
        max_queries: int | None = None,
        connection: Connection | Session | None = None,
        ignore: Collection[str] = (),
        mask: MaskArgument = None,
    ) -> None:
        check_snapshots("assert_queries", sql=sql)
        check_max_queries(max_queries)
        if snapshot is not None and sql is not None:
            msg = "assert_queries takes snapshot= or sql=, not both"
            raise TypeError(msg)
        self._context = current_test()
        self._connection = connection
        self._sql = sql
        self._snapshot = snapshot
        self._max_queries = max_queries
        self._ignore = check_ignore(ignore)
        self._masks = check_mask(mask)
        self._frame = sys._getframe(1)
        recording = self._context is not None and self._context.record.value.records_missing
        self._site = locate(self._frame, now=recording)
        self._logging: contextlib.AbstractContextManager[StatementLog] | None = None
        self._log: StatementLog | None = None

    async def __aenter__(self) -> assert_queries:
        """``async with`` works as ``with`` does: entering and leaving do no I/O."""
        __tracebackhide__ = True
        return self.__enter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        self.__exit__(kind, error, traceback)

    @property
    def statements(self) -> list[str]:
        """The statements recorded so far, as they are shown in the snapshot."""
        return list(self._log.statements) if self._log else []

    def __enter__(self) -> assert_queries:
        __tracebackhide__ = True
        if self._connection is not None:
            targets: tuple[Any, ...] = (self._connection,)
        elif self._context is None:
            raise_outside_a_test()
        else:
            targets = self._context.watched_connections()
        connections = [watched_connection(target) for target in targets]
        self._logging = logging_statements(connections, ignore=self._ignore)
        self._log = self._logging.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        if self._logging is None or self._log is None:
            msg = "assert_queries is a context manager: use it in a with statement"
            raise TypeError(msg)
        self._logging.__exit__(kind, error, traceback)
        if kind is not None:
            return  # the block's own exception says more than a snapshot would
        context = self._context
        if context is not None:
            for problem in self._log.problems:
                context.note(f"{where(self._frame)}: SQL {problem}")
        unknown = self._ignore - self._log.parameter_names
        if unknown:
            msg = (
                f"ignore= names {', '.join(sorted(unknown))}, which no statement in the block "
                f"has as a parameter; they have: {', '.join(sorted(self._log.parameter_names))}"
            )
            raise ValueError(msg)
        text = masking_for(context, self._masks).sql(render_statements(self._log.statements))
        count = len(self._log.statements)
        if count == 0 and self._log.elsewhere:
            msg = (
                f"snapq: assert_queries saw no statement on the connection it watched, but "
                f"{self._log.elsewhere} ran on snapq's other connections during the block: pass "
                "connection= the connection or session that the code uses"
            )
            raise AssertionError(msg)
        if self._max_queries is not None and count > self._max_queries:
            msg = f"snapq: {count} queries ran, more than max_queries={self._max_queries}:\n{text}"
            raise AssertionError(msg)
        if self._snapshot is not None:
            check_file(context, self._snapshot, {"queries": text})
        elif self._sql is not None or self._max_queries is None:
            check_inline(context, self._site, {"sql": (self._sql, text)})
