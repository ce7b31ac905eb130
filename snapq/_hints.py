"""Notes for failures whose fix is a snapq setting, added to the exception itself so
that pytest prints them under its traceback, where the reader is looking."""

from __future__ import annotations

from collections.abc import Collection

SESSION_CLASS_HINT = (
    "snapq: snapq_session is SQLAlchemy's Session, which has no exec(). For SQLModel's, "
    'set snapq_session_class = "sqlmodel:Session" in the ini file (see the SQLModel '
    "recipe in snapq's docs)."
)


def add_hints(error: BaseException, fixturenames: Collection[str]) -> None:
    """Add to ``error`` the note of each known mistake it shows (at most once)."""
    if _is_exec_on_a_plain_session(error, fixturenames) and SESSION_CLASS_HINT not in getattr(
        error, "__notes__", ()
    ):
        error.add_note(SESSION_CLASS_HINT)


def _is_exec_on_a_plain_session(error: BaseException, fixturenames: Collection[str]) -> bool:
    if not isinstance(error, AttributeError) or error.name != "exec":
        return False
    if "snapq_session" not in fixturenames:
        return False
    from sqlalchemy.orm import Session

    return isinstance(error.obj, Session)
