"""Kept data directories that no run has used for a month are removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from snapq._database.datadir import KEPT_UNUSED_DAYS, remove_unused_kept_data_dirs

DAY = 86400.0


def make(cache: Path, name: str, *, age_days: float, now: float) -> Path:
    path = cache / name
    path.mkdir()
    (path / "PG_VERSION").write_text("18\n")
    os.utime(path, (now - age_days * DAY, now - age_days * DAY))
    return path


def test_only_kept_data_dirs_unused_for_a_month_are_removed(tmp_path: Path) -> None:
    now = time.time()
    old = make(tmp_path, "kept-0123abcd-18.6-0123456789ab", age_days=KEPT_UNUSED_DAYS + 1, now=now)
    old.with_name(f"{old.name}.json").write_text("{}")
    recent = make(tmp_path, "kept-89abcdef-18.6-0123456789ab", age_days=2, now=now)
    saving = make(
        tmp_path, "kept-0123abcd-18.6-0123456789ab.x1y2z3", age_days=KEPT_UNUSED_DAYS + 1, now=now
    )
    initdb = make(tmp_path, "initdb-18.6-0123456789ab", age_days=KEPT_UNUSED_DAYS + 1, now=now)
    left_over = make(tmp_path, "snapq-removing-abc123", age_days=0, now=now)
    orphan_list = tmp_path / "kept-76543210-18.6-0123456789ab.json"
    orphan_list.write_text("{}")
    recent.with_name(f"{recent.name}.json").write_text("{}")

    assert remove_unused_kept_data_dirs(tmp_path, now=now) == [old]

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [recent.name, f"{recent.name}.json", saving.name, initdb.name]
    )
    assert not left_over.exists()
