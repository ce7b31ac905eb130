"""The external server's password, kept out of every connection string.

psycopg's connection strings and keyword arguments are frame arguments that
pytest's long tracebacks print (``--tb=long``, ``--showlocals``, and so JUnit XML).
So snapq connects with URLs that carry no password, and hands the password to
libpq in a password file (its ``passfile`` connection parameter): one line, in the
run's private directory, readable by this user only, gone with the directory.
"""

from __future__ import annotations

import os
from pathlib import Path

PASSFILE_NAME = "passfile"


def passfile_line(password: str) -> str:
    """Return the password file line that gives ``password`` to every connection.

    Every field but the password is a wildcard: only connections to the one server
    of the run name this file. libpq reads a backslash as escaping ``:`` or ``\\``.
    """
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:*:{escaped}\n"


def write_passfile(directory: Path, password: str) -> Path:
    """Write the password file in ``directory``, mode 0600; return its path.

    Written aside and renamed: another process of the run may be reading it, and
    must never find it half-written.
    """
    path = directory / PASSFILE_NAME
    scratch = directory / f"{PASSFILE_NAME}.{os.getpid()}"
    scratch.unlink(missing_ok=True)  # left by a crashed process that had this pid
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(passfile_line(password))
    scratch.replace(path)
    return path
