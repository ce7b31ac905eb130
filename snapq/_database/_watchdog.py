"""Stop an embedded server when the test run that owns it is gone.

Run as a script by its path (``python -I _watchdog.py OWNER_PID SERVER_PID RUN_DIR``) by the
process that starts a server. It uses only the standard library, so it starts fast
and needs nothing from the test environment; snapq imports ``alive`` from it. It covers what the
test run's own clean-up cannot: a run killed with SIGKILL, or one that crashed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time

POLL_SECONDS = 0.5
STOP_SECONDS = 10.0


def stat_fields(pid: int) -> list[str] | None:
    """Return the fields of ``/proc/PID/stat`` after the command name (state, parent
    pid...), or None where there is no such process or no /proc (macOS)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """Tell whether a process with this pid is running; a zombie is not.

    An exited process that is not our child stays a zombie until its new parent
    (often PID 1) reaps it, which can take seconds. Without /proc (macOS), only
    signals tell, and they count zombies as running.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = stat_fields(pid)
    return fields is None or fields[0] != "Z"


def main(owner_pid: int, server_pid: int, run_dir: str) -> None:
    while alive(owner_pid):
        if not alive(server_pid):
            return  # stopped by the run itself
        time.sleep(POLL_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.kill(server_pid, signal.SIGQUIT)
    deadline = time.monotonic() + STOP_SECONDS
    while alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(server_pid, signal.SIGKILL)
    shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
