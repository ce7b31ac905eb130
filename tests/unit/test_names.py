from __future__ import annotations

import json
import os
import pwd
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from snapq._database.databases import NAME_PATTERN, database_name, lock_key
from snapq._database.datadir import cache_dir
from snapq._database.embedded import ServerInfo
from snapq._database.provision import _copy_strategy
from snapq._database.users import server_user
from snapq._errors import ProvisioningError

# Database names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_id", "role", "expected"),
    [
        ("0123abcd", "template", "snapq_0123abcd_template"),
        ("0123abcd", "main", "snapq_0123abcd_main"),
        ("ffffffff", "gw0", "snapq_ffffffff_gw0"),
        ("00000000", "gw_12", "snapq_00000000_gw_12"),
    ],
)
def test_database_name_composes_run_id_and_role(run_id: str, role: str, expected: str) -> None:
    assert database_name(run_id, role) == expected


@pytest.mark.parametrize(
    "role",
    ["", "GW0", "Template", 'gw0"', "gw0'", "gw 0", "gw0;drop", "gw-0", "gw0\n", "gw.0", "é"],
)
def test_database_name_rejects_unsafe_roles(role: str) -> None:
    with pytest.raises(ValueError, match="cannot name a database") as raised:
        database_name("0123abcd", role)
    assert repr(role) in str(raised.value)


@pytest.mark.parametrize("run_id", ["", "0123ABCD", "0123abc", "0123abcde", "zzzzzzzz", "0123 abc"])
def test_database_name_rejects_malformed_run_ids(run_id: str) -> None:
    with pytest.raises(ValueError, match="cannot name a database"):
        database_name(run_id, "main")


@pytest.mark.parametrize("role", ["template", "building", "main", "gw3"])
def test_name_pattern_recovers_the_run_id(role: str) -> None:
    match = NAME_PATTERN.fullmatch(database_name("a1b2c3d4", role))
    assert match is not None
    assert match.group(1) == "a1b2c3d4"


@pytest.mark.parametrize(
    "name",
    [
        "postgres",
        "snapq_template",
        "snapq_0123abcd",
        "snapq_0123abcd_",
        "snapq_0123ABCD_main",
        "snapq_0123abc_main",
        "app_snapq_0123abcd_main",
        "snapq_0123abcd_Main",
    ],
)
def test_name_pattern_ignores_other_databases(name: str) -> None:
    assert NAME_PATTERN.fullmatch(name) is None


# Advisory lock keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_id", "key"),
    [("00000000", -(2**31)), ("ffffffff", 2**31 - 1), ("80000000", 0), ("80000001", 1)],
)
def test_lock_key_maps_run_ids_onto_signed_int32(run_id: str, key: int) -> None:
    assert lock_key(run_id) == key


def test_lock_keys_of_distinct_run_ids_differ() -> None:
    run_ids = ["00000000", "00000001", "7fffffff", "80000000", "fffffffe", "ffffffff"]
    assert len({lock_key(run_id) for run_id in run_ids}) == len(run_ids)


# The embedded server's connection info ------------------------------------------------


SOCKET_DIR = "/tmp/snapq-0123abcd/socket"  # noqa: S108


def server_info(socket_dir: str = SOCKET_DIR) -> ServerInfo:
    return ServerInfo(
        pid=4242,
        socket_dir=socket_dir,
        data_dir="/tmp/snapq-0123abcd/data",  # noqa: S108
        version="18.1",
    )


def test_server_url_reaches_the_socket_directory() -> None:
    assert server_info().url() == (
        "postgresql+psycopg://postgres@/postgres?host=%2Ftmp%2Fsnapq-0123abcd%2Fsocket&port=5432"
    )


def test_server_url_names_the_database_and_parses() -> None:
    url = make_url(server_info().url("snapq_0123abcd_main"))
    assert url.drivername == "postgresql+psycopg"
    assert url.username == "postgres"
    assert url.password is None
    assert url.host is None
    assert url.database == "snapq_0123abcd_main"
    assert dict(url.query) == {"host": SOCKET_DIR, "port": "5432"}


@pytest.mark.parametrize(
    "socket_dir",
    [
        "/tmp/with space/socket",  # noqa: S108
        "/tmp/a+b/socket",  # noqa: S108
        "/tmp/a&b/socket",  # noqa: S108
        "/tmp/100%25/socket",  # noqa: S108
    ],
)
def test_server_url_survives_unusual_socket_directories(socket_dir: str) -> None:
    """The socket directory lives under $TMPDIR, which the user chooses."""
    assert make_url(server_info(socket_dir).url()).query["host"] == socket_dir


def test_server_info_round_trips_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "server.json"
    info = server_info()
    info.save(path)
    assert ServerInfo.load(path) == info
    assert json.loads(path.read_text())["pid"] == 4242
    assert sorted(p.name for p in tmp_path.iterdir()) == ["server.json"]


def test_server_info_save_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "server.json"
    server_info("/tmp/old").save(path)  # noqa: S108
    server_info("/tmp/new").save(path)  # noqa: S108
    assert ServerInfo.load(path).socket_dir == "/tmp/new"  # noqa: S108


# Cache directory and server user ------------------------------------------------------


def test_cache_dir_honours_snapq_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPQ_CACHE_DIR", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"


def test_cache_dir_for_a_user_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPQ_CACHE_DIR", "")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "snapq"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "snapq"


def test_cache_dir_for_root_is_outside_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server user must be able to reach the cache, and root's home is 0700."""
    monkeypatch.delenv("SNAPQ_CACHE_DIR", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("XDG_CACHE_HOME", "/root/.cache")
    shared = {Path("/var/tmp/snapq-cache"), Path(tempfile.gettempdir()) / "snapq-cache"}  # noqa: S108
    assert cache_dir() in shared


def test_server_user_is_none_unless_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert server_user() is None


def test_server_user_as_root_takes_the_first_existing_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    nobody = pwd.struct_passwd(("nobody", "x", 65534, 65534, "", "/nonexistent", "/bin/false"))

    def getpwnam(name: str) -> pwd.struct_passwd:
        asked.append(name)
        if name != "nobody":
            raise KeyError(name)
        return nobody

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr("pwd.getpwnam", getpwnam)
    assert server_user() is nobody
    assert asked == ["postgres", "nobody"]


def test_server_user_as_root_without_candidates_names_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def getpwnam(name: str) -> pwd.struct_passwd:
        raise KeyError(name)

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr("pwd.getpwnam", getpwnam)
    with pytest.raises(ProvisioningError) as raised:
        server_user()
    message = str(raised.value)
    assert "postgres, nobody" in message
    assert "useradd" in message
    assert "--snapq-url" in message


@pytest.mark.parametrize(
    ("version", "strategy"),
    [("18.6", "FILE_COPY"), ("15.0", "FILE_COPY"), ("14.12", None), ("9.6.24", None), ("", None)],
)
def test_embedded_copies_are_file_copies_where_the_server_can_choose(
    version: str, strategy: str | None
) -> None:
    assert _copy_strategy(version) == strategy
