"""The embedded server's files: snapq's cache, a data directory from it, and
binaries copied where the server user can read them.

A freshly initialised data directory is cached per PostgreSQL version and
settings, so later runs copy it instead of running initdb.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from snapq._database.binaries import PostgresInstall
from snapq._database.remedies import USE_A_SERVER, USE_OTHER_BINARIES
from snapq._database.users import chown_tree, is_root, secure_directory
from snapq._errors import ServerStartError

if TYPE_CHECKING:
    import pwd

SUPERUSER = "postgres"
INITDB_ARGS = ("--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")


def cache_dir() -> Path:
    """Return snapq's cache directory (``SNAPQ_CACHE_DIR`` overrides it).

    As root it must be traversable by the server user, so it is not under ``~``.
    """
    configured = os.environ.get("SNAPQ_CACHE_DIR")
    if configured:
        return Path(configured)
    if is_root():
        shared = Path("/var/tmp")  # noqa: S108 - ownership and mode are checked before use
        return (shared if shared.is_dir() else Path(tempfile.gettempdir())) / "snapq-cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "snapq"


def private_cache() -> Path:
    """Return the cache directory, created if missing, refusing one that another user
    could have planted or could swap (it supplies the server's data directory)."""
    return secure_directory(
        cache_dir(),
        # As root, the server user traverses it to the binaries copied there.
        mode=0o711 if is_root() else 0o700,
        what="its cache directory",
        fix=(
            "set SNAPQ_CACHE_DIR to a directory of yours that only you can write, inside "
            "directories that only you or root can write; or, if the cache directory "
            "itself is at fault, remove it and snapq makes it anew."
        ),
    )


def fill_data_dir(
    data_dir: Path,
    *,
    install: PostgresInstall,
    cache: Path,
    user: pwd.struct_passwd | None,
    kept: str | None = None,
) -> None:
    """Make ``data_dir`` a freshly initialised data directory: from the cache if it
    has one, else by initdb, which then fills the cache for later runs. With
    ``kept`` (a checkout), the cached data directory that holds its kept templates
    comes first."""
    cached = cache / f"initdb-{_cache_key(install, user)}"
    with_templates = kept_data_dir(install, cache, user, checkout=kept or "")
    if kept and (with_templates / "PG_VERSION").is_file():
        try:
            os.utime(with_templates)  # used now: see remove_unused_kept_data_dirs
            _copy_data_dir(with_templates, data_dir, user)
        except OSError:  # replaced by another run as it was copied: start afresh
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            return
    if (cached / "PG_VERSION").is_file():
        _copy_data_dir(cached, data_dir, user)
        return
    # initdb runs in the run directory, which may be in memory, and is copied to the
    # cache afterwards: faster than running it on a disk.
    data_dir.mkdir(mode=0o700)
    if user is not None:
        os.chown(data_dir, user.pw_uid, user.pw_gid)
    result = subprocess.run(
        [str(install.tool("initdb")), "-D", str(data_dir), f"--username={SUPERUSER}", *INITDB_ARGS],
        capture_output=True,
        text=True,
        check=False,
        cwd=data_dir,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
    )
    if result.returncode != 0:
        msg = (
            f"initdb of {install.describe()} failed with status {result.returncode}:\n"
            f"{result.stdout}{result.stderr}\n"
            f"Fix the cause above, {USE_OTHER_BINARIES}, or {USE_A_SERVER}."
        )
        raise ServerStartError(msg)
    _publish(data_dir, cached)


def _copy_data_dir(cached: Path, data_dir: Path, user: pwd.struct_passwd | None) -> None:
    """Copy the data directory ``cached`` to ``data_dir``, owned by ``user``.

    By ``cp -R -p`` (and ``chown -R -h``) where they exist: the embedded server
    starts in a thread while the main thread imports, and a copy in Python would
    wait for the interpreter lock at every file (a thousand files: 27 ms alone,
    about 75 in that thread); elsewhere in Python, in one pass.
    """
    # Made private first: the copy writes into it at the umask's mode.
    data_dir.mkdir(mode=0o700)
    # The system's own tools, not whatever PATH finds first: they run as root.
    cp, chown = shutil.which("cp", path=SYSTEM_BIN), shutil.which("chown", path=SYSTEM_BIN)
    if os.name == "posix" and cp is not None and (user is None or chown is not None):
        commands = [[cp, "-R", "-p", f"{cached}{os.sep}.", str(data_dir)]]
        if user is not None:
            commands.append([str(chown), "-R", "-h", f"{user.pw_uid}:{user.pw_gid}", str(data_dir)])
        for command in commands:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:  # e.g. the cached directory replaced meanwhile
                msg = f"{' '.join(command)} failed: {result.stderr.strip()}"
                raise OSError(msg)
        data_dir.chmod(0o700)  # cp gives it the mode of the cached one
        return
    _copy_tree(cached, data_dir)
    if user is not None:
        chown_tree(data_dir, user)


def _copy_tree(cached: Path, data_dir: Path) -> None:
    """Copy ``cached`` into the directory ``data_dir``, each file and directory made
    owner-only, the bytes copied by the kernel where it can."""
    for directory, dirnames, filenames in os.walk(cached, onerror=_raise):
        target = data_dir / Path(directory).relative_to(cached)
        for name in dirnames + filenames:
            source, copy = os.path.join(directory, name), target / name
            status = os.lstat(source)
            if stat.S_ISLNK(status.st_mode):
                os.symlink(os.readlink(source), copy)
            elif stat.S_ISDIR(status.st_mode):
                copy.mkdir(mode=stat.S_IMODE(status.st_mode) & 0o700)
            else:
                _copy_file(source, copy, mode=stat.S_IMODE(status.st_mode) & 0o700)


def _raise(error: OSError) -> None:
    raise error


def _copy_file(source: str, copy: Path, *, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with open(source, "rb") as reading, open(os.open(copy, flags, mode), "wb") as writing:
        if sys.platform == "linux":  # sendfile between files: Linux only
            size, offset = os.fstat(reading.fileno()).st_size, 0
            while offset < size:
                sent = os.sendfile(writing.fileno(), reading.fileno(), offset, size - offset)
                if sent == 0:
                    break
                offset += sent
        else:
            shutil.copyfileobj(reading, writing)


def _cache_key(install: PostgresInstall, user: pwd.struct_passwd | None) -> str:
    key_source = json.dumps([install.version, INITDB_ARGS, SUPERUSER, user and user.pw_name])
    return f"{install.version}-{hashlib.sha256(key_source.encode()).hexdigest()[:12]}"


def kept_data_dir(
    install: PostgresInstall, cache: Path, user: pwd.struct_passwd | None, *, checkout: str
) -> Path:
    """Where the data directory holding a checkout's kept templates is cached."""
    return cache / f"kept-{checkout}-{_cache_key(install, user)}"


SYSTEM_BIN = os.pathsep.join(["/usr/bin", "/bin"])
KEPT_UNUSED_DAYS = 30
KEPT_NAME = re.compile(r"kept-[0-9a-f]{8}-[0-9.]+-[0-9a-f]{12}")  # as kept_data_dir makes
REMOVING = "snapq-removing-"


def remove_unused_kept_data_dirs(
    cache: Path, *, now: float, days: float = KEPT_UNUSED_DAYS
) -> list[Path]:
    """Remove the kept data directories (and their lists of templates) that no run
    has saved or started from for ``days``: those of deleted checkouts, of old
    PostgreSQL versions. Each is renamed away before it is removed, so that a run
    never starts from a half-removed one. Return what was removed."""
    removed = []
    for path in cache.iterdir():
        if path.name.startswith(REMOVING):  # left by a run that stopped while removing
            shutil.rmtree(path, ignore_errors=True)
            continue
        if (
            path.suffix == ".json"
            and KEPT_NAME.fullmatch(path.stem)
            and not path.with_suffix("").exists()
        ):
            path.unlink(missing_ok=True)  # a list whose directory a stopped run removed
            continue
        if not KEPT_NAME.fullmatch(path.name):
            continue  # anything else, including another run's copy being saved
        with contextlib.suppress(OSError):  # used or removed meanwhile: left alone
            if now - path.stat().st_mtime < days * 86400:
                continue
            # Its list of templates first: a list without its directory would make
            # the checkout's runs believe their template is kept (see _keep_templates).
            path.with_name(f"{path.name}.json").unlink(missing_ok=True)
            doomed = Path(tempfile.mkdtemp(prefix=REMOVING, dir=cache))
            path.rename(doomed / "data")
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(path)
    return removed


def keep_data_dir(data_dir: Path, target: Path) -> None:
    """Copy the stopped server's ``data_dir`` to ``target``, replacing what is there:
    a run that starts meanwhile copies either the old one or the new one, whole."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        copy = scratch / "copy"
        shutil.copytree(
            data_dir, copy, symlinks=True, ignore=shutil.ignore_patterns("postmaster.*")
        )
        if target.exists():
            target.rename(scratch / "old")
        copy.rename(target)
        os.utime(target)  # saved now: see remove_unused_kept_data_dirs
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _publish(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically; a concurrent copy may win the race."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        copy = scratch / "copy"
        shutil.copytree(source, copy, symlinks=True)
        with contextlib.suppress(OSError):  # raced: another run published it first
            copy.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def relocated(install: PostgresInstall, cache: Path) -> PostgresInstall:
    """Return ``install`` copied to the cache, where the server user can read it."""
    key = hashlib.sha256(str(install.bindir).encode()).hexdigest()[:12]
    target = cache / f"bin-{install.version}-{key}"
    bindir = target / install.bindir.relative_to(install.base)
    if not (bindir / "postgres").is_file():
        scratch = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=cache))
        try:
            for part in install.parts:
                shutil.copytree(
                    install.base / part, scratch / part, symlinks=True, ignore=_not_needed
                )
            _make_readable(scratch)
            try:
                scratch.rename(target)
            except OSError:
                if not (bindir / "postgres").is_file():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return PostgresInstall(
        bindir=bindir,
        version=install.version,
        origin=f"{install.origin}, copied to {target}",
        base=target,
        parts=install.parts,
    )


def _not_needed(directory: str, names: list[str]) -> set[str]:
    """Skip what the server never uses: headers and client tools (half the files)."""
    if Path(directory).name == "bin":
        return {name for name in names if name not in ("initdb", "postgres")}
    return {"include"} & set(names)


def _make_readable(root: Path) -> None:
    root.chmod(0o755)
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames:
            (Path(directory) / name).chmod(0o755)
        for name in filenames:
            path = Path(directory) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444)
