"""One test run: its id, its private directory, and its embedded server, started lazily.

The process that owns the run (the xdist controller, or the only process) plans
it and removes it at the end; workers receive it as a dict. Whichever process
first needs the run directory makes it. Whichever process first
needs the embedded server starts it, under a file lock, so a run that never touches
the database never starts PostgreSQL. A later run removes what a killed one left.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from snapq._database._watchdog import alive, stat_fields
from snapq._database.binaries import PostgresInstall
from snapq._database.datadir import private_cache
from snapq._database.embedded import ServerInfo, log_tail, start_server, stop_server
from snapq._database.users import (
    euid,
    is_root,
    private_opener,
    secure_directory,
    server_user,
    traversable_by,
)
from snapq._errors import ProvisioningError

RUN_DIR_PREFIX = "snapq-"
MIN_MEMORY_DIR_BYTES = 2 * 1024**3  # a small /dev/shm (containers: 64 MB) is not used
RUNS_MODE = 0o711  # the server user reaches its run directory; nobody lists them


@dataclass(frozen=True)
class Run:
    """A test run's identity and private directory (which also holds the server socket)."""

    run_id: str
    run_dir: Path
    owner_pid: int

    @classmethod
    def plan(cls) -> Run:
        """Choose the id and directory of a run owned by this process; create nothing
        (``ensure`` does, when some process of the run first needs the directory)."""
        bases = run_bases()
        while True:
            run_id = secrets.token_hex(4)
            # Short: the server's unix socket path must fit in about 100 bytes.
            run_dir = bases[0] / f"{RUN_DIR_PREFIX}{run_id}"
            if not run_dir.exists():
                return cls(run_id, run_dir, os.getpid())

    @classmethod
    def create(cls) -> Run:
        """Create a run owned by this process, with its directory."""
        run = cls.plan()
        run.ensure()
        return run

    def ensure(self) -> None:
        """Create the run directory, unless a process of this run already has.

        Any process of the run may be first (an xdist worker, say), so the
        directory may exist; it is used only if it is ours and says it belongs to
        this run's owner.
        """
        with contextlib.suppress(FileExistsError):
            self.run_dir.mkdir(mode=0o700)
        status = self.run_dir.lstat()
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != euid():
            msg = f"snapq will not use the run directory {self.run_dir}: it is not its own"
            raise ProvisioningError(msg)
        marker = self.run_dir / "run.json"
        scratch = self.run_dir / f"run.json.{os.getpid()}"
        with open(scratch, "w", opener=private_opener) as file:
            file.write(json.dumps({"owner_pid": self.owner_pid}))
        try:
            os.link(scratch, marker)  # exclusive, and never seen half-written
        except FileExistsError:
            if json.loads(marker.read_text()).get("owner_pid") != self.owner_pid:
                msg = f"snapq will not use the run directory {self.run_dir}: another run has it"
                raise ProvisioningError(msg) from None
        finally:
            scratch.unlink()

    def to_dict(self) -> dict[str, str | int]:
        return {"run_id": self.run_id, "run_dir": str(self.run_dir), "owner_pid": self.owner_pid}

    @classmethod
    def from_dict(cls, data: dict[str, str | int]) -> Run:
        return cls(str(data["run_id"]), Path(str(data["run_dir"])), int(data["owner_pid"]))

    @property
    def _server_file(self) -> Path:
        return self.run_dir / "server.json"

    def server(
        self,
        find_install: Callable[[], PostgresInstall],
        *,
        kept: str | None = None,
        cancelled: threading.Event | None = None,
    ) -> ServerInfo:
        """Return the run's embedded server, starting it if no process has yet (with
        the kept templates, where ``kept``); a start begun in the background gives up
        when ``cancelled`` is set."""
        self.ensure()
        with self._locked():
            if self._server_file.exists():
                return ServerInfo.load(self._server_file)
            info = start_server(
                find_install(),
                run_dir=self.run_dir,
                owner_pid=self.owner_pid,
                kept=kept,
                cancelled=cancelled,
            )
            info.save(self._server_file)
            return info

    def unwell_server(self) -> str | None:
        """Say so if the run's embedded server was started and has exited since, or
        is stopped (SIGSTOP): no test could reach its database."""
        info = self.started_server()
        if info is None:
            return None
        if not alive(info.pid):
            what = "has exited"
        elif _stopped(info.pid):
            what = "is stopped (SIGSTOP, or a debugger)"
        else:
            return None
        log = self.run_dir / "postgres.log"
        return (
            f"snapq: the embedded PostgreSQL server (pid {info.pid}) {what}, so no test "
            "can reach its database, and the run stops.\n"
            f"Last lines of its log ({log}):\n{log_tail(log)}"
        )

    def started_server(self) -> ServerInfo | None:
        """Return the embedded server if some process of this run started it."""
        return ServerInfo.load(self._server_file) if self._server_file.exists() else None

    def close(self) -> None:
        """Stop the server, if one was started, and remove the run directory."""
        info = self.started_server()
        if info is not None:
            stop_server(info)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl  # POSIX only: imported where needed, so the plugin loads anywhere

        with open(self.run_dir / "lock", "a", opener=private_opener) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _stopped(pid: int) -> bool:
    fields = stat_fields(pid)  # None without /proc (macOS): cannot tell
    return fields is not None and fields[0] in ("T", "t")


def remove_stale_runs(bases: list[Path] | None = None) -> None:
    """Stop the servers and remove the directories of runs whose owner has died."""
    bases = run_bases() if bases is None else bases
    markers = [marker for base in bases for marker in base.glob(f"{RUN_DIR_PREFIX}*/run.json")]
    for marker in markers:
        run_dir = marker.parent
        try:
            status = run_dir.lstat()  # a link named like a run, to a directory of ours, is not one
            if not stat.S_ISDIR(status.st_mode) or status.st_uid != euid():
                continue  # not ours: never signal or delete on another user's word
            owner_pid = int(json.loads(marker.read_text())["owner_pid"])
        except (OSError, ValueError, KeyError):
            continue
        if alive(owner_pid):
            continue
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            server_file = run_dir / "server.json"
            if server_file.exists():
                stop_server(ServerInfo.load(server_file))
        shutil.rmtree(run_dir, ignore_errors=True)


def run_bases() -> list[Path]:
    """Return the directories where run directories may live, preferred first.

    ``$TMPDIR`` when the user set it; otherwise ``/dev/shm`` when it has room, since
    a data directory in memory starts several times faster than one on disk; then
    the system's temporary directory. As root, a base the server user cannot reach
    is replaced by a directory in snapq's cache.
    """
    # Links resolved once, here: a run directory's path never goes through one that
    # could be swapped later (start_server checks the directories on the way).
    bases = [Path(os.path.realpath(tempfile.gettempdir()))]
    shm = Path("/dev/shm")  # noqa: S108 - only a parent: run directories are made exclusively
    if "TMPDIR" not in os.environ and _roomy(shm):
        bases.insert(0, shm)
    if is_root():
        try:
            user = server_user()
        except ProvisioningError:
            return bases
        if user is not None and not traversable_by(bases[0], user):
            fallback = secure_directory(
                private_cache() / "runs",
                mode=RUNS_MODE,
                what="its directory of runs",
                fix="remove it; snapq makes it anew.",
            )
            if stat.S_IMODE(fallback.stat().st_mode) != RUNS_MODE:
                fallback.chmod(RUNS_MODE)  # left listable by an older snapq
            bases.insert(0, fallback)
    return bases


def _roomy(directory: Path) -> bool:
    if not (directory.is_dir() and os.access(directory, os.W_OK | os.X_OK)):
        return False
    status = os.statvfs(directory)
    return status.f_bavail * status.f_frsize >= MIN_MEMORY_DIR_BYTES
