"""The versions pyproject.toml claims are the versions CI tests: .ci/floors.txt pins
each runtime dependency at its floor, and CI's second job installs exactly those."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parents[2]


def claimed_floors() -> dict[str, Version]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        (floor,) = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        floors[canonicalize_name(requirement.name)] = Version(floor)
    return floors


def pinned() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / ".ci" / "floors.txt").read_text().splitlines():
        pin = line.split("#", 1)[0].strip()
        if pin:
            name, version = pin.split("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_runtime_dependency_is_pinned_at_its_claimed_floor() -> None:
    pins = pinned()
    assert {name: pins.get(name) for name in claimed_floors()} == claimed_floors()


def test_ci_installs_the_floors_and_runs_the_suite_on_them() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "--group dev -c .ci/floors.txt" in ci
    assert "SNAPQ_PG_BIN=/usr/lib/postgresql/15/bin .venv-floors/bin/pytest" in ci
