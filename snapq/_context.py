"""The running test, as ``assert_query`` sees it: no pytest import here.

The plugin enters each test for its duration, so ``assert_query`` can find the
test's connection, the record mode and the recorder without the test passing them.
The running test is the process's, not a context variable's: an async plugin may
run every test in one long-lived task, whose context was copied before the test
began, and application code may call from a thread of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import datetime

    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
    from sqlalchemy.orm import Session

    from snapq._config import RecordMode, Setting
    from snapq._snapshots.masks import Mask
    from snapq._snapshots.recorder import Recorder


class Pending(Protocol):
    """An ``assert_query_async`` call, as the test's context follows it."""

    where: str  # path:line of the call

    @property
    def awaited(self) -> bool: ...


class TestContext(Protocol):
    """What ``assert_query`` needs from the test that calls it."""

    nodeid: str
    record: Setting[RecordMode]
    inline_max_lines: int  # the largest inline snapshot to write
    recorder: Recorder
    started: datetime.datetime  # when the test began (UTC): ``now`` masks its time

    def run_masks(self) -> tuple[Mask, ...]:
        """Return the masks the run declares (``snapq_mask``)."""

    def default_connection(self) -> Connection | Session:
        """Return the test's ``snapq_session`` if it uses one, else ``snapq_connection``;
        raise if the test's data is elsewhere (on the async fixtures, say)."""

    def default_async_connection(self) -> AsyncConnection | AsyncSession:
        """Return the test's ``snapq_async_session`` if it uses one, else
        ``snapq_async_connection``; raise if it uses neither."""

    def watched_connections(self) -> tuple[Any, ...]:
        """Return the connections (or sessions, sync or async) that ``assert_queries``
        watches by default: each one the test uses."""

    def track(self, pending: Pending) -> None:
        """Keep an ``assert_query_async`` call, so that the test fails if it is never
        awaited."""

    def file_assertion(self, snapshot: Any) -> Any:
        """Return the assertion for this test's snapshot files, made from syrupy's
        ``snapshot`` fixture once per test so that their numbering goes on."""

    def note(self, message: str) -> None:
        """Keep a non-fatal problem for the terminal summary."""

    def builds_schema(self) -> bool:
        """Return whether a ``pytest_snapq_setup_database`` hook is implemented."""


_RUNNING: list[TestContext] = []  # innermost last: a pytester run inside a test


def current_test() -> TestContext | None:
    """Return the test that this process is running, or None between tests."""
    return _RUNNING[-1] if _RUNNING else None


def enter_test(context: TestContext) -> None:
    _RUNNING.append(context)


def leave_test(context: TestContext) -> None:
    _RUNNING.remove(context)
