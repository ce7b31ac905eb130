"""Give up on a statement that the server never answers (a frozen server, say).

PostgreSQL's statement_timeout ends a slow statement, but only a server that
runs can enforce it, and a unix socket has no TCP keepalive. So while a
statement of snapq's engine runs, its connection has a deadline, the statement
timeout and a margin; past it, a watchdog thread shuts the connection's socket
down, which ends the wait with an error instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from typing import Any

from snapq._database.libpq import answer_timeout, silent_message

WATCH_SECONDS = 0.5  # how often the watchdog looks at the deadlines


class Deadlines:
    """The deadlines of running statements, by DBAPI connection, and the thread that
    enforces them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id(connection) -> (when, the connection, its socket)
        self._armed: dict[int, tuple[float, weakref.ref[Any], int]] = {}
        self._expired: weakref.WeakSet[Any] = weakref.WeakSet()  # sockets shut down
        self._thread: threading.Thread | None = None

    def arm(self, connection: Any, fileno: int, seconds: float) -> None:
        with self._lock:
            self._armed[id(connection)] = (
                time.monotonic() + seconds,
                weakref.ref(connection),
                fileno,
            )
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="snapq-deadlines", daemon=True
                )
                self._thread.start()

    def disarm(self, connection: Any) -> bool:
        """Disarm ``connection``'s deadline; return whether it had expired."""
        with self._lock:
            self._armed.pop(id(connection), None)
            if connection in self._expired:
                self._expired.discard(connection)
                return True
            return False

    def _watch(self) -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            with self._lock:
                for key, (when, ref, fileno) in list(self._armed.items()):
                    if when <= time.monotonic():
                        del self._armed[key]
                        self._expire(ref(), fileno)

    def _expire(self, connection: Any, fileno: int) -> None:
        """Shut down the socket, if it is still the one open on that connection: a
        descriptor number is reused once its connection is gone."""
        try:
            still_open = (
                connection is not None
                and not connection.closed
                and connection.pgconn.socket == fileno
            )
        except Exception:
            return
        if still_open:
            self._expired.add(connection)
            _shut_down(fileno)


def _shut_down(fileno: int) -> None:
    """End every wait on the socket: a shutdown acts on the socket, through any of its
    descriptors (a duplicate here, closed again, leaves the connection's own)."""
    with contextlib.suppress(OSError):
        duplicate = socket.socket(fileno=socket.dup(fileno))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()


DEADLINES = Deadlines()
_WATCHED: weakref.WeakSet[Any] = weakref.WeakSet()  # engines whose statements have deadlines


def watch_statements(engine: Any) -> None:
    """Give every statement on ``engine`` its connection's answer timeout as a deadline
    (see ``libpq.set_answer_timeout``; snapq's own statements keep theirs apart)."""
    from sqlalchemy import event

    def before(conn: Any, *_: Any) -> None:
        driver = conn.connection.driver_connection
        seconds = answer_timeout(driver)
        if seconds is not None:
            DEADLINES.arm(driver, driver.pgconn.socket, seconds)

    def after(conn: Any, *_: Any) -> None:
        if DEADLINES.disarm(conn.connection.driver_connection):
            conn.invalidate()  # answered just too late: its socket is shut down

    def failed(context: Any) -> None:
        connection = context.connection
        driver = connection.connection.driver_connection if connection is not None else None
        if driver is not None and DEADLINES.disarm(driver):
            seconds = answer_timeout(driver) or 0.0
            context.original_exception.add_note(silent_message(seconds))

    if engine in _WATCHED:
        return
    _WATCHED.add(engine)
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
