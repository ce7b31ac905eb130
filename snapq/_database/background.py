"""Run one step of the start-up in a thread while the main thread goes on.

Used for the embedded server's start, which mostly waits (for a copy, for the
server process), and so overlaps the imports the first test needs. The step gets
an event that says it is no longer wanted; whoever ends the run cancels it and
waits for it, so a cancelled start leaves no server behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``function(cancelled)`` running in a thread of its own."""

    def __init__(self, function: Callable[[threading.Event], T], *, name: str) -> None:
        self.cancelled = threading.Event()
        self._function = function
        self._result: T | None = None
        self._error: BaseException | None = None
        # Not a daemon: the interpreter waits for it, so it never stops half-way.
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._function(self.cancelled)
        except BaseException as error:  # handed to whoever asks for the result
            self._error = error

    def result(self) -> T:
        """Wait for the step; return what it returned, or raise what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    def cancel(self) -> None:
        """Tell the step it is no longer wanted, and wait until it has ended."""
        self.cancelled.set()
        self._thread.join()
