"""Whom the embedded server runs as: PostgreSQL refuses root, so root hands it to
an existing unprivileged user, and owns only snapq's own directories to that user;
and which of snapq's directories and files no other user can read or swap."""

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


def private_opener(path: str, flags: int) -> int:
    """Open as ``open`` does, creating a file that only its owner can read or write."""
    return os.open(path, flags, 0o600)


def secure_directory(path: Path, *, mode: int, fix: str, what: str) -> Path:
    """Return ``path`` once no other user can swap it, creating it with ``mode`` if missing.

    The path itself is made trustworthy rather than opened once and used by
    descriptor: PostgreSQL, initdb, the copies and the watchdog all take paths, so
    snapq would look the path up again anyway. Every directory from ``/`` down must
    be a real directory (not a link) of root or of this user, writable by no one
    else, except that a sticky one (``/var/tmp``) may be, as its other users can
    neither rename nor remove an entry of ours; ``path`` itself must be this user's
    and writable by them alone. Then nobody else can change what the path names.
    Links among the parents are read once, here, and the directory they lead to is
    returned, checked and used from then on.

    Raises ProvisioningError naming ``what`` and ``fix`` otherwise.
    """
    me = euid()
    path = Path(os.path.abspath(path))
    existing = path.parent
    while not os.path.isdir(existing) and existing != existing.parent:
        existing = existing.parent
    path = Path(os.path.realpath(existing)) / path.relative_to(existing)
    if me is None:  # no owners to compare (Windows)
        path.mkdir(parents=True, exist_ok=True)
        return path
    current = Path(path.anchor)
    reason = _replaceable(current, last=current == path, me=me)
    for part in path.parts[1:]:
        if reason:
            break
        current /= part
        try:
            current.mkdir(mode=mode)
            current.chmod(mode)  # what the umask took away; ours, in a checked parent
        except FileExistsError:
            pass  # checked below, whatever it is: a link planted here is refused
        except OSError as error:
            reason = f"{current} cannot be created ({error.strerror})"
            break
        reason = _replaceable(current, last=current == path, me=me)
    if reason:
        msg = f"snapq will not use {what} {path}: {reason}.\nFix: {fix}"
        raise ProvisioningError(msg)
    return path


def _replaceable(directory: Path, *, last: bool, me: int) -> str | None:
    """Say how another user could swap ``directory`` or what is in it, if they could."""
    try:
        status = directory.lstat()
    except OSError as error:
        return f"{directory} cannot be examined ({error.strerror})"
    if stat.S_ISLNK(status.st_mode):
        target = os.path.realpath(directory)
        return (
            f"{directory} is a symbolic link (to {target}), and what a link leads to "
            f"can change between snapq's check and its use; name {target} itself instead"
        )
    if not stat.S_ISDIR(status.st_mode):
        return f"{directory} is not a directory"
    if status.st_uid != me and (last or status.st_uid != 0):
        return f"{directory} belongs to {_user_name(status.st_uid)}, who could replace it"
    if status.st_mode & 0o022 and (last or not status.st_mode & stat.S_ISVTX):
        return f"{directory} can be written by other users, who could replace what is in it"
    return None


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    """Give ``root`` and everything in it to ``user``, deepest first and ``root`` last:
    until a directory is given, the user cannot enter it, so nothing below it that is
    still to be chowned can be swapped for a link to elsewhere."""
    for directory, dirnames, filenames in os.walk(root, topdown=False):
        for name in dirnames + filenames:
            os.chown(Path(directory) / name, user.pw_uid, user.pw_gid, follow_symlinks=False)
    os.chown(root, user.pw_uid, user.pw_gid)
