"""Where things are in the test's source: the call being executed, and paths for display."""

from __future__ import annotations

import ast
import os
import types
from collections.abc import Callable
from typing import cast


def call_site(frame: types.FrameType) -> tuple[str, int, int]:
    """Return the file, line and column of the call that ``frame`` is executing."""
    import executing

    __tracebackhide__ = True
    source = executing.Source.executing(frame)
    node = cast("ast.expr | None", source.node)
    if node is None:
        msg = (
            f"snapq: cannot find the call in {where(frame)} to record its snapshots (is "
            "the source available, or was the file edited during the run?). Run again, "
            "write the snapshots by hand, or use snapshot=snapshot."
        )
        raise AssertionError(msg)
    line_text = source.source.lines[node.lineno - 1]
    column = len(line_text.encode("utf-8")[: node.col_offset].decode("utf-8"))
    return (frame.f_code.co_filename, node.lineno, column)


def locate(frame: types.FrameType, *, now: bool) -> Callable[[], tuple[str, int, int]]:
    """Return how to find the call that ``frame`` is executing. With ``now``, find it
    at once, while the frame still executes it (it will have moved on when an async
    call is awaited, or a with block ends), and keep what was found, or the error."""
    __tracebackhide__ = True
    if not now:
        return lambda: call_site(frame)
    try:
        site = call_site(frame)
    except AssertionError as error:
        failure = error

        def fail() -> tuple[str, int, int]:
            __tracebackhide__ = True
            raise failure

        return fail
    return lambda: site


def where(frame: types.FrameType) -> str:
    """Return ``path:line`` of the line that ``frame`` is executing."""
    return f"{display_path(frame.f_code.co_filename)}:{frame.f_lineno}"


def display_path(path: str) -> str:
    """Return ``path`` relative to the working directory when it lies below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
