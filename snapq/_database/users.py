"""Whom the embedded server runs as: PostgreSQL refuses root, so root hands it to
an existing unprivileged user, and owns only snapq's own directories to that user."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from snapq._database.remedies import USE_A_SERVER
from snapq._errors import ProvisioningError

if TYPE_CHECKING:
    import pwd


SERVER_USERS = ("postgres", "nobody")


def euid() -> int | None:
    """Return the effective user id, or None where there is none (Windows)."""
    return os.geteuid() if hasattr(os, "geteuid") else None


def is_root() -> bool:
    return euid() == 0


def server_user() -> pwd.struct_passwd | None:
    """Return the unprivileged user to run PostgreSQL as when running as root."""
    if not is_root():
        return None
    import pwd

    for name in SERVER_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    msg = (
        "snapq runs as root, and PostgreSQL refuses to run as root; snapq runs it as an "
        f"existing unprivileged user but found none of: {', '.join(SERVER_USERS)}.\n"
        "Fix: create one (e.g. `useradd --system postgres`), run the tests as a non-root "
        f"user, or {USE_A_SERVER}."
    )
    raise ProvisioningError(msg)


def traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Tell whether ``user`` may traverse every directory from ``/`` down to ``path``."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for directory in (path, *path.parents):
        status = directory.stat()
        if status.st_uid == user.pw_uid:
            allowed = status.st_mode & stat.S_IXUSR
        elif status.st_gid in groups:
            allowed = status.st_mode & stat.S_IXGRP
        else:
            allowed = status.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    os.chown(root, user.pw_uid, user.pw_gid)
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(Path(directory) / name, user.pw_uid, user.pw_gid, follow_symlinks=False)
