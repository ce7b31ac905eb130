"""What a schema is built from, and its fingerprint: a template kept across runs is
reused only while every one of these is as it was.

The run declares files (``snapq_schema_files``); the setup hooks' modules count too;
``alembic_upgrade`` and ``load_sql`` name the files they read while a template is
being built, which are then checked by their contents on every later run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

FINGERPRINT_LENGTH = 16  # hex digits in a kept template's name
_RECORDING: list[list[Path]] = []


@contextlib.contextmanager
def recording_inputs() -> Iterator[list[Path]]:
    """Collect the files that ``alembic_upgrade`` and ``load_sql`` read inside."""
    read: list[Path] = []
    _RECORDING.append(read)
    try:
        yield read
    finally:
        _RECORDING.remove(read)


def record_inputs(paths: Iterable[Path]) -> None:
    """Say that the schema being built was read from ``paths`` (no-op outside a build)."""
    for read in _RECORDING:
        read.extend(path.resolve() for path in paths)


def digests(paths: Iterable[Path]) -> dict[str, str]:
    """Return each file's SHA-256 by its path; a missing file's is empty."""
    found = {}
    for path in sorted({str(path) for path in paths}):
        try:
            found[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            found[path] = ""
    return found


def declared_files(root: Path, patterns: Iterable[str]) -> list[Path]:
    """Return the files under ``root`` that the glob ``patterns`` match."""
    return sorted(
        {path.resolve() for pattern in patterns for path in root.glob(pattern) if path.is_file()}
    )


def fingerprint(parts: Mapping[str, object]) -> str:
    """Return a short, stable digest of ``parts`` (JSON-serialisable)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]
