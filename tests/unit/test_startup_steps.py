"""Steps of the start-up that need no server: waiting for a closed session's end,
copying a data directory."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from snapq._database import datadir
from snapq._database.background import Background
from snapq._database.databases import ClosingWatch
from snapq._database.users import server_user


def _connection_on(sock: socket.socket) -> Any:
    """Stand in for a SQLAlchemy connection whose driver connection is on ``sock``."""
    return SimpleNamespace(connection=SimpleNamespace(driver_connection=sock))


def test_closing_watch_returns_when_the_server_closes_its_end() -> None:
    ours, servers = socket.socketpair()
    watch = ClosingWatch()
    watch.watch(_connection_on(ours))
    ours.close()  # snapq closes its connection; the duplicate stays open
    servers.sendall(b"what a server says before it goes")
    threading.Timer(0.05, servers.close).start()
    started = time.monotonic()
    watch.wait(timeout=5)
    assert 0.04 < time.monotonic() - started < 2


def test_closing_watch_gives_up_at_its_timeout() -> None:
    ours, servers = socket.socketpair()
    watch = ClosingWatch()
    watch.watch(_connection_on(ours))
    started = time.monotonic()
    watch.wait(timeout=0.1)
    assert 0.09 < time.monotonic() - started < 2
    ours.close()
    servers.close()


def test_closing_watch_without_a_socket_does_not_wait() -> None:
    watch = ClosingWatch()
    watch.watch(SimpleNamespace())  # no driver connection: nothing to wait on
    started = time.monotonic()
    watch.wait(timeout=5)
    assert time.monotonic() - started < 1


@pytest.fixture(params=["cp", "python"])
def copy_data_dir(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Copy a data directory by cp where it exists, and in Python without it."""
    if request.param == "python":
        monkeypatch.setattr(datadir.shutil, "which", lambda name, path=None: None)
    elif shutil.which("cp") is None:
        pytest.skip("no cp here")
    return datadir._copy_data_dir


def test_data_dir_copy_keeps_files_links_and_private_modes(
    tmp_path: Path, copy_data_dir: Any
) -> None:
    cached = tmp_path / "cached"
    (cached / "base" / "1").mkdir(parents=True, mode=0o700)
    (cached / "PG_VERSION").write_text("18\n")
    (cached / "base" / "1" / "1259").write_bytes(os.urandom(300_000))
    (cached / "empty").write_bytes(b"")
    (cached / "pg_tblspc").mkdir(mode=0o700)
    os.symlink("/nowhere/in/particular", cached / "pg_tblspc" / "16384")
    (cached / "readable").write_text("x")
    (cached / "readable").chmod(0o644)
    copy = tmp_path / "copy"
    copy_data_dir(cached, copy, server_user())
    assert (copy / "PG_VERSION").read_text() == "18\n"
    assert (copy / "base" / "1" / "1259").read_bytes() == (cached / "base/1/1259").read_bytes()
    assert (copy / "empty").read_bytes() == b""
    assert os.readlink(copy / "pg_tblspc" / "16384") == "/nowhere/in/particular"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o700
    modes = {stat.S_IMODE((copy / "readable").stat().st_mode)}
    assert modes <= {0o600, 0o644}  # owner-only in Python; as in the cache by cp
    user = server_user()
    owner = os.geteuid() if user is None else user.pw_uid
    for path in [copy, *copy.rglob("*")]:
        assert path.lstat().st_uid == owner, path


def test_data_dir_copy_refuses_an_existing_target(tmp_path: Path, copy_data_dir: Any) -> None:
    (tmp_path / "cached").mkdir()
    (tmp_path / "copy").mkdir()
    with pytest.raises(FileExistsError):
        copy_data_dir(tmp_path / "cached", tmp_path / "copy", None)


def test_data_dir_copy_of_a_vanished_directory_is_an_os_error(
    tmp_path: Path, copy_data_dir: Any
) -> None:
    # fill_data_dir starts afresh on an OSError: the kept directory replaced meanwhile.
    with pytest.raises(OSError, match="gone"):
        copy_data_dir(tmp_path / "gone", tmp_path / "copy", None)


def test_background_step_hands_back_its_result_and_its_error() -> None:
    assert Background(lambda cancelled: 42, name="test").result() == 42
    failing = Background(lambda cancelled: 1 // 0, name="test")
    with pytest.raises(ZeroDivisionError):
        failing.result()


def test_cancelled_background_step_is_told_and_waited_for() -> None:
    ended = threading.Event()

    def step(cancelled: threading.Event) -> None:
        cancelled.wait(10)
        ended.set()

    Background(step, name="test").cancel()
    assert ended.is_set()
