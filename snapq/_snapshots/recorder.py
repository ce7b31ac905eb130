"""Queue inline snapshot edits during the run; apply them once, at the end.

Every inline comparison made while recording is observed: the call site, the
keyword, the value the run produced, and whether the snapshot should change. A
call site that produced two different values for one keyword (a loop, a helper, a
parametrized test) cannot hold one literal: none of its changes are written.
Under xdist, workers export their observations and the controller merges them
and writes. Nothing here imports pytest.
"""

from __future__ import annotations

import os
import shutil
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
    """Observations of one process, or merged from every xdist worker."""

    def __init__(self) -> None:
        self._by_site: dict[tuple[str, int, int, str], list[Observation]] = defaultdict(list)
        self.files: list[str] = []  # snapshot files that syrupy wrote for assert_query

    def observe(self, observation: Observation) -> Observation | None:
        """Record ``observation``; return an earlier one of the same site it contradicts.

        Different values contradict each other only when one of them is to be written:
        a parametrized test that passes each case its own literal is fine.
        """
        earlier = self._by_site[observation.site]
        clash = next(
            (
                seen
                for seen in earlier
                if seen.value != observation.value and (seen.change or observation.change)
            ),
            None,
        )
        if not any(seen == observation for seen in earlier):
            earlier.append(observation)
        return clash

    def export(self) -> list[dict[str, Any]]:
        """Return the observations as plain data, for xdist's workeroutput."""
        return [asdict(seen) for seen in self._observations()]

    def merge(self, exported: list[dict[str, Any]]) -> None:
        for data in exported:
            self.observe(Observation(**data))

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
            self._write(Path(path), file_changes, outcome)
        return outcome

    def _observations(self) -> list[Observation]:
        return [seen for observations in self._by_site.values() for seen in observations]

    @staticmethod
    def _write(path: Path, changes: list[Change], outcome: Outcome) -> None:
        try:
            data = path.read_bytes()
            source, encoding = decode_source(data)
            rewritten = rewrite(source, changes, encoding=encoding)
            if rewritten.applied:
                _replace_file(path, rewritten.text.encode(encoding))
                outcome.written[display_path(str(path))] = len(rewritten.applied)
        except (OSError, UnicodeError, SyntaxError, RewriteError) as error:
            outcome.problems.append(f"{display_path(str(path))}: not rewritten: {error}")


def _replace_file(path: Path, data: bytes) -> None:
    """Replace ``path``'s content in one step: a crash leaves the old file or the new."""
    path = path.resolve()  # through a symlink to the real file, keeping the link
    scratch = path.with_name(f".{path.name}.snapq-tmp")
    scratch.write_bytes(data)
    shutil.copymode(path, scratch)
    os.replace(scratch, path)
