"""Describe the machine a benchmark ran on, for its printout and its chart."""

from __future__ import annotations

import os
import platform
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
