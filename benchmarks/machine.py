"""Describe the machine a benchmark ran on, for its printout and its chart."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def cpu() -> str:
    """Return the CPU's model name, or what the platform knows of it."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return models[0] if models else platform.processor() or platform.machine()


def machine() -> str:
    """Return e.g. '2 CPUs, AMD EPYC 7B13, Linux 6.1'."""
    return f"{os.cpu_count()} CPUs, {cpu()}, {platform.system()} {platform.release()}"


def tree_commit(tree: Path) -> str:
    """Return the commit a snapq source tree is at, for the printout: '1a2b3c4 Its
    subject', and whether its snapq/ has changes not committed."""
    git = ["git", "-C", str(tree)]
    commit = subprocess.run(
        [*git, "log", "-1", "--format=%h %s"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no", "snapq"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{commit[:72] or 'not a git tree'}{' (snapq/ modified)' if dirty else ''}"
