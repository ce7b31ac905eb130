"""Run a private, throw-away PostgreSQL server: initdb (cached), start, stop.

The server lives in a run directory of its own (data directory, unix socket, log),
listens on no TCP port, and trades durability for speed. Its data directory
comes from snapq's cache (see ``datadir``).

PostgreSQL refuses to run as root. As root, snapq runs initdb and the server as an
existing unprivileged user, owns only its own directories to that user, and runs a
relocated copy of the binaries where the original location may not be readable to
that user (a virtualenv under a 0700 home).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from snapq._database._watchdog import alive, stat_fields
from snapq._database.binaries import PostgresInstall
from snapq._database.datadir import SUPERUSER, fill_data_dir, private_cache, relocated
from snapq._database.remedies import USE_A_SERVER, USE_OTHER_BINARIES
from snapq._database.users import (
    chown_tree,
    private_opener,
    secure_directory,
    server_user,
    traversable_by,
)
from snapq._errors import ProvisioningError, ServerStartError

if TYPE_CHECKING:
    import pwd

PORT = 5432  # only names the socket file: the socket directory is private to the run
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
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 20
CANCELLED = "the embedded server's start was cancelled: no test needs it any more"

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
        with open(tmp, "w", opener=private_opener) as file:
            file.write(json.dumps(asdict(self)))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ServerInfo:
        return cls(**json.loads(path.read_text()))


def start_server(
    install: PostgresInstall,
    *,
    run_dir: Path,
    owner_pid: int,
    kept: str | None = None,
    cancelled: threading.Event | None = None,
) -> ServerInfo:
    """Start a server whose files all live in ``run_dir``; return how to reach it.

    A watchdog process stops the server and removes ``run_dir`` as soon as
    ``owner_pid`` exits, even if it is killed. With ``kept`` (a checkout), its data
    directory starts with the templates earlier runs of that checkout kept. Once
    ``cancelled`` is set, the start stops the server and raises ``ServerStartError``.
    """
    user = server_user()
    # The data directory goes in here: no other user may be able to swap it for theirs.
    run_dir = secure_directory(
        run_dir,
        mode=0o700,
        what="the run directory",
        fix=(
            "set TMPDIR to a directory of yours that only you can write, inside "
            "directories that only you or root can write."
        ),
    )
    cache = private_cache()
    install = _runnable_by(user, install, cache)
    data_dir = run_dir / "data"
    socket_dir = run_dir / "socket"
    socket_dir.mkdir(mode=0o700)
    if user is not None:
        # The server user may traverse the run directory but owns only what it writes.
        run_dir.chmod(0o711)
        chown_tree(socket_dir, user)
    fill_data_dir(data_dir, install=install, cache=cache, user=user, kept=kept)
    if cancelled is not None and cancelled.is_set():
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(socket_dir, ignore_errors=True)
        raise ServerStartError(CANCELLED)
    log_path = run_dir / "postgres.log"
    command = [str(install.tool("postgres")), "-D", str(data_dir), "-k", str(socket_dir)]
    command += ["-p", str(PORT)]
    for name, value in SERVER_SETTINGS.items():
        command += ["-c", f"{name}={value}"]
    # -l is not a postgres flag; the log goes to a file so the server never holds
    # the caller's stdout/stderr (which would hang anything capturing them).
    # Only the server (through this descriptor) and snapq read it: it holds the text
    # of failing statements.
    with open(log_path, "ab", opener=private_opener) as log:
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
        _wait_until_ready(process, data_dir, log_path, install, cancelled)
    except BaseException:
        _kill(process.pid)
        process.wait()
        del _children[process.pid]
        # Leave the run directory as it was, so that another worker can try again.
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(socket_dir, ignore_errors=True)
        raise
    return ServerInfo(process.pid, str(socket_dir), str(data_dir), install.version)


def _runnable_by(
    user: pwd.struct_passwd | None, install: PostgresInstall, cache: Path
) -> PostgresInstall:
    """Return ``install``, or a copy in the cache where the server user can run it."""
    if user is None or traversable_by(install.bindir, user):
        return install
    copy = relocated(install, cache)
    if not traversable_by(copy.bindir, user):
        msg = (
            f"the PostgreSQL server runs as user {user.pw_name!r}, which can read neither "
            f"the binaries in {copy.origin} nor snapq's cache {cache}.\n"
            "Fix: set SNAPQ_CACHE_DIR to a directory that user can read, or "
            f"{USE_OTHER_BINARIES} that it can run."
        )
        raise ProvisioningError(msg)
    return copy


def stop_server(info: ServerInfo, *, clean: bool = False) -> None:
    """Stop the server at once (it holds nothing worth a clean shutdown), or cleanly,
    with a checkpoint, where its data directory is kept."""
    pid_file = Path(info.data_dir) / "postmaster.pid"
    if not _is_our_postmaster(info.pid, pid_file):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGINT if clean else signal.SIGQUIT)
        _continue(info.pid)  # a stopped server handles it too
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
    process: subprocess.Popen[bytes],
    data_dir: Path,
    log_path: Path,
    install: PostgresInstall,
    cancelled: threading.Event | None = None,
) -> None:
    pid_file = data_dir / "postmaster.pid"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if cancelled is not None and cancelled.is_set():
            raise ServerStartError(CANCELLED)
        if process.poll() is not None:
            msg = (
                f"the embedded {install.describe()} exited with status {process.returncode} "
                f"while starting.\nCommand: {' '.join(map(str, process.args))}\n"  # type: ignore[arg-type]
                f"Last lines of its log ({log_path}):\n{log_tail(log_path)}\n"
                f"Fix the cause above, {USE_OTHER_BINARIES}, or {USE_A_SERVER}."
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
        f"Last lines of its log ({log_path}):\n{log_tail(log_path)}"
    )
    raise ServerStartError(msg)


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


def _continue(postmaster: int) -> None:
    """Send SIGCONT to the postmaster and its children (each backend is a process
    group of its own), so that stopped processes handle the signals they are sent."""
    children = []
    with contextlib.suppress(OSError):  # no /proc (macOS): the postmaster alone
        for entry in Path("/proc").iterdir():
            fields = stat_fields(int(entry.name)) if entry.name.isdigit() else None
            if fields is not None and fields[1] == str(postmaster):
                children.append(int(entry.name))
    for pid in (postmaster, *children):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGCONT)


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


def log_tail(log_path: Path) -> str:
    """Return the last lines of a server log, indented, for a message."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "  (no log was written)"
    return "\n".join("  " + line for line in lines[-LOG_TAIL_LINES:]) or "  (the log is empty)"
