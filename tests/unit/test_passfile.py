"""The external server's password: parted from the URL, kept in a password file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from snapq._database.passfile import passfile_line, write_passfile
from snapq._database.urls import split_password, with_passfile


@pytest.mark.parametrize(
    ("url", "bare", "password"),
    [
        (
            "postgresql+psycopg://ci:s3cret@db:5432/postgres",
            "postgresql+psycopg://ci@db:5432/postgres",
            "s3cret",
        ),
        (
            "postgresql+psycopg://ci:p%40ss%3Aw%2Fd@db/postgres",
            "postgresql+psycopg://ci@db/postgres",
            "p@ss:w/d",
        ),
        (  # psycopg is given the query's password over the URL's own
            "postgresql+psycopg://ci:old@db/postgres?password=new&sslmode=require",
            "postgresql+psycopg://ci@db/postgres?sslmode=require",
            "new",
        ),
        ("postgresql+psycopg://ci:@db/postgres", "postgresql+psycopg://ci@db/postgres", None),
        ("postgresql+psycopg://ci@db/postgres", "postgresql+psycopg://ci@db/postgres", None),
        (
            "postgresql+psycopg://postgres@/postgres?host=%2Frun%2Fpg&port=5432",
            "postgresql+psycopg://postgres@/postgres?host=%2Frun%2Fpg&port=5432",
            None,
        ),
    ],
)
def test_split_password_parts_a_url_from_its_password(
    url: str, bare: str, password: str | None
) -> None:
    assert split_password(url) == (bare, password)


def test_with_passfile_names_the_file_in_the_query() -> None:
    url = with_passfile("postgresql+psycopg://ci@db/postgres?port=1", "/run/a b/passfile")
    assert dict(make_url(url).query) == {"port": "1", "passfile": "/run/a b/passfile"}
    assert make_url(url).password is None


@pytest.mark.parametrize(
    ("password", "line"),
    [
        ("s3cret", "*:*:*:*:s3cret\n"),
        ("a:b", "*:*:*:*:a\\:b\n"),
        ("back\\slash", "*:*:*:*:back\\\\slash\n"),
        ("*", "*:*:*:*:*\n"),
    ],
)
def test_passfile_line_escapes_what_libpq_would_misread(password: str, line: str) -> None:
    assert passfile_line(password) == line


def test_write_passfile_is_private_and_replaces_the_previous_one(tmp_path: Path) -> None:
    write_passfile(tmp_path, "first")
    path = write_passfile(tmp_path, "second")
    assert path.read_text() == "*:*:*:*:second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]


def test_a_different_pgpassword_is_refused_as_libpq_would_prefer_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from snapq._config import resolve_settings
    from snapq._database.provision import Provisioner
    from snapq._database.run import Run
    from snapq._errors import ConfigError

    monkeypatch.setenv("PGPASSWORD", "for-psql")
    url = "postgresql+psycopg://ci:for-snapq@localhost/postgres"
    settings = resolve_settings(options={"snapq_url": url}, environ={}, ini={})
    provisioner = Provisioner(settings, Run.plan())
    with pytest.raises(ConfigError, match="PGPASSWORD is set, and differs") as raised:
        provisioner._connection_url(url)
    assert "for-snapq" not in str(raised.value)
    assert "for-psql" not in str(raised.value)
