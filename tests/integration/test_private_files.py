"""What snapq writes for a run is readable by its owner (and the server user) alone.

The server's log holds the text of failing statements, and run directories are
easy to find (anyone can list /dev/shm), so no file in them may be readable by
others, nor the run directory listable; as root, others may only traverse it, for
the server user's sake.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Runner, assert_outcomes

CHECK_MODES = """
import json, os, stat
from pathlib import Path
from sqlalchemy import text
from sqlalchemy.engine import make_url

def readable_by_others(root):
    found = []
    for directory, dirnames, filenames in os.walk(root):
        for path in [Path(directory)] + [Path(directory) / name for name in filenames]:
            status = path.lstat()
            if stat.S_ISSOCK(status.st_mode):
                continue  # the server's socket: in a directory only its user can enter
            if status.st_mode & 0o044:
                found.append(f"{oct(stat.S_IMODE(status.st_mode))} {path}")
    return found

def test_run_files_are_private(snapq_connection):
    # A failing statement, so that the log has something to hide.
    snapq_connection.execute(text("SAVEPOINT s"))
    try:
        snapq_connection.execute(text("SELECT 'the secret' FROM nowhere"))
    except Exception:
        snapq_connection.execute(text("ROLLBACK TO SAVEPOINT s"))
    run_dir = Path(make_url(str(snapq_connection.engine.url)).query["host"]).parent
    names = {path.name for path in run_dir.iterdir()}
    assert {"postgres.log", "run.json", "server.json", "lock", "data", "socket"} <= names
    assert readable_by_others(run_dir) == []
    assert stat.S_IMODE(run_dir.stat().st_mode) in (0o700, 0o711)
"""


def test_run_files_are_readable_by_their_owner_alone(runner: Runner) -> None:
    runner.pytester.makepyfile(test_modes=CHECK_MODES)
    assert_outcomes(runner.run(), passed=1)


def test_cache_entries_are_readable_by_their_owner_alone(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new cache, so this run makes every entry (initdb's data directory at least)."""
    cache = runner.tmpdir / "fresh" / "cache"
    runner.pytester.makepyfile("def test_db(snapq_connection):\n    pass\n")
    monkeypatch.setenv("SNAPQ_CACHE_DIR", str(cache))
    assert_outcomes(runner.run(), passed=1)
    entries = list(cache.iterdir())
    assert any(path.name.startswith("initdb-") for path in entries)
    found = []
    for path in [cache.parent, cache, *_tree(entries)]:
        mode = path.lstat().st_mode
        if mode & 0o044:
            found.append(f"{oct(mode & 0o7777)} {path}")
    assert found == []


def _tree(entries: list[Path]) -> list[Path]:
    """Every file and directory under ``entries`` but the copied binaries, which the
    server user must read and which hold no data."""
    return [
        path
        for entry in entries
        if not entry.name.startswith("bin-")
        for path in [entry, *entry.rglob("*")]
    ]
