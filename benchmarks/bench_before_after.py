"""Compare what ``assert_query`` costs on top of running the statement, in two trees.

Run from the repository root, with two source trees of snapq (git worktrees, say)::

    git worktree add /tmp/bench-before <commit>
    git worktree add /tmp/bench-after <commit>
    .venv/bin/python benchmarks/bench_before_after.py /tmp/bench-before /tmp/bench-after

It runs ``benchmarks/bench_assert_query.py`` of each tree ROUNDS times, the trees
alternating (each first in every other round), each run a subprocess in its tree
with that tree first on ``PYTHONPATH`` (it checks that ``snapq`` is imported from
there). Both trees must hold the same bench_assert_query.py: copy one into both if
they differ. From each run's printout it takes, per case (statement, record mode,
first or repeated call), the medians of ``assert_query`` and of
``execute().fetchall()``; it prints per case the extra ms of ``assert_query`` in
each tree (median of the runs), the ratio after/before of those medians, and the
median of the rounds' ratios (the two runs of a round share the machine's load).
Target: the second tree no slower than the first (ratio at most 1). Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from machine import machine, tree_commit  # benchmarks/machine.py

ROUNDS = 5
SCRIPT = Path("benchmarks") / "bench_assert_query.py"
# One case of bench_assert_query.py's printout.
LINE = re.compile(
    r"^\s+(?P<name>\S.*?)\s+(?P<mode>never|missing)\s+(?P<calls>first|repeat)\s+"
    r"assert_query\s+(?P<asserted>[\d.]+) ms\s+execute\+fetchall\s+(?P<executed>[\d.]+) ms"
)


@dataclass(frozen=True)
class Case:
    """A statement, a record mode, and whether its caches are cold."""

    name: str
    mode: str
    calls: str


@dataclass(frozen=True)
class Timing:
    """One case of one run: median ms per call of each side."""

    asserted: float
    executed: float

    @property
    def extra(self) -> float:
        return self.asserted - self.executed


Run = dict[Case, Timing]
Round = tuple[Run, Run]  # the run in the tree before, the run in the tree after


def environment(tree: Path) -> dict[str, str]:
    """Return the environment of a run in ``tree``: it first on the path, no settings
    of snapq's but where the embedded server's files are kept."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SNAPQ_")}
    if "SNAPQ_CACHE_DIR" in os.environ:
        env["SNAPQ_CACHE_DIR"] = os.environ["SNAPQ_CACHE_DIR"]
    env["PYTHONPATH"] = str(tree)
    return env


def check_tree(tree: Path) -> str:
    """Refuse a tree whose snapq is not the one imported; return its commit."""
    found = subprocess.run(
        [sys.executable, "-c", "import snapq; print(snapq.__file__)"],
        cwd=tree,
        env=environment(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if Path(found).resolve() != (tree / "snapq" / "__init__.py").resolve():
        raise SystemExit(f"{tree}: snapq is imported from {found}, not from the tree")
    return tree_commit(tree)


def run(tree: Path) -> Run:
    """Run the tree's bench_assert_query.py once; return its cases."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=tree,
        env=environment(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{tree}: {SCRIPT} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    timings: Run = {}
    for line in result.stdout.splitlines():
        match = LINE.match(line)
        if match:
            case = Case(match["name"], match["mode"], match["calls"])
            timings[case] = Timing(float(match["asserted"]), float(match["executed"]))
    if not timings:
        raise RuntimeError(f"{tree}: no case in the printout of {SCRIPT}:\n{result.stdout}")
    return timings


def measure(before: Path, after: Path, rounds: int) -> list[Round]:
    """Return each round's runs, (before, after), the trees alternating first."""
    results = []
    for round_ in range(rounds):
        trees = (before, after) if round_ % 2 == 0 else (after, before)
        runs = {tree: run(tree) for tree in trees}
        results.append((runs[before], runs[after]))
        print(f"  round {round_ + 1}/{rounds} done", file=sys.stderr)
    return results


def header(before: Path, after: Path, rounds: int) -> None:
    load = " ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"date:      {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(f"machine:   {machine()}")
    print(f"load:      {load} (1/5/15 min, before the run)")
    print(f"python:    {platform.python_version()}")
    print(f"before:    {before}: {check_tree(before)}")
    print(f"after:     {after}: {check_tree(after)}")
    print(
        f"method:    {rounds} rounds, a subprocess of {SCRIPT} per tree each, alternating; "
        "ms: median of the runs' medians per call"
    )


def report(results: list[Round]) -> None:
    cases = [case for case in results[0][0] if all(case in run for runs in results for run in runs)]
    print(
        f"\n{'case':<20}{'mode':<8}{'calls':<7}{'extra before':>13}{'extra after':>12}"
        f"{'after/before':>13}{'of rounds':>10}   {'fetchall before':>15}{'after':>7}"
    )
    for case in cases:
        before = [runs[0][case] for runs in results]
        after = [runs[1][case] for runs in results]
        b_extra = statistics.median(timing.extra for timing in before)
        a_extra = statistics.median(timing.extra for timing in after)
        ratios = [a.extra / b.extra for b, a in zip(before, after, strict=True) if b.extra > 0]
        paired = statistics.median(ratios) if ratios else float("nan")
        b_exec = statistics.median(timing.executed for timing in before)
        a_exec = statistics.median(timing.executed for timing in after)
        print(
            f"{case.name:<20}{case.mode:<8}{case.calls:<7}{b_extra:>10.3f} ms{a_extra:>9.3f} ms"
            f"{a_extra / b_extra:>12.2f}x{paired:>9.2f}x   {b_exec:>12.3f} ms{a_exec:>7.3f}"
        )
    print(
        "\nextra: assert_query minus execute().fetchall(), ms per call, median of the runs; "
        "after/before: of\nthose medians; of rounds: median of each round's ratio; "
        "fetchall: the statement alone, ms\nper call (the same work in both trees: a check "
        "on the machine's load)"
    )
    print("target: after no slower than before (after/before <= 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the source tree measured first")
    parser.add_argument("after", type=Path, help="the source tree compared with it")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"default {ROUNDS}")
    arguments = parser.parse_args()
    before, after = arguments.before.resolve(), arguments.after.resolve()
    scripts = [(tree / SCRIPT).read_bytes() for tree in (before, after)]
    if scripts[0] != scripts[1]:
        raise SystemExit(f"the trees' {SCRIPT} differ: copy one into both")
    header(before, after, arguments.rounds)
    start = time.perf_counter()
    results = measure(before, after, arguments.rounds)
    report(results)
    load = " ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"\nbenchmark time: {time.perf_counter() - start:.0f} s, load after: {load}")


if __name__ == "__main__":
    main()
