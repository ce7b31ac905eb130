"""snapq's cache and run directories: nobody but their owner (and root) can swap them.

The server's data directory is copied from the cache, and the binaries it runs may
live there too, so a cache another user could replace would hand them the server.
Timing a swap against the check is not reproducible; these tests check that the
check leaves nothing to swap: no link, no directory of another user, no directory
in a path that another user could rename.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

import snapq._database.run
from snapq._database import users
from snapq._database.datadir import private_cache
from snapq._database.embedded import ServerInfo
from snapq._database.run import remove_stale_runs, run_bases
from snapq._database.users import chown_tree
from snapq._errors import ProvisioningError

CacheAt = Callable[[Path], Path]  # points SNAPQ_CACHE_DIR at a path, returns it

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make another user's files")


@pytest.fixture
def cache_at(monkeypatch: pytest.MonkeyPatch) -> CacheAt:
    def point(path: Path) -> Path:
        monkeypatch.setenv("SNAPQ_CACHE_DIR", str(path))
        return path

    return point


def refusal(path: Path) -> str:
    with pytest.raises(ProvisioningError) as raised:
        private_cache()
    message = str(raised.value)
    assert f"snapq will not use its cache directory {path}" in message
    assert "Fix: " in message
    assert "SNAPQ_CACHE_DIR" in message
    return message


def nobody() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


def test_missing_cache_is_created_for_its_owner_alone(tmp_path: Path, cache_at: CacheAt) -> None:
    cache = cache_at(tmp_path / "a" / "cache")
    assert private_cache() == cache
    for directory in (tmp_path / "a", cache):
        mode = stat.S_IMODE(directory.stat().st_mode)
        # As root the server user must traverse it, and only that.
        assert mode == (0o711 if os.geteuid() == 0 else 0o700), oct(mode)


def test_existing_private_cache_is_used(tmp_path: Path, cache_at: CacheAt) -> None:
    cache = cache_at(tmp_path / "cache")
    cache.mkdir(mode=0o755)
    assert private_cache() == cache
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755  # not snapq's to change


def test_cache_that_is_a_symlink_is_refused(tmp_path: Path, cache_at: CacheAt) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    cache = cache_at(tmp_path / "cache")
    cache.symlink_to(mine)
    message = refusal(cache)
    assert "is a symbolic link" in message
    assert str(mine) in message  # the fix names the directory to use instead


def test_cache_below_a_symlinked_parent_is_used_where_the_link_points(
    tmp_path: Path,
    cache_at: CacheAt,
) -> None:
    """The link is read once: snapq then works in the directory it checked."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    cache_at(tmp_path / "link" / "cache")
    assert private_cache() == real / "cache"


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o777, 0o1777], ids=oct)
def test_cache_writable_by_others_is_refused(tmp_path: Path, cache_at: CacheAt, mode: int) -> None:
    cache = cache_at(tmp_path / "cache")
    cache.mkdir()
    cache.chmod(mode)
    assert "can be written by other users" in refusal(cache)


def test_cache_in_a_directory_others_can_write_is_refused(
    tmp_path: Path, cache_at: CacheAt
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone may rename snapq's cache and put theirs there
    cache = cache_at(shared / "cache")
    message = refusal(cache)
    assert f"{shared} can be written by other users" in message
    assert not cache.exists(), "nothing is created in an unsafe place"


def test_cache_in_a_sticky_shared_directory_is_used(tmp_path: Path, cache_at: CacheAt) -> None:
    """Like /var/tmp: others may add entries but not rename or remove snapq's."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    cache = cache_at(shared / "cache")
    assert private_cache() == cache


def test_cache_that_is_a_file_is_refused(tmp_path: Path, cache_at: CacheAt) -> None:
    cache = cache_at(tmp_path / "cache")
    cache.write_text("")
    assert "is not a directory" in refusal(cache)


@as_root
def test_symlink_to_another_users_directory_is_refused(tmp_path: Path, cache_at: CacheAt) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, nobody().pw_uid, nobody().pw_gid)
    cache = cache_at(tmp_path / "cache")
    cache.symlink_to(theirs)
    assert "is a symbolic link" in refusal(cache)
    assert list(theirs.iterdir()) == []


@as_root
def test_another_users_directory_is_refused(tmp_path: Path, cache_at: CacheAt) -> None:
    cache = cache_at(tmp_path / "cache")
    cache.mkdir(mode=0o755)
    os.chown(cache, nobody().pw_uid, nobody().pw_gid)
    assert "belongs to nobody" in refusal(cache)


@as_root
def test_cache_inside_another_users_directory_is_refused(tmp_path: Path, cache_at: CacheAt) -> None:
    """Its owner could rename root's cache away and put a directory of theirs there."""
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, nobody().pw_uid, nobody().pw_gid)
    cache = cache_at(theirs / "cache")
    assert f"{theirs} belongs to nobody" in refusal(cache)
    assert not cache.exists()


# The fallback for run directories, in the cache -------------------------------------


@pytest.fixture
def runs_in_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make run_bases fall back to the cache, as root does when the server user
    cannot reach the temporary directory."""
    monkeypatch.setenv("SNAPQ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(snapq._database.run, "is_root", lambda: True)
    monkeypatch.setattr(snapq._database.run, "server_user", nobody)
    monkeypatch.setattr(snapq._database.run, "traversable_by", lambda path, user: False)
    return tmp_path / "cache" / "runs"


def test_run_fallback_in_the_cache_is_private(runs_in_cache: Path) -> None:
    assert run_bases()[0] == runs_in_cache
    assert stat.S_IMODE(runs_in_cache.stat().st_mode) == 0o711  # no one lists the runs


def test_run_fallback_left_readable_is_made_private(runs_in_cache: Path) -> None:
    runs_in_cache.mkdir(parents=True, mode=0o755)
    runs_in_cache.chmod(0o755)
    assert run_bases()[0] == runs_in_cache
    assert stat.S_IMODE(runs_in_cache.stat().st_mode) == 0o711


def test_run_fallback_that_is_a_symlink_is_refused(runs_in_cache: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runs_in_cache.parent.mkdir(mode=0o700)
    runs_in_cache.symlink_to(elsewhere)
    with pytest.raises(ProvisioningError, match="is a symbolic link") as raised:
        run_bases()
    assert str(runs_in_cache) in str(raised.value)


def test_stale_run_that_is_a_symlink_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In /dev/shm anyone can name a link like a run: snapq acts only on its own."""
    stopped: list[ServerInfo] = []
    monkeypatch.setattr(snapq._database.run, "stop_server", stopped.append)
    target = tmp_path / "target"
    target.mkdir()
    (target / "run.json").write_text('{"owner_pid": 999999999}')
    (target / "server.json").write_text(
        '{"pid": 1, "socket_dir": "/x", "data_dir": "/x", "version": "18"}'
    )
    base = tmp_path / "base"
    base.mkdir()
    (base / "snapq-0badc0de").symlink_to(target)
    remove_stale_runs([base])
    assert stopped == []
    assert (target / "server.json").exists()


def test_a_tree_is_given_away_deepest_first_and_its_root_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until a directory is given to the user, the user cannot enter it and swap what is
    below it for a link to elsewhere."""
    (tmp_path / "root" / "base" / "1").mkdir(parents=True)
    (tmp_path / "root" / "base" / "1" / "1259").write_text("")
    (tmp_path / "root" / "PG_VERSION").write_text("18\n")
    given: list[str] = []
    monkeypatch.setattr(
        users.os,
        "chown",
        lambda path, *ids, **_: given.append(str(Path(path).relative_to(tmp_path))),
    )
    chown_tree(tmp_path / "root", pwd.getpwuid(os.getuid()))
    assert given[-1] == "root"
    for index, path in enumerate(given):
        assert all(not later.startswith(f"{path}/") for later in given[index + 1 :]), given
    assert sorted(given) == [
        "root",
        "root/PG_VERSION",
        "root/base",
        "root/base/1",
        "root/base/1/1259",
    ]
