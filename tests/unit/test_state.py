"""RunState and WorkerReport: what a worker sends, and what the controller merges."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from snapq._config import resolve_settings
from snapq._snapshots.recorder import Observation
from snapq._state import RunState, WorkerReport


def state() -> RunState:
    return RunState(resolve_settings(options={}, environ={}, ini={}), snapshot_extension=object)


def observed(path: Path, value: str, *, line: int = 2) -> Observation:
    return Observation(str(path), line, 4, "sql", value, True, "test_a.py::test_it")


@pytest.fixture
def test_file(tmp_path: Path) -> Path:
    path = tmp_path / "test_a.py"
    path.write_text("def test_it():\n    assert_query('SELECT 1')\n")
    return path


def test_a_report_holds_only_what_is_new_since_the_last(test_file: Path) -> None:
    worker = state()
    worker.recorder.observe(observed(test_file, "SELECT 1"))
    worker.notes.append("a note")
    first = worker.report()
    assert [seen["value"] for seen in first.observations] == ["SELECT 1"]
    assert list(first.sources) == [str(test_file)]
    assert first.notes == ["a note"]
    worker.recorder.observe(observed(test_file, "SELECT 1"))  # the same again: nothing new
    second = worker.report()
    assert second == WorkerReport()


def test_a_report_survives_json_and_merges(test_file: Path) -> None:
    worker, controller = state(), state()
    worker.recorder.observe(observed(test_file, "SELECT 1"))
    worker.recorder.files.append("snapshots/test_a/test_it.snapq")
    sent = json.loads(json.dumps(worker.report().to_dict()))
    controller.merge(WorkerReport.from_dict(sent))
    assert controller.recorder.export() == worker.recorder.export()
    assert controller.recorder.sources == worker.recorder.sources
    assert controller.recorder.files == ["snapshots/test_a/test_it.snapq"]
    assert controller.recorder.take_unsent() == []  # the controller sends nothing on


def test_two_workers_that_read_different_texts_make_the_file_unwritable(
    test_file: Path,
) -> None:
    controller = state()
    controller.merge(WorkerReport(sources={str(test_file): "one digest"}))
    controller.merge(WorkerReport(sources={str(test_file): "another digest"}))
    controller.recorder.observe(observed(test_file, "SELECT 1"))
    outcome = controller.recorder.apply()
    assert outcome.written == {}
    assert outcome.problems == [
        f"{test_file}: changed while the tests ran, so the positions "
        "snapq recorded may point at other calls now; nothing was "
        "written into it. Run the tests again to record its snapshots."
    ]


def test_a_lost_worker_is_a_problem_of_the_run() -> None:
    controller = state()
    controller.worker_lost("gw1", "Not properly terminated")
    assert controller.problems == [
        "xdist worker gw1 died (Not properly terminated); what the test it was running "
        "would have recorded is lost, so the run fails: run it again."
    ]


def test_a_planned_run_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() caches it
    run = state().run
    assert run.run_dir.name == f"snapq-{run.run_id}"
    assert not run.run_dir.exists()
