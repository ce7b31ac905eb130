"""Run a private, throw-away PostgreSQL server: initdb (cached), start, stop.

The server lives in a run directory of its own (data directory, unix socket, log),
listens on no TCP port, and trades durability for speed. A freshly initialised data
directory is cached per PostgreSQL version and settings, so later runs copy it
instead of running initdb.

PostgreSQL refuses to run as root. As root, snapq runs initdb and the server as an
existing unprivileged user, owns only its own directories to that user, and runs a
relocated copy of the binaries where the original location may not be readable to
that user (a virtualenv under a 0700 home).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from snapq._database._watchdog import alive
from snapq._database.binaries import PostgresInstall
from snapq._errors import ProvisioningError, ServerStartError

if TYPE_CHECKING:
    import pwd

SUPERUSER = "postgres"
PORT = 5432  # only names the socket file: the socket directory is private to the run
SERVER_USERS = ("postgres", "nobody")
# Durability is worthless for a database thrown away at the end of the run.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "autovacuum": "off",
    # Little WAL: the data directory may live in memory (/dev/shm).
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "256MB",
    "listen_addresses": "",
    "max_connections": "100",
    "log_min_messages": "warning",
}
INITDB_ARGS = ("--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 20
MIN_MEMORY_DIR_BYTES = 2 * 1024**3  # a small /dev/shm (containers: 64 MB) is not used

# Child processes this process started (servers, watchdogs), kept so they are
# reaped when they exit rather than garbage-collected while still running.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ServerInfo:
    """What a process needs to reach (and later stop) a running embedded server."""

    pid: int
    socket_dir: str
    data_dir: str
    version: str

    def url(self, database: str = "postgres") -> str:
        from sqlalchemy.engine import URL

        url = URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            database=database,
            query={"host": self.socket_dir, "port": str(PORT)},
        )
        return url.render_as_string(hide_password=False)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ServerInfo:
        return cls(**json.loads(path.read_text()))


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
        "user, or set --snapq-url to use an existing server."
    )
    raise ProvisioningError(msg)


def run_bases() -> list[Path]:
    """Return the directories where run directories may live, preferred first.

    ``$TMPDIR`` when the user set it; otherwise ``/dev/shm`` when it has room, since
    a data directory in memory starts several times faster than one on disk; then
    the system's temporary directory. As root, a base the server user cannot reach
    is replaced by a directory in snapq's cache.
    """
    bases = [Path(tempfile.gettempdir())]
    shm = Path("/dev/shm")  # noqa: S108 - only a parent: run directories are made exclusively
    if "TMPDIR" not in os.environ and _roomy(shm):
        bases.insert(0, shm)
    if is_root():
        try:
            user = server_user()
        except ProvisioningError:
            return bases
        if user is not None and not _traversable_by(bases[0], user):
            fallback = _private_cache() / "runs"
            fallback.mkdir(mode=0o755, exist_ok=True)
            bases.insert(0, fallback)
    return bases


def _roomy(directory: Path) -> bool:
    if not (directory.is_dir() and os.access(directory, os.W_OK | os.X_OK)):
        return False
    status = os.statvfs(directory)
    return status.f_bavail * status.f_frsize >= MIN_MEMORY_DIR_BYTES


def _traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
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


def _private_cache() -> Path:
    """Create the cache directory, refusing one that another user could have planted."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True, mode=0o755)
    status = cache.stat()
    if status.st_uid != euid() or status.st_mode & 0o022:
        msg = (
            f"snapq will not use its cache directory {cache}: it is owned by uid "
            f"{status.st_uid} or writable by others, so its binaries could be replaced.\n"
            "Fix: remove it, or set SNAPQ_CACHE_DIR to a directory only you can write."
        )
        raise ProvisioningError(msg)
    return cache


def start_server(install: PostgresInstall, *, run_dir: Path, owner_pid: int) -> ServerInfo:
    """Start a server whose files all live in ``run_dir``; return how to reach it.

    A watchdog process stops the server and removes ``run_dir`` as soon as
    ``owner_pid`` exits, even if it is killed.
    """
    user = server_user()
    cache = _private_cache()
    if user is not None and not _traversable_by(install.bindir, user):
        install = _relocated(install, cache)
        if not _traversable_by(install.bindir, user):
            msg = (
                f"the PostgreSQL server runs as user {user.pw_name!r}, which can read neither "
                f"the binaries in {install.origin} nor snapq's cache {cache}.\n"
                "Fix: set SNAPQ_CACHE_DIR to a directory that user can read, or point "
                "--snapq-pg-bin at a PostgreSQL it can run."
            )
            raise ProvisioningError(msg)
    data_dir = run_dir / "data"
    socket_dir = run_dir / "socket"
    socket_dir.mkdir(mode=0o700)
    if user is not None:
        # The server user may traverse the run directory but owns only what it writes.
        run_dir.chmod(0o711)
        _chown_tree(socket_dir, user)
    _fill_data_dir(data_dir, install=install, cache=cache, user=user)
    log_path = run_dir / "postgres.log"
    command = [str(install.tool("postgres")), "-D", str(data_dir), "-k", str(socket_dir)]
    command += ["-p", str(PORT)]
    for name, value in SERVER_SETTINGS.items():
        command += ["-c", f"{name}={value}"]
    # -l is not a postgres flag; the log goes to a file so the server never holds
    # the caller's stdout/stderr (which would hang anything capturing them).
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=run_dir,
            start_new_session=True,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
        )
    _children[process.pid] = process
    # Watched from the start: a run killed while the server starts leaves none behind.
    _start_watchdog(owner_pid=owner_pid, server_pid=process.pid, run_dir=run_dir)
    try:
        _wait_until_ready(process, data_dir, log_path, install)
    except BaseException:
        _kill(process.pid)
        process.wait()
        del _children[process.pid]
        # Leave the run directory as it was, so that another worker can try again.
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(socket_dir, ignore_errors=True)
        raise
    return ServerInfo(process.pid, str(socket_dir), str(data_dir), install.version)


def stop_server(info: ServerInfo) -> None:
    """Stop the server at once (it holds nothing worth a clean shutdown)."""
    pid_file = Path(info.data_dir) / "postmaster.pid"
    if not _is_our_postmaster(info.pid, pid_file):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGQUIT)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        # The pid file goes when the postmaster has exited; an exited server can
        # stay a zombie for a while, so its pid alone does not tell.
        _reap(info.pid)
        if not pid_file.exists() or not alive(info.pid):
            break
        time.sleep(0.01)
    else:
        _kill(info.pid)
    child = _children.pop(info.pid, None)
    if child is not None:
        child.wait(timeout=STOP_TIMEOUT)
    _reap_children()


def _wait_until_ready(
    process: subprocess.Popen[bytes], data_dir: Path, log_path: Path, install: PostgresInstall
) -> None:
    pid_file = data_dir / "postmaster.pid"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = (
                f"the embedded {install.describe()} exited with status {process.returncode} "
                f"while starting.\nCommand: {' '.join(map(str, process.args))}\n"  # type: ignore[arg-type]
                f"Last lines of its log ({log_path}):\n{_tail(log_path)}\n"
                "Fix the cause above, point --snapq-pg-bin at another PostgreSQL, "
                "or set --snapq-url to use an existing server."
            )
            raise ServerStartError(msg)
        with contextlib.suppress(OSError):
            lines = pid_file.read_text().splitlines()
            # Line 8 of postmaster.pid is the postmaster's status.
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
        time.sleep(0.005)
    msg = (
        f"the embedded {install.describe()} did not become ready within {START_TIMEOUT:.0f} s.\n"
        f"Last lines of its log ({log_path}):\n{_tail(log_path)}"
    )
    raise ServerStartError(msg)


def _fill_data_dir(
    data_dir: Path, *, install: PostgresInstall, cache: Path, user: pwd.struct_passwd | None
) -> None:
    """Make ``data_dir`` a freshly initialised data directory: from the cache if it
    has one, else by initdb, which then fills the cache for later runs."""
    key_source = json.dumps([install.version, INITDB_ARGS, SUPERUSER, user and user.pw_name])
    key = hashlib.sha256(key_source.encode()).hexdigest()[:12]
    cached = cache / f"initdb-{install.version}-{key}"
    if (cached / "PG_VERSION").is_file():
        shutil.copytree(cached, data_dir, symlinks=True)
        if user is not None:
            _chown_tree(data_dir, user)
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
            "Fix the cause above, point --snapq-pg-bin at another PostgreSQL, "
            "or set --snapq-url to use an existing server."
        )
        raise ServerStartError(msg)
    _publish(data_dir, cached)


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


def _relocated(install: PostgresInstall, cache: Path) -> PostgresInstall:
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


def _chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    os.chown(root, user.pw_uid, user.pw_gid)
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(Path(directory) / name, user.pw_uid, user.pw_gid, follow_symlinks=False)


def _start_watchdog(*, owner_pid: int, server_pid: int, run_dir: Path) -> None:
    script = Path(__file__).with_name("_watchdog.py")
    watchdog = subprocess.Popen(
        [sys.executable, "-I", str(script), str(owner_pid), str(server_pid), str(run_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _children[watchdog.pid] = watchdog


def _reap_children() -> None:
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]


def _is_our_postmaster(pid: int, pid_file: Path) -> bool:
    """Tell whether ``pid`` is still the postmaster of this data directory (pids recycle)."""
    try:
        return pid_file.read_text().split("\n", 1)[0].strip() == str(pid)
    except OSError:
        return False


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None:
        child.poll()
    else:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "  (no log was written)"
    return "\n".join("  " + line for line in lines[-LOG_TAIL_LINES:]) or "  (the log is empty)"
