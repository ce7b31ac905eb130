"""What a kept template's fingerprint is made of, and the files a build reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapq._database.kept import SchemaSource
from snapq._errors import ConfigError
from snapq._schema.inputs import digests, record_inputs, recording_inputs


def source(tmp_path: Path, *patterns: str) -> SchemaSource:
    return SchemaSource(root=tmp_path, patterns=patterns, hook_files=(tmp_path / "conftest.py",))


def fingerprint(tmp_path: Path, *patterns: str, server: str = "PostgreSQL 18.6") -> str:
    return source(tmp_path, *patterns).fingerprint(server=server, settings="-c TimeZone=UTC")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.py").write_text("A = 1\n")
    (tmp_path / "conftest.py").write_text("def pytest_snapq_setup_database(connection): ...\n")
    return tmp_path


def test_the_fingerprint_is_stable_and_follows_every_input(files: Path) -> None:
    first = fingerprint(files, "models/*.py")
    assert first == fingerprint(files, "models/*.py")
    assert len(first) == 16
    (files / "models" / "a.py").write_text("A = 2\n")
    second = fingerprint(files, "models/*.py")
    assert second != first
    (files / "models" / "b.py").write_text("")
    assert fingerprint(files, "models/*.py") != second
    (files / "conftest.py").write_text("# the hook changed\n")
    third = fingerprint(files, "models/*.py")
    assert third not in (first, second)
    assert fingerprint(files, "models/*.py", server="PostgreSQL 15.18") != third


def test_a_pattern_that_matches_nothing_is_refused(files: Path) -> None:
    with pytest.raises(ConfigError, match=r"'migrations/\*\.py', which matches no file under"):
        fingerprint(files, "models/*.py", "migrations/*.py")


def test_a_build_records_the_files_it_read_and_nothing_else_does(tmp_path: Path) -> None:
    read_outside = tmp_path / "outside.sql"
    record_inputs([read_outside])  # no build: nothing records it
    with recording_inputs() as read:
        record_inputs([tmp_path / "schema.sql"])
    assert read == [(tmp_path / "schema.sql").resolve()]


def test_digests_tell_a_missing_file_from_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "empty.sql").write_text("")
    found = digests([tmp_path / "empty.sql", tmp_path / "missing.sql"])
    assert found[str(tmp_path / "missing.sql")] == ""
    assert found[str(tmp_path / "empty.sql")] != ""
