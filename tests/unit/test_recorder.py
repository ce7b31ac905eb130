from __future__ import annotations

import ast
import json
import stat
import textwrap
from pathlib import Path

import pytest

from snapq._snapshots.inline import normalize
from snapq._snapshots.recorder import Observation, Outcome, Recorder

ONE_CALL = textwrap.dedent(
    """\
    def test_it():
        assert_query(stmt)
    """
)
INSERTED = textwrap.dedent(
    '''\
    def test_it():
        assert_query(
            stmt,
            sql="""
                SELECT 1
            """,
            results="""
                rows
            """,
        )
    '''
)


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work in tmp_path, so that reports name files relative to it."""
    monkeypatch.chdir(tmp_path)


def seen(
    path: Path | str,
    name: str,
    value: str,
    *,
    line: int = 2,
    column: int = 4,
    change: bool = True,
    nodeid: str = "test_a.py::test_it",
) -> Observation:
    return Observation(str(path), line, column, name, value, change, nodeid)


def recorder(*observations: Observation) -> Recorder:
    recorded = Recorder()
    for observation in observations:
        recorded.observe(observation)
    return recorded


def write(path: Path, text: str, *, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


# observe ----------------------------------------------------------------------------


def test_observe_returns_nothing_for_a_new_site_or_the_same_value() -> None:
    recorded = Recorder()
    assert recorded.observe(seen("a.py", "sql", "x")) is None
    assert recorded.observe(seen("a.py", "sql", "x", nodeid="test_a.py::test_other")) is None
    assert recorded.observe(seen("a.py", "results", "y")) is None
    assert recorded.observe(seen("a.py", "sql", "other", line=3)) is None
    assert recorded.observe(seen("b.py", "sql", "other")) is None


def test_observe_returns_the_earlier_observation_it_contradicts() -> None:
    first = seen("a.py", "sql", "x", nodeid="test_a.py::test_it[1]")
    recorded = recorder(first)
    assert recorded.observe(seen("a.py", "sql", "y", nodeid="test_a.py::test_it[2]")) == first


def test_observe_keeps_returning_the_first_clash() -> None:
    first = seen("a.py", "sql", "x")
    recorded = recorder(first, seen("a.py", "sql", "y"))
    assert recorded.observe(seen("a.py", "sql", "z")) == first
    assert recorded.observe(seen("a.py", "sql", "x")) == seen("a.py", "sql", "y")


def test_observe_keeps_each_observation_once() -> None:
    observation = seen("a.py", "sql", "x")
    recorded = recorder(observation, observation, observation)
    assert recorded.export() == [
        {
            "path": "a.py",
            "line": 2,
            "column": 4,
            "name": "sql",
            "value": "x",
            "change": True,
            "nodeid": "test_a.py::test_it",
        }
    ]


# export and merge (xdist) -----------------------------------------------------------


def test_export_is_plain_json_data_that_merges_back() -> None:
    observations = [
        seen("a.py", "sql", "SELECT 'é'\nFROM t"),
        seen("a.py", "results", "x", change=False),
        seen("b.py", "sql", "y", line=10, column=8, nodeid="test_b.py::test_b"),
    ]
    exported = json.loads(json.dumps(recorder(*observations).export()))
    merged = Recorder()
    merged.merge(exported)
    assert merged.export() == exported
    assert [Observation(**data) for data in merged.export()] == observations


def test_two_workers_with_the_same_value_write_it_once(tmp_path: Path) -> None:
    path = write(tmp_path / "test_a.py", ONE_CALL)
    worker_1 = recorder(seen(path, "sql", "SELECT 1", nodeid="test_a.py::test_it[1]"))
    worker_2 = recorder(seen(path, "sql", "SELECT 1", nodeid="test_a.py::test_it[2]"))
    controller = Recorder()
    controller.merge(worker_1.export())
    controller.merge(worker_2.export())

    outcome = controller.apply()

    assert outcome == Outcome(written={"test_a.py": 1})
    assert path.read_text().count("sql=") == 1
    assert path.read_text().count("SELECT 1") == 1


def test_two_workers_with_different_values_conflict_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "test_a.py", ONE_CALL)
    worker_1 = recorder(
        seen(path, "sql", "SELECT 1", nodeid="test_a.py::test_it[1]"),
        seen(path, "results", "1", nodeid="test_a.py::test_it[1]"),
    )
    worker_2 = recorder(
        seen(path, "sql", "SELECT 1", nodeid="test_a.py::test_it[2]"),
        seen(path, "results", "2", nodeid="test_a.py::test_it[2]"),
    )
    controller = Recorder()
    controller.merge(worker_1.export())
    controller.merge(worker_2.export())

    outcome = controller.apply()

    assert outcome.written == {}
    assert outcome.problems == []
    assert outcome.conflicts == [
        "test_a.py:2: results= got different values in "
        "test_a.py::test_it[1], test_a.py::test_it[2]; nothing written for this call"
    ]
    assert path.read_text() == ONE_CALL  # not even the sql= that agreed


def test_a_conflict_at_one_call_does_not_stop_the_others(tmp_path: Path) -> None:
    path = write(tmp_path / "test_a.py", ONE_CALL + "\n\ndef test_b():\n    assert_query(b)\n")
    outcome = recorder(
        seen(path, "sql", "1", nodeid="t[1]"),
        seen(path, "sql", "2", nodeid="t[2]"),
        seen(path, "sql", "B", line=6),
    ).apply()
    assert outcome.written == {"test_a.py": 1}
    assert len(outcome.conflicts) == 1
    text = path.read_text()
    assert text.startswith(ONE_CALL)
    assert 'sql="""\n            B\n        """' in text


# apply ------------------------------------------------------------------------------


def test_apply_inserts_sql_then_results_whatever_the_order_observed(tmp_path: Path) -> None:
    path = write(tmp_path / "test_a.py", ONE_CALL)
    outcome = recorder(seen(path, "results", "rows"), seen(path, "sql", "SELECT 1")).apply()
    assert outcome == Outcome(written={"test_a.py": 2})
    assert outcome.total_written == 2
    assert path.read_text() == INSERTED


def test_apply_counts_written_snapshots_per_file(tmp_path: Path) -> None:
    first = write(tmp_path / "test_a.py", ONE_CALL)
    (tmp_path / "sub").mkdir()
    second = write(tmp_path / "sub" / "test_b.py", ONE_CALL + "    assert_query(other)\n")
    outcome = recorder(
        seen(first, "sql", "a"),
        seen(second, "sql", "b"),
        seen(second, "results", "b rows"),
        seen(second, "sql", "c", line=3),
    ).apply()
    assert outcome.written == {"test_a.py": 1, str(Path("sub", "test_b.py")): 3}
    assert outcome.total_written == 4
    ast.parse(second.read_text())


def test_apply_writes_only_wanted_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "test_a.py", ONE_CALL)
    outcome = recorder(seen(path, "sql", "SELECT 1", change=False)).apply()
    assert outcome == Outcome()
    assert path.read_text() == ONE_CALL


def test_a_change_wanted_by_any_test_is_written(tmp_path: Path) -> None:
    path = write(tmp_path / "test_a.py", ONE_CALL)
    outcome = recorder(
        seen(path, "sql", "SELECT 1", change=False, nodeid="t[1]"),
        seen(path, "sql", "SELECT 1", change=True, nodeid="t[2]"),
    ).apply()
    assert outcome.written == {"test_a.py": 1}


def test_a_change_equal_to_the_file_is_not_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "test_a.py", INSERTED)
    outcome = recorder(seen(path, "sql", "SELECT 1"), seen(path, "results", "new rows")).apply()
    assert outcome.written == {"test_a.py": 1}
    assert path.read_text() == INSERTED.replace("rows", "new rows")
    inode = path.stat().st_ino
    outcome = recorder(seen(path, "sql", "SELECT 1")).apply()
    assert outcome == Outcome()
    assert path.stat().st_ino == inode  # not replaced: a write replaces the file


def test_apply_keeps_latin1_with_its_declaration_and_crlf(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n# café\ndef test_it():\n    assert_query(stmt)\n"
    path = write(tmp_path / "test_a.py", source, encoding="latin-1", newline="\r\n")
    outcome = recorder(seen(path, "sql", "SELECT 'é'", line=4)).apply()
    assert outcome.written == {"test_a.py": 1}
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.decode("latin-1") == (
        "# -*- coding: latin-1 -*-\r\n# café\r\ndef test_it():\r\n    assert_query(\r\n"
        '        stmt,\r\n        sql="""\r\n            SELECT \'é\'\r\n        """,\r\n    )\r\n'
    )


def test_a_value_the_file_encoding_cannot_hold_is_written_with_escapes(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\ndef test_it():\n    assert_query(stmt)\n"
    path = write(tmp_path / "test_a.py", source, encoding="latin-1")
    outcome = recorder(seen(path, "sql", "SELECT '漢', 'é'", line=3)).apply()
    assert outcome.written == {"test_a.py": 1}
    text = path.read_bytes().decode("latin-1")
    assert "\\u6f22" in text
    assert "é" in text  # latin-1 holds it: written as itself
    call = ast.parse(text).body[0].body[0].value  # type: ignore[attr-defined]
    assert normalize(call.keywords[0].value.value) == "SELECT '漢', 'é'"


def test_apply_keeps_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "test_a.py"
    path.write_bytes(b"\xef\xbb\xbf" + ONE_CALL.encode())
    recorder(seen(path, "sql", "SELECT 1"), seen(path, "results", "rows")).apply()
    assert path.read_bytes() == b"\xef\xbb\xbf" + INSERTED.encode()


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_apply_keeps_the_file_mode(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "test_a.py", ONE_CALL)
    path.chmod(mode)
    recorder(seen(path, "sql", "SELECT 1")).apply()
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert sorted(item.name for item in tmp_path.iterdir()) == ["test_a.py"]  # no scratch left


def test_a_file_edited_meanwhile_is_left_untouched(tmp_path: Path) -> None:
    edited = "def test_it():\n    pass\n"
    path = write(tmp_path / "test_a.py", edited)
    outcome = recorder(seen(path, "sql", "SELECT 1")).apply()
    assert outcome.written == {}
    assert outcome.problems == [
        "test_a.py: not rewritten: no call at line 2, column 5 any more (was the file edited?)"
    ]
    assert path.read_text() == edited


def test_a_file_with_a_syntax_error_is_reported_not_written(tmp_path: Path) -> None:
    broken = "def test_it(:\n    assert_query(stmt)\n"
    path = write(tmp_path / "test_a.py", broken)
    outcome = recorder(seen(path, "sql", "SELECT 1")).apply()
    assert outcome.written == {}
    assert len(outcome.problems) == 1
    assert outcome.problems[0].startswith("test_a.py: not rewritten: the file does not parse (")
    assert path.read_text() == broken


def test_a_file_with_a_bad_encoding_declaration_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "test_a.py"
    path.write_bytes(b"# -*- coding: no-such-codec -*-\n" + ONE_CALL.encode())
    outcome = recorder(seen(path, "sql", "SELECT 1")).apply()
    assert outcome.written == {}
    assert len(outcome.problems) == 1
    assert "no-such-codec" in outcome.problems[0]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    outcome = recorder(seen(tmp_path / "gone.py", "sql", "SELECT 1")).apply()
    assert outcome.written == {}
    assert len(outcome.problems) == 1
    assert outcome.problems[0].startswith("gone.py: not rewritten: ")


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    broken = write(tmp_path / "test_a.py", "def test_it(:\n    assert_query(stmt)\n")
    good = write(tmp_path / "test_b.py", ONE_CALL)
    outcome = recorder(seen(broken, "sql", "SELECT 1"), seen(good, "sql", "SELECT 1")).apply()
    assert outcome.written == {"test_b.py": 1}
    assert len(outcome.problems) == 1
    assert outcome.problems[0].startswith("test_a.py: ")


def test_a_path_outside_the_working_directory_is_shown_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "test_a.py", ONE_CALL)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    outcome = recorder(seen(path, "sql", "SELECT 1")).apply()
    assert outcome.written == {str(path): 1}
