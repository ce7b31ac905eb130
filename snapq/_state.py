"""What one pytest process knows of the run, and what an xdist worker reports of it.

The plugin keeps one ``RunState`` in ``config.stash``. The process that owns the
run (the xdist controller, or the only process) creates the ``Run`` when it is
first needed, so a run that never reaches the database (``--help``,
``--collect-only``, unit tests) creates nothing and starts nothing. A worker gets
the run from the controller and, at its end, sends back a ``WorkerReport``, which
the controller merges (syrupy's worker reports are the model). Nothing here
imports pytest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from snapq._config import Settings
from snapq._database.commits import CommitWatch
from snapq._database.provision import Provisioner
from snapq._database.run import Run
from snapq._snapshots.masks import Mask, masks_named
from snapq._snapshots.recorder import Outcome, Recorder


@dataclass
class WorkerReport:
    """What a worker did since its last report, for the controller: sent with each
    test's teardown report, and once more at the worker's end."""

    databases_used: bool = False
    observations: list[dict[str, Any]] = field(default_factory=list)  # Recorder's, as data
    sources: dict[str, str] = field(default_factory=dict)  # test file -> digest when read
    snapshot_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerReport:
        return cls(**data)


@dataclass
class RunState:
    """One process's view of the run: settings, the run, recordings and notes."""

    settings: Settings
    snapshot_extension: type  # syrupy's extension class for this project's files
    given_run: Run | None = None  # a worker's, handed over by the controller
    checkout: str = ""  # stands for the rootdir: kept templates are the checkout's own
    # snapq's engines on this process's database, disposed when it is restored.
    engines: list[Any] = field(default_factory=list)
    commit_watch: CommitWatch | None = None  # commits elsewhere while a test runs
    database_dirty: bool = False  # a commit may have escaped: restore before the next test
    _masks: tuple[Mask, ...] | None = field(default=None, init=False)
    recorder: Recorder = field(default_factory=Recorder)
    notes: list[str] = field(default_factory=list)  # non-fatal problems, for the summary
    problems: list[str] = field(default_factory=list)  # what makes the run fail, for the summary
    outcome: Outcome | None = None  # what applying the recordings did (the owner's, at the end)
    _run: Run | None = field(default=None, init=False)
    _provisioner: Provisioner | None = field(default=None, init=False)
    _workers_used_databases: bool = field(default=False, init=False)
    _reported_files: int = field(default=0, init=False)
    _reported_notes: int = field(default=0, init=False)
    _reported_sources: dict[str, str] = field(default_factory=dict, init=False)

    @property
    def owns_run(self) -> bool:
        """Tell whether this process created the run and ends it."""
        return self.given_run is None

    @property
    def run(self) -> Run:
        """Return the run: the controller's, or a new one planned (its directory is
        made when first needed)."""
        if self._run is None:
            self._run = self.given_run or Run.plan()
        return self._run

    @property
    def provisioner(self) -> Provisioner:
        if self._provisioner is None:
            self._provisioner = Provisioner(self.settings, self.run, checkout=self.checkout)
        return self._provisioner

    @property
    def databases_used(self) -> bool:
        """Tell whether this process, or a worker that reported, made databases."""
        mine = self._provisioner is not None and self._provisioner.used_database
        return mine or self._workers_used_databases

    def report(self) -> WorkerReport:
        """Return what this worker did since its last report, for the controller.

        A worker reports after each test, so a worker that dies loses only the
        recordings of the test it was running.
        """
        files, notes = self.recorder.files, self.notes
        report = WorkerReport(
            databases_used=self.databases_used,
            observations=self.recorder.take_unsent(),
            sources={
                path: digest
                for path, digest in self.recorder.sources.items()
                if self._reported_sources.get(path) != digest
            },
            snapshot_files=files[self._reported_files :],
            notes=notes[self._reported_notes :],
        )
        self._reported_files, self._reported_notes = len(files), len(notes)
        self._reported_sources.update(report.sources)
        return report

    def merge(self, report: WorkerReport) -> None:
        """Take in what a worker did."""
        self._workers_used_databases |= report.databases_used
        self.recorder.merge(report.observations, report.sources)
        self.recorder.files.extend(report.snapshot_files)
        self.notes.extend(report.notes)

    def worker_lost(self, worker: str, error: object) -> None:
        """Say that a worker died: the test it was running recorded nothing."""
        self.problems.append(
            f"xdist worker {worker} died ({error}); what the test it was running would "
            "have recorded is lost, so the run fails: run it again."
        )

    def run_masks(self) -> tuple[Mask, ...]:
        """Return the masks of ``snapq_mask``, its functions imported when first needed
        (the tests' own modules are importable by then)."""
        if self._masks is None:
            setting = self.settings.mask
            self._masks = masks_named(setting.value, setting.source)
        return self._masks

    def release(self) -> None:
        """Let go of this process's databases (its tests are done)."""
        if self.commit_watch is not None:
            self.commit_watch.close()
        if self._provisioner is not None:
            self._provisioner.release()

    def close(self) -> None:
        """End the run, if this process owns it and it was ever created."""
        if self.owns_run and self._run is not None:
            self.provisioner.close_run(databases_used=self.databases_used)
