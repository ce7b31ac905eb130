"""Queue inline snapshot edits during the run; apply them once, at the end.

Every inline comparison made while recording is observed: the call site, the
keyword, the value the run produced, and whether the snapshot should change. A
call site that produced two different values for one keyword (a loop, a helper, a
parametrized test) cannot hold one literal: none of its changes are written.
Under xdist, workers send their observations with each test's report, and the
controller merges them and writes. Nothing here imports pytest.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from snapq._snapshots.inline import Change, RewriteError, decode_source, rewrite
from snapq._snapshots.locations import display_path
from snapq._snapshots.sections import section

CONFLICT_ADVICE = (
    "One inline literal cannot hold several values: give each case its own "
    "assert_query call, or store them in files with snapshot=snapshot (syrupy's "
    "fixture), which keeps one snapshot per test and parameter."
)


@dataclass(frozen=True)
class Observation:
    """One inline comparison: where, which keyword, the value produced, and the test."""

    path: str
    line: int
    column: int
    name: str
    value: str
    change: bool
    nodeid: str

    @property
    def site(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.name)


@dataclass
class Outcome:
    """What applying the queued edits did."""

    written: dict[str, int] = field(default_factory=dict)  # path -> snapshots written
    files: list[str] = field(default_factory=list)  # snapshot files written (via syrupy)
    problems: list[str] = field(default_factory=list)  # files left untouched, and why
    conflicts: list[str] = field(default_factory=list)  # call sites reached with two values

    @property
    def total_written(self) -> int:
        return sum(self.written.values())

    @property
    def anything_written(self) -> bool:
        return bool(self.written or self.files)


class Recorder:
    """Observations of one process, or merged from every xdist worker.

    Edits are positions in a test file's text, so they are written only into the
    very text that ran: a digest of each file is taken when it is collected (or at
    its first observation), and a file whose digest differs at the end (edited
    during the run) is left alone.
    """

    def __init__(self) -> None:
        self._by_site: dict[tuple[str, int, int, str], list[Observation]] = defaultdict(list)
        self.files: list[str] = []  # snapshot files that syrupy wrote for assert_query
        self.sources: dict[str, str] = {}  # test file -> digest of its text when observed
        self._unsent: list[Observation] = []  # not yet taken by take_unsent()

    def observe(self, observation: Observation) -> Observation | None:
        """Record ``observation``; return an earlier one of the same site it contradicts.

        Different values contradict each other only when one of them is to be written:
        a parametrized test that passes each case its own literal is fine.
        """
        self.read_source(observation.path)
        clash, new = self._add(observation)
        if new:  # for the controller, once
            self._unsent.append(observation)
        return clash

    def read_source(self, path: str) -> None:
        """Take the digest of a test file's text, unless already taken: the plugin does
        as pytest collects (imports) it, else its first observation does."""
        if path not in self.sources:
            self.sources[path] = _digest(Path(path))

    def _add(self, observation: Observation) -> tuple[Observation | None, bool]:
        """Keep ``observation``; return the earlier one it contradicts, and whether it
        was new."""
        earlier = self._by_site[observation.site]
        clash = next(
            (
                seen
                for seen in earlier
                if seen.value != observation.value and (seen.change or observation.change)
            ),
            None,
        )
        new = observation not in earlier
        if new:
            earlier.append(observation)
        return clash, new

    def export(self) -> list[dict[str, Any]]:
        """Return every observation as plain data."""
        return [asdict(seen) for seen in self._observations()]

    def take_unsent(self) -> list[dict[str, Any]]:
        """Return, as plain data, the observations made since the last call."""
        unsent, self._unsent = self._unsent, []
        return [asdict(seen) for seen in unsent]

    def merge(self, exported: list[dict[str, Any]], sources: dict[str, str] | None = None) -> None:
        """Take in another process's observations, and the digests of the files it read."""
        for path, digest in (sources or {}).items():
            if self.sources.setdefault(path, digest) != digest:
                self.sources[path] = CHANGED  # two workers read different texts
        for data in exported:
            self._add(Observation(**data))

    def apply(self) -> Outcome:
        """Write every change that is wanted and unambiguous; report the rest."""
        outcome = Outcome(files=sorted(display_path(path) for path in set(self.files)))
        calls: dict[tuple[str, int, int], list[list[Observation]]] = defaultdict(list)
        for (path, line, column, _), seen in self._by_site.items():
            calls[(path, line, column)].append(seen)
        changes: dict[str, list[Change]] = defaultdict(list)
        for (path, line, column), keywords in sorted(calls.items()):
            clashing = [
                seen
                for seen in keywords
                if len({o.value for o in seen}) > 1 and any(o.change for o in seen)
            ]
            if clashing:
                for seen in clashing:
                    tests = ", ".join(sorted({observation.nodeid for observation in seen}))
                    outcome.conflicts.append(
                        f"{display_path(path)}:{line}: {seen[0].name}= got different values "
                        f"in {tests}; nothing written for this call"
                    )
                continue
            for seen in sorted(keywords, key=lambda seen: section(seen[0].name).order):
                if any(observation.change for observation in seen):
                    changes[path].append(Change(line, column, seen[0].name, seen[0].value))
        for path, file_changes in sorted(changes.items()):
            self._write(Path(path), file_changes, outcome, read_as=self.sources.get(path))
        for path in self.sources:
            _remove_stale_scratch(Path(path))
        return outcome

    def _observations(self) -> list[Observation]:
        return [seen for observations in self._by_site.values() for seen in observations]

    @staticmethod
    def _write(path: Path, changes: list[Change], outcome: Outcome, *, read_as: str | None) -> None:
        shown = display_path(str(path))
        try:
            data = path.read_bytes()
            if read_as is not None and hashlib.sha256(data).hexdigest() != read_as:
                outcome.problems.append(
                    f"{shown}: changed while the tests ran, so the positions snapq recorded "
                    "may point at other calls now; nothing was written into it. Run the tests "
                    "again to record its snapshots."
                )
                return
            if not (path.stat().st_mode & stat.S_IWUSR and os.access(path, os.W_OK)):
                outcome.problems.append(
                    f"{shown}: not rewritten: the file is read-only; make it writable "
                    "(chmod u+w) and run again to record its snapshots."
                )
                return
            source, encoding = decode_source(data)
            rewritten = rewrite(source, changes, encoding=encoding)
            if rewritten.applied:
                _replace_file(path, rewritten.text.encode(encoding))
                outcome.written[shown] = len(rewritten.applied)
        except (OSError, UnicodeError, SyntaxError, RewriteError) as error:
            outcome.problems.append(f"{shown}: not rewritten: {error}")


CHANGED = "changed"  # a file's digest when two processes read different texts of it
SCRATCH_SUFFIX = ".snapq-tmp"
STALE_SCRATCH_SECONDS = 60.0  # a scratch file lives milliseconds; older ones are a crash's


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return CHANGED  # unreadable now: nothing will be written into it


def _replace_file(path: Path, data: bytes) -> None:
    """Replace ``path``'s content in one step: a crash leaves the old file or the new
    (and a scratch file, which a later run removes)."""
    path = path.resolve()  # through a symlink to the real file, keeping the link
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=SCRATCH_SUFFIX, dir=path.parent)
    scratch = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        shutil.copymode(path, scratch)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def _remove_stale_scratch(path: Path) -> None:
    """Remove the scratch files that a killed run left beside ``path``; a concurrent
    run's, which live for milliseconds, are left alone."""
    now = time.time()
    with contextlib.suppress(OSError):
        for scratch in path.parent.glob(f".{glob.escape(path.name)}.*{SCRATCH_SUFFIX}"):
            with contextlib.suppress(OSError):
                if now - scratch.lstat().st_mtime > STALE_SCRATCH_SECONDS:
                    scratch.unlink()
